// Finishing a key rotation: the re-encryption job (every row, any status, batched, resumable,
// idempotent, leaving version and updated_at alone), counting rows per key id, and what a read of a
// row whose key is gone answers (a typed 503, logged with the key id) instead of a 500.
import { describe, expect, test } from "bun:test";
import { randomBytes, randomUUID } from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import { Registry } from "prom-client";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createDraftApplication, moveApplication } from "../../../test/kyc";
import { createUser } from "../../../test/users";
import { createApp } from "../../app";
import type { Config } from "../../config";
import { createLogger } from "../../infra/log";
import { user } from "../auth/schema";
import { getApplication } from "./applications";
import { createPiiKeyring, keyId, PiiKeyMissingError } from "./crypto";
import {
  countRowsByKey,
  kycKeyMetrics,
  REENCRYPT_BATCH,
  type ReencryptionResult,
  reencryptPersonalData,
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
 * `n` draft applications with personal data under `config`'s current key, inserted in bulk (one
 * applicant each: one open application per user).
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

/** What is left under a previous key (the other tests' rows, under keys of their own, aside). */
const previousLeft = (result: ReencryptionResult) => result.remaining.filter((r) => r.role === "previous");

const rowsOf = (ids: string[]) => db.select().from(kycApplications).where(inArray(kycApplications.id, ids));

describe("the re-encryption job", () => {
  test("moves every row under a previous key to the current one, whatever its status; version and updated_at stay", async () => {
    const oldKey = kit.config.kyc.encryptionKey;
    const newKey = randomBytes(32);
    const statuses = ["draft", "approved", "rejected", "expired", "revoked", "in_review"] as const;
    const apps = [];
    for (const status of statuses) {
      const app = await createDraftApplication(kit, await createApplicant(kit), { nationalIdNumber: `N-${status}` });
      await moveApplication(kit, app.id, status);
      apps.push(app);
    }
    const ids = apps.map((a) => a.id);
    const before = await rowsOf(ids);

    const rotated = withKeysDeps(newKey, [oldKey]);
    const metrics = kycKeyMetrics(new Registry());
    const first = await reencryptPersonalData(rotated, metrics);
    expect(first.reencrypted).toBeGreaterThanOrEqual(ids.length);
    expect(first.failed).toBe(0);
    expect(previousLeft(first)).toEqual([]);

    const after = await rowsOf(ids);
    // Only the new key is needed from now on: the old one may go.
    const newOnly = createPiiKeyring(withKeys(newKey, []));
    for (const row of after) {
      const was = before.find((b) => b.id === row.id);
      expect(row.piiKeyId).toBe(keyId(newKey));
      expect(row.nationalIdEncrypted?.equals(was?.nationalIdEncrypted ?? Buffer.alloc(0))).toBe(false);
      expect(decryptPersonalData(newOnly, row).nationalIdNumber).toBe(`N-${row.status}`);
      expect({ id: row.id, version: row.version, updatedAt: row.updatedAt }).toEqual({
        id: row.id,
        version: was?.version ?? -1,
        updatedAt: was?.updatedAt ?? new Date(0),
      });
    }
    // Idempotent: a second run finds nothing to do.
    const again = await reencryptPersonalData(rotated, metrics);
    expect({ reencrypted: again.reencrypted, failed: again.failed, left: previousLeft(again) }).toEqual({
      reencrypted: 0,
      failed: 0,
      left: [],
    });
    expect((await metrics.reencrypted.get()).values[0]?.value).toBe(first.reencrypted);
    const gauge = Object.fromEntries((await metrics.rows.get()).values.map((v) => [v.labels.key, v.value]));
    expect(gauge).toMatchObject({ previous: 0, unconfigured: 0 });
    expect(gauge.current).toBeGreaterThanOrEqual(ids.length);
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
    const ids = await insertApplications(withKeys(oldKey, []), REENCRYPT_BATCH + 50);
    const rotated = withKeysDeps(newKey, [oldKey]);
    const locked = ids.slice(0, 7);

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
      await tx.select().from(kycApplications).where(inArray(kycApplications.id, locked)).for("update");
      lockTaken();
      await held;
    });
    await taken;
    const { log, lines } = capturingLog();
    const first = await reencryptPersonalData({ ...rotated, log });
    release();
    await holder;
    expect(first.reencrypted).toBe(ids.length - locked.length);
    expect(previousLeft(first)).toEqual([{ keyId: keyId(oldKey), role: "previous", rows: locked.length }]);
    // Progress is logged batch by batch.
    const progress = lines.filter((l) => l.msg === "KYC personal data re-encrypted");
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatchObject({ reencrypted: first.reencrypted, failed: 0 });

    const second = await reencryptPersonalData(rotated);
    expect({ ...second, remaining: previousLeft(second) }).toEqual({
      reencrypted: locked.length,
      failed: 0,
      remaining: [],
    });
    expect((await rowsOf(ids)).every((r) => r.piiKeyId === keyId(newKey))).toBe(true);
  });

  test("a row that does not decrypt is left as it is and logged; the rest go on", async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const [good, altered] = await insertApplications(withKeys(oldKey, []), 2);
    const [row] = await rowsOf([altered as string]);
    const tampered = Buffer.from(row?.nationalIdEncrypted ?? Buffer.alloc(0));
    tampered[14] = (tampered[14] ?? 0) ^ 1;
    await db
      .update(kycApplications)
      .set({ nationalIdEncrypted: tampered })
      .where(eq(kycApplications.id, altered as string));
    const { log, lines } = capturingLog();
    const result = await reencryptPersonalData({ ...withKeysDeps(newKey, [oldKey]), log });
    expect({ ...result, remaining: previousLeft(result) }).toEqual({
      reencrypted: 1,
      failed: 1,
      remaining: [{ keyId: keyId(oldKey), role: "previous", rows: 1 }],
    });
    expect((await rowsOf([good as string]))[0]?.piiKeyId).toBe(keyId(newKey));
    expect(lines.find((l) => l.applicationId === altered)).toMatchObject({ keyId: keyId(oldKey), level: 50 });
    expect(JSON.stringify(lines)).not.toContain("1906-12-09");
  });
});

describe("a row whose key is not configured", () => {
  test("counted per key id as unconfigured, logged by the job, which still ends", async () => {
    const lostKey = randomBytes(32);
    const ids = await insertApplications(withKeys(lostKey, []), 3);
    const current = createPiiKeyring(kit.config);
    const counts = await countRowsByKey(db, current);
    expect(counts[0]).toMatchObject({ keyId: current.currentKeyId, role: "current" });
    expect(counts).toContainEqual({ keyId: keyId(lostKey), role: "unconfigured", rows: ids.length });

    const { log, lines } = capturingLog();
    const result = await reencryptPersonalData({ ...kit.deps, log });
    expect(result.remaining).toContainEqual({ keyId: keyId(lostKey), role: "unconfigured", rows: ids.length });
    expect(lines.find((l) => l.keyId === keyId(lostKey))).toMatchObject({ level: 50, rows: ids.length });
  });

  test("a read answers a typed 503 (never a 500) and the log names the key id; a save repairs the draft", async () => {
    const investor = await createUser(kit, "investor");
    const saved = await callApi(kit.app, investor, "PUT", "/kyc/application", {
      firstName: "Ada",
      dateOfBirth: "1990-12-10",
    });
    expect(saved.status).toBe(200);
    const lostKeyId = kit.deps.local.piiKeyring.currentKeyId;

    // The key rotated, and the old key was dropped before the job had moved this row.
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

    // The applicant's next save writes the data afresh under the current key.
    const resaved = await callApi(app, investor, "PUT", "/kyc/application", {
      firstName: "Ada",
      dateOfBirth: "1990-12-10",
    });
    expect(resaved.status).toBe(200);
    expect((await callApi(app, investor, "GET", "/kyc/application")).body.personalData.dateOfBirth).toBe("1990-12-10");
  });
});
