// Adding a document: a row and a presigned PUT, then `confirm` checks what the browser stored.
import { randomUUID } from "node:crypto";
import { and, count, eq, isNull, sql } from "drizzle-orm";
import { KitError, type KitErrorIssue } from "../../errors";
import { isStorageOutage } from "../../infra/storage";
import { findOpenApplication, notEditable } from "./applications";
import type { CreatedUpload, CreateUploadInput } from "./contract-applicant";
import type { KycDocument } from "./contract-shapes";
import { ensureDataKey } from "./data-keys";
import { storeSealedDocument } from "./document-seal";
import {
  bucketKey,
  checkStoredObject,
  deleteObject,
  describe,
  ensureStorageReachable,
  presignUpload,
  storageUnavailable,
} from "./document-store";
import { DOCUMENTS_PATH, documentNotFound, findOwnDocument, type KycDocumentDeps } from "./documents";
import { isEditable } from "./lifecycle";
import { type DocumentRow, presentDocument } from "./present";
import { kycApplications, kycDocuments } from "./schema";

const MAX_DOCUMENTS_PER_APPLICATION = 20;

export async function createDocumentUpload(
  deps: KycDocumentDeps,
  userId: string,
  input: CreateUploadInput,
): Promise<CreatedUpload> {
  const open = await findOpenApplication(deps.db, userId);
  if (!open) {
    throw new KitError(
      "PRECONDITION_FAILED",
      "You have no application to add documents to: save your application first: PUT /api/kyc/application.",
    );
  }
  if (!isEditable(open.status)) throw notEditable(open.status, "add documents");
  // Before the row exists: an outage then leaves nothing behind.
  await ensureStorageReachable(deps.storage);

  const document = await deps.db.transaction(async (tx) => {
    // Locked: concurrent uploads count one after the other, and a submit waits for this one.
    const application = await findOpenApplication(tx, userId, "update");
    if (!application || application.id !== open.id) {
      throw new KitError("CONFLICT", "Your application changed meanwhile; reload it and try again.");
    }
    if (!isEditable(application.status)) throw notEditable(application.status, "add documents");
    const [live] = await tx
      .select({ n: count() })
      .from(kycDocuments)
      .where(and(eq(kycDocuments.applicationId, application.id), isNull(kycDocuments.deletingAt)));
    if ((live?.n ?? 0) >= MAX_DOCUMENTS_PER_APPLICATION) {
      throw new KitError(
        "CONFLICT",
        `An application holds at most ${MAX_DOCUMENTS_PER_APPLICATION} documents; remove one (DELETE ${DOCUMENTS_PATH}/{id}) first.`,
      );
    }
    const id = randomUUID();
    const [row] = await tx
      .insert(kycDocuments)
      .values({
        id,
        applicationId: application.id,
        type: input.type,
        bucketKey: bucketKey(application.id, input.type, id),
        fileName: input.fileName,
        contentType: input.contentType,
        size: input.size,
        sha256: input.sha256,
      })
      .returning();
    if (!row) throw new Error("kyc_documents insert returned no row");
    return row;
  });
  // Signing is local (no request): it cannot fail for an outage, so the row above is never orphaned by it.
  const upload = await presignUpload(deps.storage, {
    key: document.bucketKey,
    contentType: document.contentType,
    size: document.size,
    sha256: document.sha256,
  });
  return { documentId: document.id, ...upload };
}

/**
 * Checks the stored object against the declaration. A mismatch removes the object (the row stays
 * pending: the same URL, while valid, or a new upload can follow) and answers BAD_REQUEST.
 */
export async function confirmDocument(deps: KycDocumentDeps, userId: string, documentId: string): Promise<KycDocument> {
  const found = await findOwnDocument(deps, userId, documentId);
  if (!found) throw documentNotFound(documentId);
  const { document, application } = found;
  if (document.confirmedAt) return presentDocument(document);
  if (!isEditable(application.status)) throw notEditable(application.status, "confirm documents");

  const { storage } = deps;
  let issues: KitErrorIssue[];
  let bytes: Buffer | undefined;
  try {
    ({ issues, bytes } = await checkStoredObject(storage, document));
  } catch (error) {
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
  if (issues.length > 0) {
    let removed = true;
    try {
      await deleteObject(storage, document.bucketKey);
    } catch (error) {
      // The row stays pending either way: the next upload replaces the object, or the clean-up job
      // removes both once the upload is past its time.
      removed = false;
      deps.log.warn({ err: describe(error), documentId }, "could not remove a mismatched upload");
    }
    throw new KitError(
      "BAD_REQUEST",
      `The uploaded file does not match what you declared (${issues.map((i) => `${i.path}: ${i.message}`).join("; ")})${removed ? "; it was removed" : ""}. Upload the right file to uploadUrl again, or start a new upload (POST ${DOCUMENTS_PATH}).`,
      issues,
    );
  }

  if (!bytes) throw new Error("a checked document came without its bytes");
  const sealedKey = await sealUpload(deps, document, bytes);

  const confirmed = await deps.db.transaction(async (tx) => {
    const [current] = await tx
      .select({ status: kycApplications.status })
      .from(kycApplications)
      .where(eq(kycApplications.id, application.id))
      .for("share");
    if (!current) throw documentNotFound(documentId);
    if (!isEditable(current.status)) throw notEditable(current.status, "confirm documents");
    const [row] = await tx
      .update(kycDocuments)
      .set({ confirmedAt: sql`coalesce(${kycDocuments.confirmedAt}, now())`, bucketKey: sealedKey, encrypted: true })
      // A removal (or the clean-up job) that started meanwhile wins: the document is gone.
      .where(and(eq(kycDocuments.id, document.id), isNull(kycDocuments.deletingAt), eq(kycDocuments.encrypted, false)))
      .returning();
    return row;
  });
  if (!confirmed) {
    // Ours was not recorded (a removal won, or a concurrent confirm did it first): its ciphertext goes.
    await deleteQuietly(deps, sealedKey, documentId);
    const [now] = await deps.db
      .select()
      .from(kycDocuments)
      .where(and(eq(kycDocuments.id, document.id), isNull(kycDocuments.deletingAt)));
    if (now?.confirmedAt) return presentDocument(now);
    throw documentNotFound(documentId);
  }
  // The plain upload is no longer needed: from here the bucket holds only ciphertext of it.
  await deleteQuietly(deps, document.bucketKey, documentId);
  return presentDocument(confirmed);
}

/** The checked bytes encrypted with the application's data key (made now for an application from before). */
async function sealUpload(deps: KycDocumentDeps, document: DocumentRow, bytes: Buffer): Promise<string> {
  const keyring = deps.local.piiKeyring;
  const dataKey = await deps.db.transaction((tx) => ensureDataKey(tx, keyring, document.applicationId));
  try {
    return await storeSealedDocument(deps.storage, dataKey, document, bytes);
  } catch (error) {
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
}

async function deleteQuietly(deps: KycDocumentDeps, key: string, documentId: string): Promise<void> {
  try {
    await deleteObject(deps.storage, key);
  } catch (error) {
    // Not served (no row names it); the operator's log says which to remove.
    deps.log.warn({ err: describe(error), documentId, key }, "could not delete a document object no row names");
  }
}
