// Finishing a KYC master-key rotation. Personal data is under each application's data key
// (data-keys.ts); only the data keys are under the master key, so a rotation re-wraps one small row
// per application and re-encrypts no personal data. The same job moves rows written before envelope
// encryption (personal data directly under a master key) to their own data key. Once no data key
// and no such row is left under an old key (`bun run kit kyc:keys` counts them), that key may leave
// KYC_PREVIOUS_ENCRYPTION_KEYS.
import { and, asc, count, eq, gt, inArray, isNotNull, ne, sql } from "drizzle-orm";
import type { Counter, Gauge, Registry } from "prom-client";
import type { Transaction } from "../../infra/db";
import { counterIn, gaugeIn } from "../../infra/metrics";
import type { PiiKeyring } from "./crypto";
import { type ApplicationCipher, applicationCipher, DATA_KEY_ID, ensureDataKey } from "./data-keys";
import { kycDataKeys } from "./data-keys-schema";
import type { KycDeps } from "./lifecycle";
import { kycApplications } from "./schema";

/** Data keys per transaction: small rows, one statement to rewrite them all. */
export const REWRAP_BATCH = 1000;
/** Rows written before envelope encryption moved per transaction: bounds the locks held and the work a failure rolls back. */
export const REENCRYPT_BATCH = 200;
const BEFORE_EVERY_UUID = "00000000-0000-0000-0000-000000000000";

type KeyRole = "current" | "previous" | "unconfigured";
export interface KeyUsage {
  keyId: string;
  role: KeyRole;
  /** Data keys wrapped by this master key. */
  dataKeys: number;
  /** Applications whose personal data is directly under this master key (written before envelope encryption). */
  legacyRows: number;
}

async function countByKey(deps: Pick<KycDeps, "db">) {
  const [wrapped, legacy] = await Promise.all([
    deps.db
      .select({ keyId: kycDataKeys.masterKeyId, n: count() })
      .from(kycDataKeys)
      .where(isNotNull(kycDataKeys.wrappedKey))
      .groupBy(kycDataKeys.masterKeyId),
    deps.db
      .select({ keyId: kycApplications.piiKeyId, n: count() })
      .from(kycApplications)
      .where(and(isNotNull(kycApplications.piiKeyId), ne(kycApplications.piiKeyId, DATA_KEY_ID)))
      .groupBy(kycApplications.piiKeyId),
  ]);
  return {
    dataKeys: new Map(wrapped.map((r) => [r.keyId as string, r.n])),
    legacyRows: new Map(legacy.map((r) => [r.keyId as string, r.n])),
  };
}

/** What each master key still protects: every configured key (0 too), then any unconfigured one a row names. */
export async function countKeyUsage(deps: Pick<KycDeps, "db">, keyring: PiiKeyring): Promise<KeyUsage[]> {
  const { dataKeys, legacyRows } = await countByKey(deps);
  const usage = (keyId: string, role: KeyRole): KeyUsage => ({
    keyId,
    role,
    dataKeys: dataKeys.get(keyId) ?? 0,
    legacyRows: legacyRows.get(keyId) ?? 0,
  });
  const configured = [
    usage(keyring.currentKeyId, "current"),
    ...keyring.previousKeyIds.map((keyId) => usage(keyId, "previous")),
  ];
  const known = new Set(configured.map((k) => k.keyId));
  const unconfigured = [...new Set([...dataKeys.keys(), ...legacyRows.keys()])]
    .filter((keyId) => !known.has(keyId))
    .map((keyId) => usage(keyId, "unconfigured"));
  return [...configured, ...unconfigured];
}

export interface KycKeyMetrics {
  /** Data keys and rows written before envelope encryption, by the role of their master key, as of the last run. */
  rows: Gauge<"key">;
  rewrapped: Counter;
  reencrypted: Counter;
}

/** The job's series in the process's registry, the same ones each time. */
export function kycKeyMetrics(registry: Registry): KycKeyMetrics {
  return {
    rows: gaugeIn(registry, {
      name: "kit_kyc_pii_rows",
      help: "KYC data keys (and applications whose personal data predates envelope encryption) by the role of their master key (current, previous, unconfigured), as of the last kyc.reencrypt-pii run",
      labelNames: ["key"],
    }),
    rewrapped: counterIn(registry, {
      name: "kit_kyc_data_keys_rewrapped_total",
      help: "KYC data keys re-wrapped under the current master key",
    }),
    reencrypted: counterIn(registry, {
      name: "kit_kyc_pii_reencrypted_total",
      help: "KYC applications whose personal data moved from a master key to their own data key",
    }),
  };
}

export interface RotationResult {
  rewrapped: number;
  /** Applications moved from a master key to their own data key. */
  reencrypted: number;
  /** Wrapped keys or rows that did not decrypt (altered): left as they are, and logged. */
  failed: number;
  /** What is still under a key other than the current one, or still directly under a master key. */
  remaining: KeyUsage[];
}

type RunDeps = Pick<KycDeps, "db" | "log" | "local">;
/** What did not decrypt: the application and the master key it names (never a value). */
type Broken = { applicationId: string; keyId: string };

/**
 * Job kyc.reencrypt-pii. Resumable and idempotent: each pass picks what is still under a previous
 * key (or still directly under a master key), so a run stopped half-way (or a second one at the
 * same time: SKIP LOCKED) leaves nothing half done, and the next run goes on where it stands.
 * A batch is one transaction.
 */
export async function finishKeyRotation(deps: RunDeps, metrics?: KycKeyMetrics): Promise<RotationResult> {
  const rewrap = await rewrapDataKeys(deps, metrics);
  const moved = await moveLegacyRows(deps, metrics);
  const byKey = await countKeyUsage(deps, deps.local.piiKeyring);
  for (const role of ["current", "previous", "unconfigured"] as const) {
    metrics?.rows.set(
      { key: role },
      byKey.filter((k) => k.role === role).reduce((sum, k) => sum + k.dataKeys + k.legacyRows, 0),
    );
  }
  for (const key of byKey.filter((k) => k.role === "unconfigured")) {
    deps.log.error(
      { keyId: key.keyId, rows: key.dataKeys + key.legacyRows },
      "KYC data is encrypted under a master key that is not configured: it cannot be read until the key is added to KYC_PREVIOUS_ENCRYPTION_KEYS",
    );
  }
  return {
    rewrapped: rewrap.done,
    reencrypted: moved.done,
    failed: rewrap.failed + moved.failed,
    remaining: byKey.filter((k) => k.legacyRows > 0 || (k.role !== "current" && k.dataKeys > 0)),
  };
}

/**
 * Walks the rows `pick` returns (locked, SKIP LOCKED, past an id cursor so that rows that failed
 * or were locked are passed and a run always ends) one transaction per batch.
 */
async function inBatches(
  deps: RunDeps,
  size: number,
  what: string,
  batch: (tx: Transaction, after: string) => Promise<{ seen: number; last?: string; done: number; broken: Broken[] }>,
): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  let cursor = BEFORE_EVERY_UUID;
  for (;;) {
    const result = await deps.db.transaction((tx) => batch(tx, cursor));
    done += result.done;
    failed += result.broken.length;
    for (const row of result.broken) {
      deps.log.error(row, `KYC ${what}: did not decrypt (altered?); left as it is`);
    }
    if (result.seen > 0) deps.log.info({ batch: result.done, done, failed }, `KYC ${what}`);
    // Fewer than a batch: nothing unlocked is left past the cursor.
    if (result.seen < size || !result.last) return { done, failed };
    cursor = result.last;
  }
}

/** Every data key still wrapped by a previous master key, wrapped again by the current one. */
async function rewrapDataKeys(deps: RunDeps, metrics?: KycKeyMetrics) {
  const keyring = deps.local.piiKeyring;
  if (keyring.previousKeyIds.length === 0) return { done: 0, failed: 0 };
  return inBatches(deps, REWRAP_BATCH, "data keys re-wrapped", async (tx, after) => {
    const rows = await tx
      .select()
      .from(kycDataKeys)
      .where(and(inArray(kycDataKeys.masterKeyId, keyring.previousKeyIds), gt(kycDataKeys.applicationId, after)))
      .orderBy(asc(kycDataKeys.applicationId))
      .limit(REWRAP_BATCH)
      .for("update", { skipLocked: true });
    const rewrapped: { applicationId: string; wrapped: Buffer }[] = [];
    const broken: Broken[] = [];
    for (const row of rows) {
      try {
        const dataKey = keyring.unwrapDataKey(row.applicationId, row.masterKeyId as string, row.wrappedKey as Buffer);
        rewrapped.push({ applicationId: row.applicationId, wrapped: keyring.wrapDataKey(row.applicationId, dataKey) });
      } catch {
        broken.push({ applicationId: row.applicationId, keyId: row.masterKeyId as string });
      }
    }
    if (rewrapped.length > 0) {
      // One statement for the batch: the rows are tiny, the round trips would dominate.
      const values = sql.join(
        rewrapped.map((r) => sql`(${r.applicationId}::uuid, ${r.wrapped}::bytea)`),
        sql`, `,
      );
      await tx.execute(sql`
        update kyc_data_keys k
           set wrapped_key = v.wrapped, master_key_id = ${keyring.currentKeyId}
          from (values ${values}) as v(application_id, wrapped)
         where k.application_id = v.application_id`);
    }
    metrics?.rewrapped.inc(rewrapped.length);
    return { seen: rows.length, last: rows.at(-1)?.applicationId, done: rewrapped.length, broken };
  });
}

/**
 * Every application whose personal data is still directly under a configured master key: given
 * its own data key (if it has none) and its values encrypted with it, version and updated_at kept.
 */
async function moveLegacyRows(deps: RunDeps, metrics?: KycKeyMetrics) {
  const keyring = deps.local.piiKeyring;
  const configured = [keyring.currentKeyId, ...keyring.previousKeyIds];
  return inBatches(deps, REENCRYPT_BATCH, "personal data moved to data keys", async (tx, after) => {
    const rows = await tx
      .select({
        id: kycApplications.id,
        piiKeyId: kycApplications.piiKeyId,
        dateOfBirthEncrypted: kycApplications.dateOfBirthEncrypted,
        nationalIdEncrypted: kycApplications.nationalIdEncrypted,
      })
      .from(kycApplications)
      .where(and(inArray(kycApplications.piiKeyId, configured), gt(kycApplications.id, after)))
      .orderBy(asc(kycApplications.id))
      .limit(REENCRYPT_BATCH)
      .for("update", { skipLocked: true });
    // The same data under another key is no change a reader could have missed: the guard
    // trigger keeps version and updated_at (migration 0010).
    if (rows.length > 0) await tx.execute(sql`select set_config('kit.pii_rekey', 'on', true)`);
    let done = 0;
    const broken: Broken[] = [];
    for (const row of rows) {
      const keyId = row.piiKeyId as string;
      let plain: { dateOfBirth: string | null; nationalId: string | null };
      let cipher: ApplicationCipher;
      try {
        plain = {
          dateOfBirth: row.dateOfBirthEncrypted
            ? keyring.decrypt(row.id, "date_of_birth", keyId, row.dateOfBirthEncrypted)
            : null,
          nationalId: row.nationalIdEncrypted
            ? keyring.decrypt(row.id, "national_id", keyId, row.nationalIdEncrypted)
            : null,
        };
        // A data key it has already (made by a save that failed later) may be unreadable too.
        cipher = applicationCipher(keyring, row.id, await ensureDataKey(tx, keyring, row.id));
      } catch {
        broken.push({ applicationId: row.id, keyId });
        continue;
      }
      await tx
        .update(kycApplications)
        .set({
          dateOfBirthEncrypted: plain.dateOfBirth === null ? null : cipher.encrypt("date_of_birth", plain.dateOfBirth),
          nationalIdEncrypted: plain.nationalId === null ? null : cipher.encrypt("national_id", plain.nationalId),
          piiKeyId: DATA_KEY_ID,
        })
        .where(eq(kycApplications.id, row.id));
      done++;
    }
    metrics?.reencrypted.inc(done);
    return { seen: rows.length, last: rows.at(-1)?.id, done, broken };
  });
}
