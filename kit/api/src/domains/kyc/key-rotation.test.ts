// Finishing a master-key rotation: the job re-wraps data keys (no personal data re-encrypted) and
// moves rows from before envelope encryption to their own data key (every row, any status,
// batched, resumable, idempotent, leaving version and updated_at alone); counting per key id; and
// what a read whose master key is gone answers (a typed 503, logged with the key id), never a 500.
import { describe, expect, test } from "bun:test";
import { randomBytes, randomUUID } from "node:crypto";
import { eq, inArray, sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { moveApplication } from "../../../test/kyc";
import { createUser } from "../../../test/users";
import { createApp } from "../../app";
import type { Config } from "../../config";
import { createLogger } from "../../infra/log";
import { user } from "../auth/schema";
import { getApplication } from "./applications";
import { createPiiKeyring, keyId, PiiKeyMissingError } from "./crypto";
import { applicationCipher, DATA_KEY_ID, newDataKey, openApplicationCipher } from "./data-keys";
import { kycDataKeys } from "./data-keys-schema";
import {
  countKeyUsage,
  finishKeyRotation,
  kycKeyMetrics,
  REENCRYPT_BATCH,
  REWRAP_BATCH,
  type RotationResult,
} from "./key-rotation";
import { decryptPersonalData } from "./present";
import { kycApplications } from "./schema";

const kit = await createTestKit();
const { db } = kit.deps;

/** The kit's config with other KYC keys. */
function withKeys(encryptionKey: Buffer, previousEncryptionKeys: Buffer[]): typeof kit.config {
  return { ...kit.config, kyc: { ...kit.config.kyc, encryptionKey, previousEncryptionKeys } };
}

/** The kit's deps as a process started with other KYC keys has them: its keyring made from those. */
function withKeysDeps(encryptionKey: Buffer, previousEncryptionKeys: Buffer[]) {
  const config = withKeys(encryptionKey, previousEncryptionKeys);
  return { ...kit.deps, config, local: { ...kit.deps.local, piiKeyring: createPiiKeyring(config) } };
}

/** A logger whose JSON lines land in `lines`. */
function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    { log: { level: "info", pretty: false } },
    {},
    {
      write: (line: string) => lines.push(JSON.parse(line)),
    },
  );
  return { log, lines };
}

/**
 * `n` draft applications as written before envelope encryption: personal data directly under
 * `config`'s current master key, no data key; inserted in bulk (one applicant each).
 */
async function insertApplications(config: Pick<Config, "kyc">, n: number): Promise<string[]> {
  const keyring = createPiiKeyring(config);
  const now = new Date();
  const users = Array.from({ length: n }, () => {
    const id = randomUUID();
    return { id, name: "Bulk", email: `bulk-${id}@example.com`, role: "investor", createdAt: now, updatedAt: now };
  });
  await db.insert(user).values(users);
  const rows = users.map((u) => {
    const id = randomUUID();
    return {
      id,
      userId: u.id,
      firstName: "Grace",
      dateOfBirthEncrypted: keyring.encrypt(id, "date_of_birth", "1906-12-09"),
      nationalIdEncrypted: keyring.encrypt(id, "national_id", `ID ${id.slice(0, 8)}`),
      piiKeyId: keyring.currentKeyId,
    };
  });
  await db.insert(kycApplications).values(rows);
  return rows.map((r) => r.id);
}

/** `n` applications with personal data under their own data keys, wrapped by `config`'s current master key. */
async function insertEnvelopeApplications(config: Pick<Config, "kyc">, n: number): Promise<string[]> {
  const keyring = createPiiKeyring(config);
  const ids = await insertApplications(config, n);
  const made = ids.map((id) => ({ id, ...newDataKey(keyring, id) }));
  for (let i = 0; i < made.length; i += 1000)
    await db.insert(kycDataKeys).values(made.slice(i, i + 1000).map((m) => m.row));
  await db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('kit.pii_rekey', 'on', true)`);
    for (const { id, dataKey } of made) {
      const cipher = applicationCipher(keyring, id, dataKey);
      await tx
        .update(kycApplications)
        .set({
          dateOfBirthEncrypted: cipher.encrypt("date_of_birth", "1906-12-09"),
          nationalIdEncrypted: cipher.encrypt("national_id", `ID ${id.slice(0, 8)}`),
          piiKeyId: DATA_KEY_ID,
        })
        .where(eq(kycApplications.id, id));
    }
  });
  return ids;
}

const keysOf = (ids: string[]) => db.select().from(kycDataKeys).where(inArray(kycDataKeys.applicationId, ids));

/** What is left under a previous key (the other tests' rows, under keys of their own, aside). */
const previousLeft = (result: RotationResult) => result.remaining.filter((r) => r.role === "previous");

const rowsOf = (ids: string[]) => db.select().from(kycApplications).where(inArray(kycApplications.id, ids));

describe("the rotation job", () => {
  test("re-wraps every data key under a previous key, whatever its status; personal data bytes, version and updated_at stay", async () => {
    const oldKey = kit.config.kyc.encryptionKey;
    const newKey = randomBytes(32);
    const statuses = ["draft", "approved", "rejected", "expired", "revoked", "in_review"] as const;
    const ids: string[] = [];
    for (const status of statuses) {
      const investor = await createUser(kit, "investor");
      const saved = await callApi(kit.app, investor, "PUT", "/kyc/application", {
        nationalIdNumber: `N-${status.replace("_", " ")}`,
      });
      if (saved.status !== 200) throw new Error(JSON.stringify(saved.body));
      await moveApplication(kit, saved.body.id, status);
      ids.push(saved.body.id);
    }
    const before = await rowsOf(ids);
    expect(before.every((r) => r.piiKeyId === DATA_KEY_ID)).toBe(true);

    const rotated = withKeysDeps(newKey, [oldKey]);
    const metrics = kycKeyMetrics(new Registry());
    const first = await finishKeyRotation(rotated, metrics);
    expect(first.rewrapped).toBeGreaterThanOrEqual(ids.length);
    expect(first.failed).toBe(0);
    expect(previousLeft(first)).toEqual([]);
    expect((await keysOf(ids)).every((k) => k.masterKeyId === keyId(newKey))).toBe(true);

    // Only the new key is needed from now on: the old one may go.
    const newOnly = createPiiKeyring(withKeys(newKey, []));
    for (const row of await rowsOf(ids)) {
      const was = before.find((b) => b.id === row.id);
      // Not one byte of personal data was re-encrypted: only the data key's wrapping changed.
      expect(row.nationalIdEncrypted?.equals(was?.nationalIdEncrypted ?? Buffer.alloc(0))).toBe(true);
      const cipher = await openApplicationCipher(db, newOnly, row.id);
      expect(decryptPersonalData(cipher, row).nationalIdNumber).toBe(`N-${row.status.replace("_", " ")}`);
      expect({ version: row.version, updatedAt: row.updatedAt }).toEqual({
        version: was?.version ?? -1,
        updatedAt: was?.updatedAt ?? new Date(0),
      });
    }
    // Idempotent: a second run finds nothing to do.
    const again = await finishKeyRotation(rotated, metrics);
    expect({ rewrapped: again.rewrapped, failed: again.failed, left: previousLeft(again) }).toEqual({
      rewrapped: 0,
      failed: 0,
      left: [],
    });
    expect((await metrics.rewrapped.get()).values[0]?.value).toBe(first.rewrapped);
    const gauge = Object.fromEntries((await metrics.rows.get()).values.map((v) => [v.labels.key, v.value]));
    expect(gauge).toMatchObject({ previous: 0, unconfigured: 0 });
    expect(gauge.current).toBeGreaterThanOrEqual(ids.length);
  });

  test("rows from before envelope encryption keep reading, and move to a data key of their own", async () => {
    const oldKey = randomBytes(32);
    const ids = await insertApplications(withKeys(oldKey, []), 3);
    const before = await rowsOf(ids);
    const rotated = withKeysDeps(kit.config.kyc.encryptionKey, [oldKey]);
    const [first] = before;
    if (!first) throw new Error("no row");
    // Read as they are: directly under the (previous) master key.
    const legacyCipher = await openApplicationCipher(db, rotated.local.piiKeyring, first.id);
    expect(decryptPersonalData(legacyCipher, first).dateOfBirth).toBe("1906-12-09");
    const counted = await countKeyUsage(rotated, rotated.local.piiKeyring);
    expect(counted).toContainEqual({ keyId: keyId(oldKey), role: "previous", dataKeys: 0, legacyRows: 3 });

    const result = await finishKeyRotation(rotated);
    expect(result.reencrypted).toBeGreaterThanOrEqual(3);
    expect(previousLeft(result)).toEqual([]);
    const after = await rowsOf(ids);
    expect(after.every((r) => r.piiKeyId === DATA_KEY_ID)).toBe(true);
    expect((await keysOf(ids)).map((k) => k.masterKeyId)).toEqual(
      ids.map(() => kit.deps.local.piiKeyring.currentKeyId),
    );
    for (const row of after) {
      const was = before.find((b) => b.id === row.id);
      expect({ version: row.version, updatedAt: row.updatedAt }).toEqual({
        version: was?.version ?? -1,
        updatedAt: was?.updatedAt ?? new Date(0),
      });
      // The old master key is no longer needed to read them.
      const cipher = await openApplicationCipher(db, kit.deps.local.piiKeyring, row.id);
      expect(decryptPersonalData(cipher, row)).toMatchObject({
        dateOfBirth: "1906-12-09",
        nationalIdNumber: `ID ${row.id.slice(0, 8)}`,
      });
    }
  });

  test("a save still bumps the version (the exemption is the job's alone)", async () => {
    const [id] = await insertApplications(kit.config, 1);
    const [row] = await rowsOf([id as string]);
    await db
      .update(kycApplications)
      .set({ nationalIdEncrypted: row?.nationalIdEncrypted })
      .where(eq(kycApplications.id, id as string));
    expect((await rowsOf([id as string]))[0]?.version).toBe((row?.version ?? 0) + 1);
  });

  test("batched and resumable: locked rows are left for the next run, which finishes", async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const wrapped = await insertEnvelopeApplications(withKeys(oldKey, []), REWRAP_BATCH + 50);
    const legacy = await insertApplications(withKeys(oldKey, []), REENCRYPT_BATCH + 50);
    const rotated = withKeysDeps(newKey, [oldKey]);
    const lockedKeys = wrapped.slice(0, 5);
    const lockedRows = legacy.slice(0, 7);

    // Another transaction holds some rows (an applicant saving, a reviewer deciding) during the run.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let lockTaken: () => void = () => {};
    const taken = new Promise<void>((resolve) => {
      lockTaken = resolve;
    });
    const holder = db.transaction(async (tx) => {
      await tx.select().from(kycDataKeys).where(inArray(kycDataKeys.applicationId, lockedKeys)).for("update");
      await tx.select().from(kycApplications).where(inArray(kycApplications.id, lockedRows)).for("update");
      lockTaken();
      await held;
    });
    await taken;
    const { log, lines } = capturingLog();
    const first = await finishKeyRotation({ ...rotated, log });
    release();
    await holder;
    expect({ rewrapped: first.rewrapped, reencrypted: first.reencrypted }).toEqual({
      rewrapped: wrapped.length - lockedKeys.length,
      reencrypted: legacy.length - lockedRows.length,
    });
    expect(previousLeft(first)).toEqual([
      { keyId: keyId(oldKey), role: "previous", dataKeys: lockedKeys.length, legacyRows: lockedRows.length },
    ]);
    // Progress is logged batch by batch.
    expect(lines.filter((l) => l.msg === "KYC data keys re-wrapped").length).toBeGreaterThanOrEqual(2);
    const moved = lines.filter((l) => l.msg === "KYC personal data moved to data keys");
    expect(moved.length).toBeGreaterThanOrEqual(2);
    expect(moved.at(-1)).toMatchObject({ done: first.reencrypted, failed: 0 });

    const second = await finishKeyRotation(rotated);
    expect({ ...second, remaining: previousLeft(second) }).toEqual({
      // The rows moved by the first run got keys under the new master key already.
      rewrapped: lockedKeys.length,
      reencrypted: lockedRows.length,
      failed: 0,
      remaining: [],
    });
    expect((await keysOf([...wrapped, ...legacy])).every((k) => k.masterKeyId === keyId(newKey))).toBe(true);
    expect((await rowsOf(legacy)).every((r) => r.piiKeyId === DATA_KEY_ID)).toBe(true);
  });

  test("a wrapped key or a row that does not decrypt is left as it is and logged; the rest go on", async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const [good, altered] = await insertApplications(withKeys(oldKey, []), 2);
    const [goodKey, alteredKey] = await insertEnvelopeApplications(withKeys(oldKey, []), 2);
    const [row] = await rowsOf([altered as string]);
    const tampered = Buffer.from(row?.nationalIdEncrypted ?? Buffer.alloc(0));
    tampered[14] = (tampered[14] ?? 0) ^ 1;
    await db
      .update(kycApplications)
      .set({ nationalIdEncrypted: tampered })
      .where(eq(kycApplications.id, altered as string));
    await db.execute(
      sql`update kyc_data_keys set wrapped_key = set_byte(wrapped_key, 20, get_byte(wrapped_key, 20) # 1) where application_id = ${alteredKey}`,
    );
    const { log, lines } = capturingLog();
    const result = await finishKeyRotation({ ...withKeysDeps(newKey, [oldKey]), log });
    expect({ ...result, remaining: previousLeft(result) }).toEqual({
      rewrapped: 1,
      reencrypted: 1,
      failed: 2,
      remaining: [{ keyId: keyId(oldKey), role: "previous", dataKeys: 1, legacyRows: 1 }],
    });
    expect((await rowsOf([good as string]))[0]?.piiKeyId).toBe(DATA_KEY_ID);
    expect((await keysOf([goodKey as string]))[0]?.masterKeyId).toBe(keyId(newKey));
    expect(lines.find((l) => l.applicationId === altered)).toMatchObject({ keyId: keyId(oldKey), level: 50 });
    expect(lines.find((l) => l.applicationId === alteredKey)).toMatchObject({ keyId: keyId(oldKey), level: 50 });
    expect(JSON.stringify(lines)).not.toContain("1906-12-09");
  });

  test("re-wrapping is far cheaper than re-encrypting personal data (figures printed for docs/kyc.md)", async () => {
    const n = 1000;
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    // Separate key pairs, so that each run sees only its own rows.
    await insertEnvelopeApplications(withKeys(oldKey, []), n);
    const legacyKey = randomBytes(32);
    await insertApplications(withKeys(legacyKey, []), n);
    let started = performance.now();
    const rewrap = await finishKeyRotation(withKeysDeps(newKey, [oldKey]));
    const rewrapMs = performance.now() - started;
    started = performance.now();
    const moved = await finishKeyRotation(withKeysDeps(newKey, [legacyKey]));
    const moveMs = performance.now() - started;
    expect(rewrap.rewrapped).toBe(n);
    expect(moved.reencrypted).toBe(n);
    // Dozens of times apart on any machine: one small row per key against a read, a key and a write per row.
    expect(rewrapMs).toBeLessThan(moveMs);
    process.stdout.write(
      `rotation of ${n} applications: re-wrap ${rewrapMs.toFixed(0)} ms (${((n / rewrapMs) * 1000).toFixed(0)}/s); ` +
        `per-row re-encryption into data keys ${moveMs.toFixed(0)} ms (${((n / moveMs) * 1000).toFixed(0)}/s)\n`,
    );
  });
});

describe("a master key that is not configured", () => {
  test("counted per key id as unconfigured, logged by the job, which still ends", async () => {
    const lostKey = randomBytes(32);
    const legacy = await insertApplications(withKeys(lostKey, []), 3);
    const wrapped = await insertEnvelopeApplications(withKeys(lostKey, []), 2);
    const current = createPiiKeyring(kit.config);
    const counts = await countKeyUsage(kit.deps, current);
    expect(counts[0]).toMatchObject({ keyId: current.currentKeyId, role: "current" });
    expect(counts).toContainEqual({
      keyId: keyId(lostKey),
      role: "unconfigured",
      dataKeys: wrapped.length,
      legacyRows: legacy.length,
    });

    const { log, lines } = capturingLog();
    const result = await finishKeyRotation({ ...kit.deps, log });
    expect(result.remaining.find((r) => r.keyId === keyId(lostKey))).toMatchObject({ role: "unconfigured" });
    expect(lines.find((l) => l.keyId === keyId(lostKey))).toMatchObject({
      level: 50,
      rows: wrapped.length + legacy.length,
    });
  });

  test("a read or a save answers a typed 503 (never a 500) and the log names the key id", async () => {
    const investor = await createUser(kit, "investor");
    const saved = await callApi(kit.app, investor, "PUT", "/kyc/application", {
      firstName: "Ada",
      dateOfBirth: "1990-12-10",
    });
    expect(saved.status).toBe(200);
    const lostKeyId = kit.deps.local.piiKeyring.currentKeyId;

    // The key rotated, and the old key was dropped before the job had re-wrapped this data key.
    const { log, lines } = capturingLog();
    const forgetful = { ...withKeysDeps(randomBytes(32), []), log };
    const app = createApp(forgetful);
    const read = await callApi(app, investor, "GET", "/kyc/application");
    expect(read.status).toBe(503);
    expect(read.body.code).toBe("SERVICE_UNAVAILABLE");
    expect(read.body.message).toContain("encrypted with a key Kit is not configured with");
    expect(JSON.stringify(read.body)).not.toContain(lostKeyId);
    const logged = lines.find((l) => l.msg === "procedure answered 503");
    expect(JSON.stringify(logged)).toContain(`key id ${lostKeyId}`);
    expect(JSON.stringify(logged)).toContain("KYC_PREVIOUS_ENCRYPTION_KEYS");
    expect(lines.some((l) => l.msg === "procedure failed")).toBe(false);
    await expect(getApplication(forgetful, investor.id)).rejects.toBeInstanceOf(PiiKeyMissingError);

    // A save cannot make a new data key over the lost one (its documents would be lost with it):
    // it is refused the same way, and the row is unchanged until the key is back.
    const resaved = await callApi(app, investor, "PUT", "/kyc/application", { firstName: "Eve" });
    expect(resaved.status).toBe(503);
    const back = await callApi(kit.app, investor, "GET", "/kyc/application");
    expect(back.body.personalData).toMatchObject({ firstName: "Ada", dateOfBirth: "1990-12-10" });
  });
});
