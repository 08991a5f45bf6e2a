// Identity documents: the browser uploads straight to the object store with a presigned PUT, then
// `confirm` checks what was stored (document-upload.ts). A removal hides the row first
// (deleting_at), then deletes the object, then the row, so a failure at any step leaves no visible
// row pointing at nothing; the clean-up job finishes what a failure interrupted (document-removal.ts).
// This file: finding the caller's documents.
import { and, asc, desc, eq, isNull } from "drizzle-orm";
import type { Config } from "../../config";
import { KitError } from "../../errors";
import type { Storage } from "../../infra/storage";
import type { KycDocument } from "./contract-shapes";
import type { ApplicationRow, KycDeps } from "./lifecycle";
import { type DocumentRow, presentDocument } from "./present";
import { kycApplications, kycDocuments } from "./schema";

export interface KycDocumentDeps extends KycDeps {
  /** `auth.publicUrl`: download links lead to Kit itself (document-download.ts). */
  config: KycDeps["config"] & Pick<Config, "auth">;
  storage: Storage;
}

export const DOCUMENTS_PATH = "/api/kyc/documents";

/**
 * One of the user's own documents that is not being removed, with its application; undefined for
 * anybody else's id, so an answer never tells whether an id exists.
 */
export async function findOwnDocument(
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

export const documentNotFound = (documentId: string) =>
  new KitError("NOT_FOUND", `You have no document ${documentId}; list yours with GET ${DOCUMENTS_PATH}.`);

/** Documents of the user's latest application, oldest first (removals in progress left out). */
export async function listDocuments(deps: KycDocumentDeps, userId: string): Promise<KycDocument[]> {
  const [latest] = await deps.db
    .select({ id: kycApplications.id })
    .from(kycApplications)
    .where(and(eq(kycApplications.userId, userId), isNull(kycApplications.erasedAt)))
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
