// Endpoint secrets, per Standard Webhooks: `whsec_` + base64 of 32 random bytes, shown once (at
// creation and at each rotation) and stored encrypted: AES-256-GCM under a key derived (HKDF) from
// the master key KYC data is encrypted with, bound to its endpoint and slot, so a ciphertext copied
// to another endpoint or slot does not decrypt. Rows name the key they were written with, so a
// master-key rotation (KYC_PREVIOUS_ENCRYPTION_KEYS) keeps old secrets readable.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import type { Config } from "../../config";

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

type SecretSlot = "current" | "previous";

export interface SecretBox {
  keyId: string;
  seal(endpointId: string, slot: SecretSlot, secret: string): Buffer;
  open(endpointId: string, slot: SecretSlot, keyId: string, ciphertext: Buffer): string;
}

/** A fresh secret, as the receiver configures it. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString("base64")}`;
}

function deriveKey(master: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), "kit-webhook-endpoint-secrets", 32));
}

function idOf(key: Buffer): string {
  return createHash("sha256").update("kit-webhook-secret-key:").update(key).digest("hex").slice(0, 16);
}

/** The id rows name for the secrets sealed under `master` (a KYC master key). */
export function secretKeyIdOf(master: Buffer): string {
  return idOf(deriveKey(master));
}

export function createSecretBox(config: Pick<Config, "kyc">): SecretBox {
  const keys = new Map<string, Buffer>();
  for (const master of [config.kyc.encryptionKey, ...config.kyc.previousEncryptionKeys]) {
    const key = deriveKey(master);
    keys.set(idOf(key), key);
  }
  const current = deriveKey(config.kyc.encryptionKey);
  const aad = (endpointId: string, slot: SecretSlot) => Buffer.from(`webhook:${endpointId}:${slot}`);
  return {
    keyId: idOf(current),
    seal(endpointId, slot, secret) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", current, nonce);
      cipher.setAAD(aad(endpointId, slot));
      const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
      return Buffer.concat([nonce, body, cipher.getAuthTag()]);
    },
    open(endpointId, slot, keyId, ciphertext) {
      const key = keys.get(keyId);
      if (!key) {
        throw new Error(
          `webhook endpoint ${endpointId}: its secret is encrypted under key id ${keyId}, which is not configured (restore the master key in KYC_PREVIOUS_ENCRYPTION_KEYS, or rotate the endpoint's secret)`,
        );
      }
      const decipher = createDecipheriv("aes-256-gcm", key, ciphertext.subarray(0, NONCE_BYTES));
      decipher.setAAD(aad(endpointId, slot));
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
      const body = ciphertext.subarray(NONCE_BYTES, ciphertext.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    },
  };
}

/** `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the secret's decoded bytes. */
function signPayload(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** The `webhook-signature` header: one signature per secret in force, newest first, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets.map((secret) => signPayload(secret, id, timestamp, body)).join(" ");
}
