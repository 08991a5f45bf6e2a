// Removing a document, by its owner or by the clean-up job (unconfirmed uploads past their time,
// and removals a failure interrupted).
import { and, asc, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import { notEditable } from "./applications";
import { deleteObject, describe } from "./document-store";
import { documentNotFound, type KycDocumentDeps } from "./documents";
import { isEditable } from "./lifecycle";
import type { DocumentRow } from "./present";
import { kycApplications, kycDocuments } from "./schema";

/** Rows the clean-up job handles per run; the next run takes the rest. */
const CLEAN_UP_BATCH = 500;

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
export async function finishRemoval(deps: KycDocumentDeps, document: DocumentRow): Promise<void> {
  await deleteObject(deps.storage, document.bucketKey);
  await deps.db.delete(kycDocuments).where(and(eq(kycDocuments.id, document.id), isNotNull(kycDocuments.deletingAt)));
}

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
