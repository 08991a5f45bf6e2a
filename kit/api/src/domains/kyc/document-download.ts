// Download URLs for a document: every one handed out is recorded first (kyc_document_access).
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { KitError } from "../../errors";
import { type Requester, recordAccess } from "./access-log";
import type { DownloadUrl } from "./contract-shapes";
import { URL_VALIDITY_SECONDS } from "./document-store";
import { DOCUMENTS_PATH, documentNotFound, findOwnDocument, type KycDocumentDeps } from "./documents";
import type { DocumentRow } from "./present";

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
