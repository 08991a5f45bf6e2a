// Identity documents at rest. The browser uploads the plain bytes (presigned PUT); once `confirm`
// has checked them, Kit encrypts them with the application's data key (one AES-256-GCM over the
// whole file: documents are at most 10 MiB), stores the ciphertext under a key of its own and
// deletes the upload. From then on the bucket, and every copy of it (backups), holds only
// ciphertext, which destroying the data key (erasure) makes unreadable. Readers go through Kit
// (document-download.ts, dossier.ts), which decrypts and checks the bytes against the row.
import { createHash, randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import type { Storage } from "../../infra/storage";
import { open, seal } from "./crypto";
import { ensureDataKey, loadDataKey } from "./data-keys";
import { deleteObject, describe } from "./document-store";
import type { KycDocumentDeps } from "./documents";
import type { DocumentRow } from "./present";
import { kycDocuments } from "./schema";

/** Nonce and tag around the ciphertext. */
const SEAL_OVERHEAD = 12 + 16;
const STORAGE_READ_TIMEOUT_MS = 30_000;

/**
 * Not the upload's key: a replay of the still-valid presigned PUT cannot overwrite the ciphertext.
 * One per attempt: two confirms at once never write (or clean up) each other's object.
 */
const sealedObjectKey = (uploadKey: string) => `${uploadKey}.${randomBytes(6).toString("hex")}.sealed`;

/** A document's ciphertext is bound to its application and its own id: moved elsewhere, it does not decrypt. */
const documentAad = (document: Pick<DocumentRow, "id" | "applicationId">) =>
  Buffer.from(`kyc-document:${document.applicationId}:${document.id}`);

/** Encrypts `bytes` with the data key and stores them at the sealed key; returns that key. */
export async function storeSealedDocument(
  storage: Storage,
  dataKey: Buffer,
  document: Pick<DocumentRow, "id" | "applicationId" | "bucketKey">,
  bytes: Buffer,
): Promise<string> {
  const key = sealedObjectKey(document.bucketKey);
  const body = seal(dataKey, documentAad(document), bytes);
  await storage.client.send(
    new PutObjectCommand({
      Bucket: storage.buckets.kycDocuments,
      Key: key,
      Body: body,
      ContentType: "application/octet-stream",
      ChecksumSHA256: createHash("sha256").update(body).digest("base64"),
    }),
    { abortSignal: AbortSignal.timeout(STORAGE_READ_TIMEOUT_MS) },
  );
  return key;
}

/** The object's bytes, at most `limit` of them (undefined past it: not the object Kit stored). */
async function readObject(storage: Storage, key: string, limit: number): Promise<Buffer | undefined> {
  const object = await storage.client.send(new GetObjectCommand({ Bucket: storage.buckets.kycDocuments, Key: key }), {
    abortSignal: AbortSignal.timeout(STORAGE_READ_TIMEOUT_MS),
  });
  const body = object.Body as Readable;
  const chunks: Buffer[] = [];
  let read = 0;
  try {
    for await (const chunk of body) {
      read += (chunk as Buffer).length;
      if (read > limit) return undefined;
      chunks.push(chunk as Buffer);
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks);
}

/**
 * A confirmed document's original bytes: decrypted with its application's data key (or, for one
 * confirmed before documents were encrypted, as stored), and checked against the size and SHA-256
 * recorded at confirmation. Throws KycDataErasedError once the data key was destroyed,
 * PiiKeyMissingError when its master key is not configured, and a plain Error when the stored
 * object is not the one Kit confirmed (altered, replaced, moved).
 */
export async function readDocumentBytes(
  deps: Pick<KycDocumentDeps, "db" | "storage" | "local">,
  document: DocumentRow,
): Promise<Buffer> {
  // The key first: an erased application answers as erased without reaching the store.
  const dataKey = await loadDataKey(deps.db, deps.local.piiKeyring, document.applicationId);
  const stored = await readObject(deps.storage, document.bucketKey, document.size + SEAL_OVERHEAD);
  if (!stored) throw new Error(`document ${document.id}'s stored object is larger than the one confirmed`);
  let bytes = stored;
  if (document.encrypted) {
    if (!dataKey) throw new Error(`document ${document.id} is encrypted but its application has no data key`);
    bytes = open(dataKey, documentAad(document), stored);
  }
  if (bytes.length !== document.size || createHash("sha256").update(bytes).digest("hex") !== document.sha256) {
    throw new Error(`document ${document.id}'s stored bytes differ from those confirmed (size or SHA-256)`);
  }
  return bytes;
}

/** Documents sealed per run of the job: each is a read, an encryption and a write of up to 10 MiB. */
const SEAL_BATCH = 50;

/**
 * Part of job kyc.reencrypt-pii: documents confirmed before documents were encrypted (stored as
 * uploaded) are encrypted with their application's data key like new ones, and the plain object
 * deleted. Resumable: each document is one step (sealed object, then the row's compare-and-set,
 * then the plain object deleted); a removal that wins the race keeps its way, the sealed copy goes.
 */
export async function sealStoredDocuments(
  deps: Pick<KycDocumentDeps, "db" | "storage" | "local" | "log">,
): Promise<{ sealed: number; failed: number }> {
  const rows = await deps.db
    .select()
    .from(kycDocuments)
    .where(and(eq(kycDocuments.encrypted, false), isNotNull(kycDocuments.confirmedAt), isNull(kycDocuments.deletingAt)))
    .orderBy(asc(kycDocuments.id))
    .limit(SEAL_BATCH);
  let sealed = 0;
  let failed = 0;
  for (const document of rows) {
    try {
      const bytes = await readDocumentBytes(deps, document);
      const dataKey = await deps.db.transaction((tx) =>
        ensureDataKey(tx, deps.local.piiKeyring, document.applicationId),
      );
      const key = await storeSealedDocument(deps.storage, dataKey, document, bytes);
      const [moved] = await deps.db
        .update(kycDocuments)
        .set({ bucketKey: key, encrypted: true })
        .where(
          and(eq(kycDocuments.id, document.id), eq(kycDocuments.encrypted, false), isNull(kycDocuments.deletingAt)),
        )
        .returning({ id: kycDocuments.id });
      await deleteObject(deps.storage, moved ? document.bucketKey : key);
      if (moved) sealed++;
    } catch (error) {
      failed++;
      // An erased application's objects are the erasure flow's to delete; anything else is retried next run.
      deps.log.warn({ err: describe(error), documentId: document.id }, "could not encrypt a stored KYC document");
    }
  }
  if (sealed > 0 || failed > 0) deps.log.info({ sealed, failed }, "KYC documents encrypted with their data keys");
  return { sealed, failed };
}
