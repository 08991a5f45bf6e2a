// Personal data at rest: AES-256-GCM, a fresh 12-byte nonce per value, stored as nonce ‖ ciphertext ‖
// tag. The additional data binds each ciphertext to its row and column, so a value copied into
// another application or field fails to decrypt instead of being read as someone else's.
// Envelope: values are encrypted with the application's own data key (data-keys.ts), which is
// stored only wrapped by the master key (KYC_ENCRYPTION_KEY), bound to the application's id. Rows
// written before that were encrypted with the master key itself; the keyring still reads them.
// A master key's id is derived from the key itself: wrapped keys name the key that wrapped them,
// and a rotation (new KYC_ENCRYPTION_KEY, old one moved to KYC_PREVIOUS_ENCRYPTION_KEYS, data keys
// re-wrapped by key-rotation.ts) needs no id bookkeeping.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { Config } from "../../config";
import { KitError } from "../../errors";

export type PiiField = "date_of_birth" | "national_id";

export interface PiiKeyring {
  /** Id of the key new values are written with. */
  currentKeyId: string;
  /** Ids of KYC_PREVIOUS_ENCRYPTION_KEYS: rows under them still read, and await re-encryption. */
  previousKeyIds: string[];
  encrypt(applicationId: string, field: PiiField, plaintext: string): Buffer;
  /**
   * Throws PiiKeyMissingError if the key is not configured, a plain Error if the value was
   * altered or moved.
   */
  decrypt(applicationId: string, field: PiiField, keyId: string, ciphertext: Buffer): string;
  /** A data key wrapped by the current master key, bound to its application. */
  wrapDataKey(applicationId: string, dataKey: Buffer): Buffer;
  /** Throws PiiKeyMissingError if master key `keyId` is not configured, a plain Error if altered or moved. */
  unwrapDataKey(applicationId: string, keyId: string, wrapped: Buffer): Buffer;
  /** Nothing to release (the keys are the configuration's); for deps.local, which closes every part. */
  close(): Promise<void>;
}

/**
 * A row written with a key that is no longer configured (removed from KYC_PREVIOUS_ENCRYPTION_KEYS
 * before every row was re-encrypted). Nobody can read it until the key is back, which only an
 * operator can do: the caller gets a 503 saying so, the log (the cause) names the key id.
 */
export class PiiKeyMissingError extends KitError {
  constructor(
    readonly applicationId: string,
    readonly keyId: string,
  ) {
    super(
      "SERVICE_UNAVAILABLE",
      "This application's personal data is encrypted with a key Kit is not configured with, so it cannot be read now; nothing was changed. Operators have been alerted; retry later.",
    );
    this.name = "PiiKeyMissingError";
    this.cause = new Error(
      `KYC application ${applicationId} is encrypted under key id ${keyId}, which is not configured: add that key to KYC_PREVIOUS_ENCRYPTION_KEYS (\`bun run kit kyc:keys\` counts the rows under each key id)`,
    );
  }
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** nonce ‖ AES-256-GCM(key, plaintext, aad) ‖ tag. */
export function seal(key: Buffer, aad: Buffer, plaintext: Buffer | string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  const body = Buffer.concat([
    typeof plaintext === "string" ? cipher.update(plaintext, "utf8") : cipher.update(plaintext),
    cipher.final(),
  ]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** The plaintext of `seal`'s output; throws on a wrong key, other additional data or any altered byte. */
export function open(key: Buffer, aad: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error("KYC ciphertext is truncated");
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

/** A value's additional data: its application and column. */
export const fieldAad = (applicationId: string, field: PiiField) => Buffer.from(`kyc:${applicationId}:${field}`);
const wrapAad = (applicationId: string) => Buffer.from(`kyc-data-key:${applicationId}`);

export function keyId(key: Buffer): string {
  return createHash("sha256").update("kit-kyc-pii-key:").update(key).digest("hex").slice(0, 16);
}

export function createPiiKeyring(config: Pick<Config, "kyc">): PiiKeyring {
  const keys = new Map<string, Buffer>();
  for (const key of [config.kyc.encryptionKey, ...config.kyc.previousEncryptionKeys]) keys.set(keyId(key), key);
  const currentKeyId = keyId(config.kyc.encryptionKey);
  const previousKeyIds = [...keys.keys()].filter((id) => id !== currentKeyId);
  const masterKey = (applicationId: string, id: string) => {
    const key = keys.get(id);
    if (!key) throw new PiiKeyMissingError(applicationId, id);
    return key;
  };

  return {
    currentKeyId,
    previousKeyIds,
    encrypt(applicationId, field, plaintext) {
      return seal(config.kyc.encryptionKey, fieldAad(applicationId, field), plaintext);
    },
    decrypt(applicationId, field, id, ciphertext) {
      return open(masterKey(applicationId, id), fieldAad(applicationId, field), ciphertext).toString("utf8");
    },
    wrapDataKey(applicationId, dataKey) {
      return seal(config.kyc.encryptionKey, wrapAad(applicationId), dataKey);
    },
    unwrapDataKey(applicationId, id, wrapped) {
      return open(masterKey(applicationId, id), wrapAad(applicationId), wrapped);
    },
    async close() {},
  };
}
