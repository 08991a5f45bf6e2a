// Envelope encryption of KYC personal data: each application has its own random 256-bit data key,
// stored only wrapped by the master key (crypto.ts) in kyc_data_keys. The application's personal
// data and its documents are encrypted with that key, so a master-key rotation re-wraps one small
// row per application (key-rotation.ts), and destroying the one row (erasure) makes everything the
// key encrypted unreadable, wherever copies of the ciphertext went (backups included, once the
// wrapped key itself is gone from them: docs/security.md).
import { randomBytes } from "node:crypto";
import { and, eq, ne, sql } from "drizzle-orm";
import { KitError } from "../../errors";
import type { Database, Transaction } from "../../infra/db";
import { fieldAad, open, type PiiField, type PiiKeyring, seal } from "./crypto";
import { kycDataKeys } from "./data-keys-schema";
import { kycApplications } from "./schema";

/** `pii_key_id` of a row whose personal data is under its application's data key. */
export const DATA_KEY_ID = "data-key";
const DATA_KEY_BYTES = 32;

/**
 * The application's data key was destroyed (erasure): its personal data and documents are gone for
 * good. A 404 (the record is gone), typed so that callers and tests tell it from a missing id; not
 * a 503: no operator can bring it back, unlike PiiKeyMissingError's unconfigured master key.
 */
export class KycDataErasedError extends KitError {
  constructor(readonly applicationId: string) {
    super(
      "NOT_FOUND",
      `The personal data and documents of KYC application ${applicationId} were erased; they can no longer be read. The application's status history remains.`,
    );
    this.name = "KycDataErasedError";
  }
}

/** An application's personal data, encrypted and decrypted with its own key. */
export interface ApplicationCipher {
  applicationId: string;
  /** Under the data key; throws if the application has none (legacy rows read only). */
  encrypt(field: PiiField, plaintext: string): Buffer;
  /** `keyId` is the row's pii_key_id: the data key's marker, or a master key id (rows before envelope). */
  decrypt(field: PiiField, keyId: string, ciphertext: Buffer): string;
  /** The data key itself, for documents (document-seal.ts); throws if the application has none. */
  dataKey(): Buffer;
}

export function applicationCipher(
  keyring: PiiKeyring,
  applicationId: string,
  dataKey: Buffer | undefined,
): ApplicationCipher {
  const key = () => {
    if (!dataKey) throw new Error(`KYC application ${applicationId} has no data key`);
    return dataKey;
  };
  return {
    applicationId,
    encrypt: (field, plaintext) => seal(key(), fieldAad(applicationId, field), plaintext),
    decrypt: (field, keyId, ciphertext) =>
      keyId === DATA_KEY_ID
        ? open(key(), fieldAad(applicationId, field), ciphertext).toString("utf8")
        : keyring.decrypt(applicationId, field, keyId, ciphertext),
    dataKey: key,
  };
}

/**
 * The application's data key, unwrapped; undefined when it has none yet (an application from before
 * envelope encryption). Throws KycDataErasedError when it was destroyed, PiiKeyMissingError (503)
 * when the master key that wrapped it is not configured.
 */
export async function loadDataKey(
  db: Database | Transaction,
  keyring: PiiKeyring,
  applicationId: string,
): Promise<Buffer | undefined> {
  const [row] = await db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, applicationId));
  if (!row) return undefined;
  if (!row.wrappedKey || !row.masterKeyId) throw new KycDataErasedError(applicationId);
  return keyring.unwrapDataKey(applicationId, row.masterKeyId, row.wrappedKey);
}

/** The cipher for reading (and, if it has a data key, writing) an application's personal data. */
export async function openApplicationCipher(
  db: Database | Transaction,
  keyring: PiiKeyring,
  applicationId: string,
): Promise<ApplicationCipher> {
  return applicationCipher(keyring, applicationId, await loadDataKey(db, keyring, applicationId));
}

/**
 * For presenting an application to reviewers: an erased one kept no personal data to decrypt (its
 * pseudonymous record is still shown), so no key is asked for; any other opens its data key.
 */
export async function cipherForPresenting(
  db: Database | Transaction,
  keyring: PiiKeyring,
  row: { id: string; erasedAt: Date | null },
): Promise<ApplicationCipher> {
  return row.erasedAt ? applicationCipher(keyring, row.id, undefined) : openApplicationCipher(db, keyring, row.id);
}

/** A new random data key, wrapped by the current master key: what createApplication inserts. */
export function newDataKey(keyring: PiiKeyring, applicationId: string) {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const row = {
    applicationId,
    wrappedKey: keyring.wrapDataKey(applicationId, dataKey),
    masterKeyId: keyring.currentKeyId,
  };
  return { dataKey, row };
}

/**
 * The application's data key, made now if it has none (an application from before envelope
 * encryption, on its first save or document, or when the rotation job moves it). In the caller's
 * transaction; two at once: one inserts, the other waits for it and reads its key.
 */
export async function ensureDataKey(tx: Transaction, keyring: PiiKeyring, applicationId: string): Promise<Buffer> {
  const existing = await loadDataKey(tx, keyring, applicationId);
  if (existing) return existing;
  const made = newDataKey(keyring, applicationId);
  const [inserted] = await tx
    .insert(kycDataKeys)
    .values(made.row)
    .onConflictDoNothing()
    .returning({ applicationId: kycDataKeys.applicationId });
  if (inserted) return made.dataKey;
  const raced = await loadDataKey(tx, keyring, applicationId);
  if (!raced) throw new Error(`KYC data key of ${applicationId} neither inserted nor found`);
  return raced;
}

/**
 * Erasure: destroys the application's data key, in the caller's transaction. From its commit on,
 * every read of the application's personal data or documents answers KycDataErasedError, and the
 * ciphertext left behind (columns, objects, copies in backups taken afterwards) decrypts with no
 * key Kit has. Personal data written before envelope encryption (directly under the master key,
 * which still exists) is removed from the row here, as destroying a key would not reach it.
 * Idempotent; an application that never had a key gets a tombstone all the same.
 * The objects themselves are the caller's to delete (erasure.ts): this touches the database only.
 */
export async function destroyApplicationDataKey(
  tx: Transaction,
  applicationId: string,
): Promise<{ destroyed: boolean }> {
  const [row] = await tx
    .insert(kycDataKeys)
    .values({ applicationId, wrappedKey: null, masterKeyId: null, destroyedAt: new Date() })
    .onConflictDoUpdate({
      target: kycDataKeys.applicationId,
      set: { wrappedKey: null, masterKeyId: null, destroyedAt: sql`now()` },
      setWhere: sql`${kycDataKeys.destroyedAt} is null`,
    })
    .returning({ applicationId: kycDataKeys.applicationId });
  await tx
    .update(kycApplications)
    .set({ dateOfBirthEncrypted: null, nationalIdEncrypted: null, piiKeyId: null })
    .where(and(eq(kycApplications.id, applicationId), ne(kycApplications.piiKeyId, DATA_KEY_ID)));
  return { destroyed: row !== undefined };
}
