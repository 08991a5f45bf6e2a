// Finishing a KYC key rotation. Saves re-encrypt only editable applications, so approved and closed
// rows would keep an old key forever, and removing that key would make them unreadable. The job
// here re-encrypts every row still under a previous key with the current one; once no row is left
// under an old key (`bun run kit kyc:keys` counts them), that key may leave KYC_PREVIOUS_ENCRYPTION_KEYS.
import { and, asc, count, eq, gt, inArray, isNotNull, sql } from "drizzle-orm";
import type { Counter, Gauge, Registry } from "prom-client";
import type { Database } from "../../infra/db";
import { counterIn, gaugeIn } from "../../infra/metrics";
import type { PiiKeyring } from "./crypto";
import type { KycDeps } from "./lifecycle";
import { kycApplications } from "./schema";

/** Rows per transaction: bounds the locks held and the work a failure rolls back. */
export const REENCRYPT_BATCH = 200;
const BEFORE_EVERY_UUID = "00000000-0000-0000-0000-000000000000";

type KeyRole = "current" | "previous" | "unconfigured";
export interface RowsUnderKey {
  keyId: string;
  role: KeyRole;
  rows: number;
}

/** Applications with personal data, per key id: every configured key (0 rows too), then any unconfigured one. */
export async function countRowsByKey(db: Database, keyring: PiiKeyring): Promise<RowsUnderKey[]> {
  const counted = await db
    .select({ keyId: kycApplications.piiKeyId, rows: count() })
    .from(kycApplications)
    .where(isNotNull(kycApplications.piiKeyId))
    .groupBy(kycApplications.piiKeyId);
  const rowsOf = new Map(counted.map((c) => [c.keyId as string, c.rows]));
  const configured: RowsUnderKey[] = [
    { keyId: keyring.currentKeyId, role: "current", rows: rowsOf.get(keyring.currentKeyId) ?? 0 },
    ...keyring.previousKeyIds.map((keyId) => ({ keyId, role: "previous" as const, rows: rowsOf.get(keyId) ?? 0 })),
  ];
  const known = new Set(configured.map((k) => k.keyId));
  const unconfigured = [...rowsOf]
    .filter(([keyId]) => !known.has(keyId))
    .map(([keyId, rows]) => ({ keyId, role: "unconfigured" as const, rows }));
  return [...configured, ...unconfigured];
}

export interface KycKeyMetrics {
  /** Rows by the role of their key, as of the last run of the job in this process. */
  rows: Gauge<"key">;
  reencrypted: Counter;
}

/** The job's series in the process's registry, the same ones each time. */
export function kycKeyMetrics(registry: Registry): KycKeyMetrics {
  return {
    rows: gaugeIn(registry, {
      name: "kit_kyc_pii_rows",
      help: "KYC applications with personal data by the role of their key (current, previous, unconfigured), as of the last kyc.reencrypt-pii run",
      labelNames: ["key"],
    }),
    reencrypted: counterIn(registry, {
      name: "kit_kyc_pii_reencrypted_total",
      help: "KYC applications whose personal data was re-encrypted under the current key",
    }),
  };
}

export interface ReencryptionResult {
  reencrypted: number;
  /** Rows that did not decrypt (altered ciphertext): left as they are, and logged. */
  failed: number;
  /** Rows still under a key other than the current one, by key id. */
  remaining: RowsUnderKey[];
}

/**
 * Job kyc.reencrypt-pii. Resumable and idempotent: it picks the rows still under a previous key,
 * so a run stopped half-way (or a second one at the same time: SKIP LOCKED) leaves nothing half
 * done, and the next run goes on where it stands. A batch is one transaction.
 */
export async function reencryptPersonalData(
  deps: Pick<KycDeps, "db" | "log" | "local">,
  metrics?: KycKeyMetrics,
): Promise<ReencryptionResult> {
  const { db, log } = deps;
  const keyring = deps.local.piiKeyring;
  let reencrypted = 0;
  let failed = 0;
  // The id cursor walks past rows that failed or were locked, so a run always ends.
  let cursor = BEFORE_EVERY_UUID;
  while (keyring.previousKeyIds.length > 0) {
    const batch = await db.transaction(async (tx) => {
      const rows = await tx
        .select({
          id: kycApplications.id,
          piiKeyId: kycApplications.piiKeyId,
          dateOfBirthEncrypted: kycApplications.dateOfBirthEncrypted,
          nationalIdEncrypted: kycApplications.nationalIdEncrypted,
        })
        .from(kycApplications)
        .where(and(inArray(kycApplications.piiKeyId, keyring.previousKeyIds), gt(kycApplications.id, cursor)))
        .orderBy(asc(kycApplications.id))
        .limit(REENCRYPT_BATCH)
        .for("update", { skipLocked: true });
      // The same data under another key is no change a reader could have missed: the guard
      // trigger keeps version and updated_at (migration 0009), so no open form or review goes stale.
      if (rows.length > 0) await tx.execute(sql`select set_config('kit.pii_rekey', 'on', true)`);
      let done = 0;
      const broken: { applicationId: string; keyId: string | null }[] = [];
      for (const row of rows) {
        const columns = reencryptRow(keyring, row);
        if (!columns) {
          broken.push({ applicationId: row.id, keyId: row.piiKeyId });
          continue;
        }
        await tx.update(kycApplications).set(columns).where(eq(kycApplications.id, row.id));
        done++;
      }
      return { seen: rows.length, last: rows.at(-1)?.id, done, broken };
    });
    reencrypted += batch.done;
    failed += batch.broken.length;
    metrics?.reencrypted.inc(batch.done);
    for (const row of batch.broken) {
      log.error(row, "KYC personal data did not decrypt (altered?); left under its key");
    }
    if (batch.seen > 0) log.info({ batch: batch.done, reencrypted, failed }, "KYC personal data re-encrypted");
    // Fewer than a batch: nothing unlocked is left past the cursor.
    if (batch.seen < REENCRYPT_BATCH || !batch.last) break;
    cursor = batch.last;
  }

  const byKey = await countRowsByKey(db, keyring);
  for (const role of ["current", "previous", "unconfigured"] as const) {
    metrics?.rows.set(
      { key: role },
      byKey.filter((k) => k.role === role).reduce((sum, k) => sum + k.rows, 0),
    );
  }
  for (const key of byKey.filter((k) => k.role === "unconfigured")) {
    log.error(
      { keyId: key.keyId, rows: key.rows },
      "KYC rows are encrypted under a key that is not configured: they cannot be read until it is added to KYC_PREVIOUS_ENCRYPTION_KEYS",
    );
  }
  return { reencrypted, failed, remaining: byKey.filter((k) => k.role !== "current" && k.rows > 0) };
}

type EncryptedColumns = Pick<
  typeof kycApplications.$inferSelect,
  "id" | "piiKeyId" | "dateOfBirthEncrypted" | "nationalIdEncrypted"
>;

/** The row's personal data under the current key; undefined when it does not decrypt. */
function reencryptRow(keyring: PiiKeyring, row: EncryptedColumns) {
  const again = (field: "date_of_birth" | "national_id", value: Buffer | null) =>
    value && row.piiKeyId ? keyring.encrypt(row.id, field, keyring.decrypt(row.id, field, row.piiKeyId, value)) : null;
  try {
    return {
      dateOfBirthEncrypted: again("date_of_birth", row.dateOfBirthEncrypted),
      nationalIdEncrypted: again("national_id", row.nationalIdEncrypted),
      piiKeyId: keyring.currentKeyId,
    };
  } catch {
    return undefined;
  }
}
