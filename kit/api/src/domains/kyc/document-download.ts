// Download links for a document: every one handed out is recorded first (kyc_document_access);
// the link leads to Kit, which decrypts the document (document-seal.ts) for whoever holds it.
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { and, eq, isNotNull, isNull } from "drizzle-orm";
import { KitError } from "../../errors";
import { isStorageOutage } from "../../infra/storage";
import { type Requester, recordAccess } from "./access-log";
import type { DownloadUrl } from "./contract-shapes";
import { loadDataKey } from "./data-keys";
import { readDocumentBytes } from "./document-seal";
import { storageUnavailable, URL_VALIDITY_SECONDS } from "./document-store";
import { DOCUMENTS_PATH, documentNotFound, findOwnDocument, type KycDocumentDeps } from "./documents";
import type { DocumentRow } from "./present";
import { kycDocuments } from "./schema";

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
  return documentDownloadLink(deps, found.document, userId, requester);
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
 * Records the access (kyc_document_access) and returns a link to Kit itself, valid 15 minutes,
 * whose answer is the document's bytes decrypted (document-seal.ts) with `Content-Disposition:
 * attachment`: the object store holds only ciphertext, so no presigned URL of it would do. Shared
 * by the owner's and the reviewers' procedures; the caller has checked who may see `document`.
 */
export async function documentDownloadLink(
  deps: KycDocumentDeps,
  document: DocumentRow,
  actorId: string,
  requester: Requester,
): Promise<DownloadUrl> {
  // An erased application's documents are gone: say so now rather than hand out a dead link.
  await loadDataKey(deps.db, deps.local.piiKeyring, document.applicationId);
  // Recorded before the link exists: no link is ever handed out unrecorded.
  await recordAccess(deps.db, {
    kind: "document_url",
    applicationId: document.applicationId,
    documentId: document.id,
    userId: actorId,
    requester,
  });
  const expiresAt = new Date(Date.now() + URL_VALIDITY_SECONDS * 1000);
  const token = signDocumentLink(deps.config.kyc.encryptionKey, { documentId: document.id, actorId, expiresAt });
  return {
    url: `${deps.config.auth.publicUrl}${DOCUMENT_DOWNLOADS_PATH}/${token}`,
    expiresAt: expiresAt.toISOString(),
  };
}

export const DOCUMENT_DOWNLOADS_PATH = "/api/kyc/document-downloads";

/** What a link carries: the document, who it was handed to (the access log's row), until when. */
interface DocumentLink {
  documentId: string;
  actorId: string;
  expiresAt: Date;
}

/** The links' MAC key, derived from the master key (a rotation ends the links in flight: 15 minutes at most). */
const linkKey = (masterKey: Buffer) =>
  Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), "kit-kyc-document-links", 32));

function signDocumentLink(masterKey: Buffer, link: DocumentLink): string {
  const payload = Buffer.from(
    JSON.stringify({ d: link.documentId, a: link.actorId, e: Math.floor(link.expiresAt.getTime() / 1000) }),
  ).toString("base64url");
  return `${payload}.${createHmac("sha256", linkKey(masterKey)).update(payload).digest("base64url")}`;
}

const invalidLink = () =>
  new KitError("NOT_FOUND", "This download link is invalid or has expired; ask for a new one (valid 15 minutes).");

/** The link's content if Kit made it and it has not expired; NOT_FOUND otherwise. */
export function verifyDocumentLink(masterKey: Buffer, token: string, now = new Date()): DocumentLink {
  const [payload, mac, extra] = token.split(".");
  if (!payload || !mac || extra !== undefined || token.length > 1024) throw invalidLink();
  const expected = createHmac("sha256", linkKey(masterKey)).update(payload).digest();
  const given = Buffer.from(mac, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidLink();
  const parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { d: string; a: string; e: number };
  if (parsed.e * 1000 <= now.getTime()) throw invalidLink();
  return { documentId: parsed.d, actorId: parsed.a, expiresAt: new Date(parsed.e * 1000) };
}

/**
 * GET {DOCUMENT_DOWNLOADS_PATH}/{token}: the linked document's original bytes. The link was
 * recorded when handed out; a document removed since, or whose application's data was erased,
 * answers NOT_FOUND (KycDataErasedError for the latter).
 */
export async function downloadLinkedDocument(
  deps: KycDocumentDeps,
  token: string,
): Promise<{ bytes: Buffer; fileName: string; contentType: string }> {
  const link = verifyDocumentLink(deps.config.kyc.encryptionKey, token);
  const [document] = await deps.db
    .select()
    .from(kycDocuments)
    .where(
      and(eq(kycDocuments.id, link.documentId), isNull(kycDocuments.deletingAt), isNotNull(kycDocuments.confirmedAt)),
    );
  if (!document) throw new KitError("NOT_FOUND", "The linked document no longer exists.");
  try {
    return {
      bytes: await readDocumentBytes(deps, document),
      fileName: document.fileName,
      contentType: document.contentType,
    };
  } catch (error) {
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
}
