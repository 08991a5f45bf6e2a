import { describe, expect, test } from "bun:test";
import { createPiiKeyring, keyId, PiiKeyMissingError } from "./crypto";

const oldKey = Buffer.alloc(32, 1);
const newKey = Buffer.alloc(32, 2);
const config = (encryptionKey: Buffer, previousEncryptionKeys: Buffer[] = []) => ({
  kyc: { encryptionKey, previousEncryptionKeys, unconfirmedUploadHours: 24, requireVerifiedEmail: true },
});

describe("PII encryption", () => {
  const keyring = createPiiKeyring(config(newKey, [oldKey]));
  const app = "0b0e4c38-5d2b-4a57-9a2e-1f2a3b4c5d6e";

  test("round-trips, with a fresh nonce each time, and names its key", () => {
    const a = keyring.encrypt(app, "national_id", "X1234567");
    const b = keyring.encrypt(app, "national_id", "X1234567");
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from("X1234567"))).toBe(false);
    expect(keyring.decrypt(app, "national_id", keyring.currentKeyId, a)).toBe("X1234567");
    expect(keyring.currentKeyId).toBe(keyId(newKey));
  });

  test("a value moved to another application or field, or altered, does not decrypt", () => {
    const value = keyring.encrypt(app, "date_of_birth", "1990-04-01");
    expect(() => keyring.decrypt(crypto.randomUUID(), "date_of_birth", keyring.currentKeyId, value)).toThrow();
    expect(() => keyring.decrypt(app, "national_id", keyring.currentKeyId, value)).toThrow();
    const altered = Buffer.from(value);
    altered[14] = (altered[14] ?? 0) ^ 1;
    expect(() => keyring.decrypt(app, "date_of_birth", keyring.currentKeyId, altered)).toThrow();
    expect(() => keyring.decrypt(app, "date_of_birth", keyring.currentKeyId, value.subarray(0, 20))).toThrow();
  });

  test("after a rotation, rows written with the previous key still decrypt; an unknown key id is an error", () => {
    const before = createPiiKeyring(config(oldKey));
    const written = before.encrypt(app, "national_id", "AB-99");
    expect(keyring.decrypt(app, "national_id", before.currentKeyId, written)).toBe("AB-99");
    const forgotten = createPiiKeyring(config(newKey));
    const error = (() => {
      try {
        forgotten.decrypt(app, "national_id", before.currentKeyId, written);
      } catch (e) {
        return e;
      }
    })();
    // A typed 503 for callers; the cause (for the log) names the missing key's id.
    expect(error).toBeInstanceOf(PiiKeyMissingError);
    expect(error).toMatchObject({ code: "SERVICE_UNAVAILABLE", keyId: before.currentKeyId, applicationId: app });
    expect((error as Error).message).not.toContain(before.currentKeyId);
    expect(String((error as Error).cause)).toContain(`key id ${before.currentKeyId}`);
  });

  test("the keyring lists its previous keys' ids apart from the current one", () => {
    expect(keyring.previousKeyIds).toEqual([keyId(oldKey)]);
    expect(createPiiKeyring(config(newKey, [newKey])).previousKeyIds).toEqual([]);
  });
});
