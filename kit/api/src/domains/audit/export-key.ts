// The export key: Ed25519, signs what Kit hands out as evidence (the KYC dossier's manifest.json).
// Configured as the 32-byte seed (AUDIT_EXPORT_PRIVATE_KEY, base64); the public key is published at
// GET /api/audit/export-key, so anyone holding a dossier can check it offline with node:crypto,
// OpenSSL or `bun run kit dossier:verify`. The key id is derived from the public key itself: a
// manifest names the key that signed it, and a verifier handed another key says so.
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

/** PKCS#8 DER of an Ed25519 private key is this fixed prefix followed by the 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

const EXPORT_KEY_ALGORITHM = "Ed25519";

export interface PublishedExportKey {
  algorithm: typeof EXPORT_KEY_ALGORITHM;
  /** First 16 hex digits of the SHA-256 of the raw 32-byte public key. */
  keyId: string;
  /** SubjectPublicKeyInfo, PEM. */
  publicKeyPem: string;
}

export interface ExportKey extends PublishedExportKey {
  /** Base64 of the Ed25519 signature over exactly `data`. */
  sign(data: Uint8Array): string;
}

export function exportKeyFromSeed(seed: Buffer): ExportKey {
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const publicKey = createPublicKey(privateKey);
  return {
    ...publishedKeyOf(publicKey),
    sign: (data) => sign(null, data, privateKey).toString("base64"),
  };
}

/** The public half as GET /api/audit/export-key answers it. */
export function publishedKeyOf(publicKey: KeyObject): PublishedExportKey {
  if (publicKey.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 public key");
  const raw = Buffer.from((publicKey.export({ format: "jwk" }) as { x: string }).x, "base64url");
  return {
    algorithm: EXPORT_KEY_ALGORITHM,
    keyId: createHash("sha256").update(raw).digest("hex").slice(0, 16),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

/** Whether `signatureBase64` is `publicKey`'s Ed25519 signature over exactly `data`. */
export function verifyExportSignature(publicKey: KeyObject, data: Uint8Array, signatureBase64: string): boolean {
  const signature = Buffer.from(signatureBase64.trim(), "base64");
  if (signature.length !== 64) return false;
  return verify(null, data, publicKey, signature);
}
