// The object store behind identity documents: reachability, presigned PUTs whose type, length and
// SHA-256 are signed, and the check of what was really stored (size, type, hash, magic bytes:
// s3rver, used in development and tests, enforces neither signed headers nor checksums).
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { KitError, type KitErrorIssue } from "../../errors";
import { isMissingObject, isStorageOutage, presignPut, type Storage } from "../../infra/storage";
import type { CreatedUpload } from "./contract-applicant";
import type { DOCUMENT_CONTENT_TYPES } from "./contract-values";
import type { DocumentRow } from "./present";

/** How long a presigned upload or download URL stays valid. */
export const URL_VALIDITY_SECONDS = 15 * 60;
/** For metadata calls (HEAD, DELETE): past this the store counts as unavailable. */
const STORAGE_TIMEOUT_MS = 3_000;
/** Reading a whole document (at most 10 MiB) to hash it. */
const STORAGE_READ_TIMEOUT_MS = 30_000;

export function storageUnavailable(): KitError {
  return new KitError("SERVICE_UNAVAILABLE", "The document store is unavailable; nothing was changed. Retry shortly.");
}

/** Error details safe for logs: never the message (it can carry a presigned URL) nor a stack. */
export function describe(error: unknown) {
  const { name, code, $metadata } = error as { name?: string; code?: unknown; $metadata?: { httpStatusCode?: number } };
  return { name, code, status: $metadata?.httpStatusCode };
}

export async function ensureStorageReachable(storage: Storage): Promise<void> {
  try {
    await storage.client.send(new HeadBucketCommand({ Bucket: storage.buckets.kycDocuments }), {
      abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS),
    });
  } catch (error) {
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
}

export async function deleteObject(storage: Storage, key: string): Promise<void> {
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
 * The stored object's bytes (at most 10 MiB: the documents' limit), hex SHA-256 and first bytes,
 * reading at most `limit` bytes (undefined past the limit).
 */
async function readStoredObject(
  storage: Storage,
  key: string,
  limit: number,
): Promise<{ sha256: string; head: Buffer; bytes: Buffer } | undefined> {
  const object = await storage.client.send(new GetObjectCommand({ Bucket: storage.buckets.kycDocuments, Key: key }), {
    abortSignal: AbortSignal.timeout(STORAGE_READ_TIMEOUT_MS),
  });
  const body = object.Body as Readable;
  const hash = createHash("sha256");
  const head: Buffer[] = [];
  const all: Buffer[] = [];
  let read = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      all.push(bytes);
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
  return { sha256: hash.digest("hex"), head: Buffer.concat(head), bytes: Buffer.concat(all) };
}

/** The key is the only place a document's bytes live: `{applicationId}/{type}/{documentId}`. */
export const bucketKey = (applicationId: string, type: string, documentId: string) =>
  `${applicationId}/${type}/${documentId}`;

/** A PUT URL for exactly one document (infra/storage.ts's presignPut, in the documents' bucket). */
export function presignUpload(
  storage: Storage,
  object: { key: string; contentType: string; size: number; sha256: string },
  expiresInSeconds = URL_VALIDITY_SECONDS,
): Promise<Omit<CreatedUpload, "documentId">> {
  return presignPut(storage, { ...object, bucket: storage.buckets.kycDocuments }, expiresInSeconds);
}

/** "image/png; charset=binary" → "image/png". */
const mediaType = (value: string | undefined) => value?.split(";")[0]?.trim().toLowerCase();

/**
 * What is wrong with the stored object against its declaration (`issues` empty: nothing, and
 * `bytes` are the checked bytes, for document-seal.ts to encrypt).
 */
export async function checkStoredObject(
  storage: Storage,
  document: DocumentRow,
): Promise<{ issues: KitErrorIssue[]; bytes?: Buffer }> {
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
  if (issues.length > 0) return { issues };
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
  return issues.length > 0 ? { issues } : { issues, bytes: stored?.bytes };
}
