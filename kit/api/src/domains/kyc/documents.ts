// Identity documents: the browser uploads straight to the object store with a presigned PUT, then
// `confirm` checks what was stored (HEAD for size and type, the bytes for the SHA-256 and for the
// magic bytes of the declared type: s3rver, used in development and tests, enforces neither signed
// headers nor checksums). A removal hides the row
// first (deleting_at), then deletes the object, then the row, so a failure at any step leaves no
// visible row pointing at nothing; the clean-up job finishes what a failure interrupted.
import { createHash, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { and, asc, count, desc, eq, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import { KitError, type KitErrorIssue } from "../../errors";
import { isMissingObject, isStorageOutage, presignPut, type Storage } from "../../infra/storage";
import { type Requester, recordAccess } from "./access-log";
import { findOpenApplication, notEditable } from "./applications";
import type { CreatedUpload, CreateUploadInput, DownloadUrl, KycDocument } from "./contract";
import type { DOCUMENT_CONTENT_TYPES } from "./contract-values";
import { type ApplicationRow, isEditable, type KycDeps } from "./lifecycle";
import { type DocumentRow, presentDocument } from "./present";
import { kycApplications, kycDocuments } from "./schema";

export interface KycDocumentDeps extends KycDeps {
  storage: Storage;
}

/** How long a presigned upload or download URL stays valid. */
const URL_VALIDITY_SECONDS = 15 * 60;
const MAX_DOCUMENTS_PER_APPLICATION = 20;
/** Rows the clean-up job handles per run; the next run takes the rest. */
const CLEAN_UP_BATCH = 500;
/** For metadata calls (HEAD, DELETE): past this the store counts as unavailable. */
const STORAGE_TIMEOUT_MS = 3_000;
/** Reading a whole document (at most 10 MiB) to hash it. */
const STORAGE_READ_TIMEOUT_MS = 30_000;

const DOCUMENTS_PATH = "/api/kyc/documents";

// ---------------------------------------------------------------------------------------------
// The object store

function storageUnavailable(): KitError {
  return new KitError("SERVICE_UNAVAILABLE", "The document store is unavailable; nothing was changed. Retry shortly.");
}

/** Error details safe for logs: never the message (it can carry a presigned URL) nor a stack. */
function describe(error: unknown) {
  const { name, code, $metadata } = error as { name?: string; code?: unknown; $metadata?: { httpStatusCode?: number } };
  return { name, code, status: $metadata?.httpStatusCode };
}

async function ensureStorageReachable(storage: Storage): Promise<void> {
  try {
    await storage.client.send(new HeadBucketCommand({ Bucket: storage.buckets.kycDocuments }), {
      abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS),
    });
  } catch (error) {
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
}

async function deleteObject(storage: Storage, key: string): Promise<void> {
  // DeleteObject succeeds for a missing key: a retry after a half-done removal is harmless.
  await storage.client.send(new DeleteObjectCommand({ Bucket: storage.buckets.kycDocuments, Key: key }), {
    abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS),
  });
}

/**
 * How each accepted type starts (its magic bytes). The declared content type is only a label the
 * uploader chose: HTML or an executable declared as a PDF must not be confirmed as one. Keyed by
 * every accepted type, so a type added to DOCUMENT_CONTENT_TYPES cannot go unchecked.
 */
const SIGNATURES: Record<(typeof DOCUMENT_CONTENT_TYPES)[number], { bytes: Buffer; what: string }> = {
  "application/pdf": { bytes: Buffer.from("%PDF-", "latin1"), what: "a PDF (%PDF-)" },
  "image/png": { bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), what: "a PNG" },
  "image/jpeg": { bytes: Buffer.from([0xff, 0xd8, 0xff]), what: "a JPEG" },
};
const SNIFF_BYTES = Math.max(...Object.values(SIGNATURES).map((s) => s.bytes.length));

/** Whether `head` (the file's first bytes) starts as `contentType` files do. */
function startsLike(contentType: string, head: Buffer): boolean {
  const signature = SIGNATURES[contentType as keyof typeof SIGNATURES];
  return signature !== undefined && head.subarray(0, signature.bytes.length).equals(signature.bytes);
}

/**
 * Hex SHA-256 and first bytes of the stored object, reading at most `limit` bytes (undefined past
 * the limit).
 */
async function readStoredObject(
  storage: Storage,
  key: string,
  limit: number,
): Promise<{ sha256: string; head: Buffer } | undefined> {
  const object = await storage.client.send(new GetObjectCommand({ Bucket: storage.buckets.kycDocuments, Key: key }), {
    abortSignal: AbortSignal.timeout(STORAGE_READ_TIMEOUT_MS),
  });
  const body = object.Body as Readable;
  const hash = createHash("sha256");
  const head: Buffer[] = [];
  let read = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      if (read < SNIFF_BYTES) head.push(bytes.subarray(0, SNIFF_BYTES - read));
      read += bytes.length;
      // The object may have been replaced since the HEAD: never read more than what was declared.
      if (read > limit) {
        body.destroy();
        return undefined;
      }
      hash.update(bytes);
    }
  } catch {
    // The answer had started: whatever broke the stream (reset, timeout, premature close) was the store.
    throw storageUnavailable();
  }
  return { sha256: hash.digest("hex"), head: Buffer.concat(head) };
}

/** The key is the only place a document's bytes live: `{applicationId}/{type}/{documentId}`. */
const bucketKey = (applicationId: string, type: string, documentId: string) => `${applicationId}/${type}/${documentId}`;

/** A PUT URL for exactly one document (infra/storage.ts's presignPut, in the documents' bucket). */
export function presignUpload(
  storage: Storage,
  object: { key: string; contentType: string; size: number; sha256: string },
  expiresInSeconds = URL_VALIDITY_SECONDS,
): Promise<Omit<CreatedUpload, "documentId">> {
  return presignPut(storage, { ...object, bucket: storage.buckets.kycDocuments }, expiresInSeconds);
}

// ---------------------------------------------------------------------------------------------
// Finding the caller's documents

/**
 * One of the user's own documents that is not being removed, with its application; undefined for
 * anybody else's id, so an answer never tells whether an id exists.
 */
async function findOwnDocument(
  deps: KycDeps,
  userId: string,
  documentId: string,
): Promise<{ document: DocumentRow; application: ApplicationRow } | undefined> {
  const [found] = await deps.db
    .select({ document: kycDocuments, application: kycApplications })
    .from(kycDocuments)
    .innerJoin(kycApplications, eq(kycApplications.id, kycDocuments.applicationId))
    .where(and(eq(kycDocuments.id, documentId), eq(kycApplications.userId, userId), isNull(kycDocuments.deletingAt)));
  return found;
}

const documentNotFound = (documentId: string) =>
  new KitError("NOT_FOUND", `You have no document ${documentId}; list yours with GET ${DOCUMENTS_PATH}.`);

/** Documents of the user's latest application, oldest first (removals in progress left out). */
export async function listDocuments(deps: KycDocumentDeps, userId: string): Promise<KycDocument[]> {
  const [latest] = await deps.db
    .select({ id: kycApplications.id })
    .from(kycApplications)
    .where(eq(kycApplications.userId, userId))
    .orderBy(desc(kycApplications.createdAt), desc(kycApplications.id))
    .limit(1);
  if (!latest) return [];
  const rows = await deps.db
    .select()
    .from(kycDocuments)
    .where(and(eq(kycDocuments.applicationId, latest.id), isNull(kycDocuments.deletingAt)))
    .orderBy(asc(kycDocuments.createdAt), asc(kycDocuments.id));
  return rows.map(presentDocument);
}

// ---------------------------------------------------------------------------------------------
// Upload, confirm, remove

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

/** "image/png; charset=binary" → "image/png". */
const mediaType = (value: string | undefined) => value?.split(";")[0]?.trim().toLowerCase();

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
  try {
    issues = await checkStoredObject(storage, document);
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
      .set({ confirmedAt: sql`coalesce(${kycDocuments.confirmedAt}, now())` })
      // A removal (or the clean-up job) that started meanwhile wins: the document is gone.
      .where(and(eq(kycDocuments.id, document.id), isNull(kycDocuments.deletingAt)))
      .returning();
    return row;
  });
  if (!confirmed) throw documentNotFound(documentId);
  return presentDocument(confirmed);
}

async function checkStoredObject(storage: Storage, document: DocumentRow): Promise<KitErrorIssue[]> {
  let head: { ContentLength?: number; ContentType?: string };
  try {
    head = await storage.client.send(
      new HeadObjectCommand({ Bucket: storage.buckets.kycDocuments, Key: document.bucketKey }),
      { abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS) },
    );
  } catch (error) {
    if (!isMissingObject(error)) throw error;
    throw new KitError(
      "PRECONDITION_FAILED",
      `No file has been uploaded for document ${document.id} yet: upload the file to uploadUrl first (or start a new upload if that URL expired).`,
    );
  }
  const issues: KitErrorIssue[] = [];
  if (head.ContentLength !== document.size) {
    issues.push({ path: "size", message: `declared ${document.size} bytes, uploaded ${head.ContentLength ?? "?"}` });
  }
  if (mediaType(head.ContentType) !== document.contentType) {
    issues.push({
      path: "contentType",
      message: `declared ${document.contentType}, uploaded ${mediaType(head.ContentType)?.slice(0, 100) ?? "no content type"}`,
    });
  }
  if (issues.length > 0) return issues;
  const stored = await readStoredObject(storage, document.bucketKey, document.size);
  if (stored?.sha256 !== document.sha256) {
    issues.push({ path: "sha256", message: "the SHA-256 of the uploaded bytes differs from the one declared" });
  }
  if (stored && !startsLike(document.contentType, stored.head)) {
    const expected = SIGNATURES[document.contentType as keyof typeof SIGNATURES]?.what ?? document.contentType;
    issues.push({
      path: "contentType",
      message: `declared ${document.contentType}, but the file's content does not start as ${expected} does`,
    });
  }
  return issues;
}

export async function removeDocument(
  deps: KycDocumentDeps,
  userId: string,
  documentId: string,
): Promise<{ id: string }> {
  const document = await deps.db.transaction(async (tx) => {
    // Share-locking the application keeps a submit from counting this document while it goes.
    const [found] = await tx
      .select({ document: kycDocuments, status: kycApplications.status })
      .from(kycDocuments)
      .innerJoin(kycApplications, eq(kycApplications.id, kycDocuments.applicationId))
      .where(and(eq(kycDocuments.id, documentId), eq(kycApplications.userId, userId), isNull(kycDocuments.deletingAt)))
      .for("share", { of: kycApplications });
    if (!found) throw documentNotFound(documentId);
    if (!isEditable(found.status)) throw notEditable(found.status, "remove documents");
    const [hidden] = await tx
      .update(kycDocuments)
      .set({ deletingAt: new Date() })
      .where(and(eq(kycDocuments.id, documentId), isNull(kycDocuments.deletingAt)))
      .returning();
    if (!hidden) throw documentNotFound(documentId);
    return hidden;
  });
  // From here the document is gone for every caller; what fails below, the clean-up job finishes.
  try {
    await finishRemoval(deps, document);
  } catch (error) {
    deps.log.warn({ err: describe(error), documentId }, "document hidden; the clean-up job will finish its removal");
  }
  return { id: document.id };
}

/** Object first, then the row: while the row exists (hidden), the job can still find the object by it. */
async function finishRemoval(deps: KycDocumentDeps, document: DocumentRow): Promise<void> {
  await deleteObject(deps.storage, document.bucketKey);
  await deps.db.delete(kycDocuments).where(and(eq(kycDocuments.id, document.id), isNotNull(kycDocuments.deletingAt)));
}

// ---------------------------------------------------------------------------------------------
// Downloads

export async function getDocumentDownloadUrl(
  deps: KycDocumentDeps,
  userId: string,
  documentId: string,
  requester: Requester,
): Promise<DownloadUrl> {
  const found = await findOwnDocument(deps, userId, documentId);
  if (!found) throw documentNotFound(documentId);
  if (!found.document.confirmedAt) {
    throw new KitError(
      "PRECONDITION_FAILED",
      `Document ${documentId} is not confirmed yet: confirm it first (POST ${DOCUMENTS_PATH}/${documentId}/confirm).`,
    );
  }
  return presignDocumentDownload(deps, found.document, userId, requester);
}

/** `attachment` with a plain-ASCII fallback name and the exact name in RFC 5987 form. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Records the access (kyc_document_access) and returns a presigned GET valid 15 minutes with
 * `Content-Disposition: attachment`. Shared by the owner's and the reviewers' procedures; the
 * caller has checked who may see `document`.
 */
export async function presignDocumentDownload(
  deps: KycDocumentDeps,
  document: DocumentRow,
  actorId: string,
  requester: Requester,
): Promise<DownloadUrl> {
  // Recorded before the URL exists: no URL is ever handed out unrecorded.
  await recordAccess(deps.db, {
    kind: "document_url",
    applicationId: document.applicationId,
    documentId: document.id,
    userId: actorId,
    requester,
  });
  const signedAt = Date.now();
  const url = await getSignedUrl(
    deps.storage.presigner,
    new GetObjectCommand({
      Bucket: deps.storage.buckets.kycDocuments,
      Key: document.bucketKey,
      ResponseContentDisposition: contentDisposition(document.fileName),
      ResponseContentType: document.contentType,
    }),
    { expiresIn: URL_VALIDITY_SECONDS },
  );
  return { url, expiresAt: new Date(signedAt + URL_VALIDITY_SECONDS * 1000).toISOString() };
}

// ---------------------------------------------------------------------------------------------
// The clean-up job

/** Job kyc.clean-up-documents: removes unconfirmed uploads past their time and finishes interrupted removals. */
export async function cleanUpDocuments(deps: KycDocumentDeps): Promise<{ removed: number; failed: number }> {
  const staleBefore = new Date(Date.now() - deps.config.kyc.unconfirmedUploadHours * 60 * 60 * 1000);
  const rows = await deps.db
    .select()
    .from(kycDocuments)
    .where(
      or(
        isNotNull(kycDocuments.deletingAt),
        and(isNull(kycDocuments.confirmedAt), lt(kycDocuments.createdAt, staleBefore)),
      ),
    )
    .orderBy(asc(kycDocuments.createdAt))
    .limit(CLEAN_UP_BATCH);
  let removed = 0;
  let failed = 0;
  for (const row of rows) {
    try {
      if (!row.deletingAt) {
        // Hidden first, and only if still unconfirmed: a confirm that lands meanwhile keeps its document.
        const [hidden] = await deps.db
          .update(kycDocuments)
          .set({ deletingAt: new Date() })
          .where(and(eq(kycDocuments.id, row.id), isNull(kycDocuments.confirmedAt), isNull(kycDocuments.deletingAt)))
          .returning({ id: kycDocuments.id });
        if (!hidden) continue;
      }
      await finishRemoval(deps, row);
      removed++;
    } catch (error) {
      failed++;
      deps.log.warn({ err: describe(error), documentId: row.id }, "could not remove a document; the next run retries");
    }
  }
  if (removed > 0 || failed > 0) deps.log.info({ removed, failed }, "kyc documents cleaned up");
  return { removed, failed };
}
