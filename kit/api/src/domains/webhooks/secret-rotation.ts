// A KYC master-key rotation reaches webhook endpoint secrets too: they are sealed under a key derived
// from the master key (secrets.ts). An old master key may leave KYC_PREVIOUS_ENCRYPTION_KEYS only
// once no secret is left under it, or deliveries to those endpoints stop. `kit kyc:keys` counts
// them; the kyc.reencrypt-pii job and `kit kyc:keys --reencrypt` re-seal them under the current key.
import { and, asc, count, gt, isNotNull, ne, or, sql } from "drizzle-orm";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { webhookEndpoints } from "./schema";
import { type SecretBox, secretKeyIdOf } from "./secrets";

/** Endpoints per transaction: a few rows each, the locks held briefly. */
const RESEAL_BATCH = 200;
const BEFORE_EVERY_UUID = "00000000-0000-0000-0000-000000000000";

/**
 * Secrets (both slots) under each of `masters` (the KYC master keys, in the order given), and under
 * none of them (unreadable until that key is configured again).
 */
export async function countSecretsByMasterKey(
  db: Database,
  masters: readonly Buffer[],
): Promise<{ perMaster: number[]; unconfigured: number }> {
  const [current, previous] = await Promise.all([
    db
      .select({ keyId: webhookEndpoints.secretKeyId, n: count() })
      .from(webhookEndpoints)
      .groupBy(webhookEndpoints.secretKeyId),
    db
      .select({ keyId: webhookEndpoints.previousSecretKeyId, n: count() })
      .from(webhookEndpoints)
      .where(isNotNull(webhookEndpoints.previousSecretCiphertext))
      .groupBy(webhookEndpoints.previousSecretKeyId),
  ]);
  const byKey = new Map<string, number>();
  for (const row of [...current, ...previous]) {
    if (row.keyId) byKey.set(row.keyId, (byKey.get(row.keyId) ?? 0) + row.n);
  }
  const ids = masters.map(secretKeyIdOf);
  const unconfigured = [...byKey].filter(([keyId]) => !ids.includes(keyId)).reduce((sum, [, n]) => sum + n, 0);
  return { perMaster: ids.map((keyId) => byKey.get(keyId) ?? 0), unconfigured };
}

export interface ResealResult {
  resealed: number;
  /** Secrets under a key not configured, or altered: left as they are, and logged (endpoint ids only). */
  failed: number;
}

/**
 * Every endpoint whose secret (either slot) is under another key than the current one, sealed again
 * under it: one transaction per batch, rows locked with SKIP LOCKED past an id cursor, so that a
 * second run at the same time or a run stopped half-way leaves nothing half done.
 */
export async function resealSecrets(deps: { db: Database; log: Logger }, box: SecretBox): Promise<ResealResult> {
  const result: ResealResult = { resealed: 0, failed: 0 };
  let cursor = BEFORE_EVERY_UUID;
  for (;;) {
    const batch = await deps.db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(webhookEndpoints)
        .where(
          and(
            gt(webhookEndpoints.id, cursor),
            or(
              ne(webhookEndpoints.secretKeyId, box.keyId),
              and(
                isNotNull(webhookEndpoints.previousSecretCiphertext),
                ne(webhookEndpoints.previousSecretKeyId, box.keyId),
              ),
            ),
          ),
        )
        .orderBy(asc(webhookEndpoints.id))
        .limit(RESEAL_BATCH)
        .for("update", { skipLocked: true });
      let resealed = 0;
      const failed: string[] = [];
      for (const row of rows) {
        try {
          const current = box.open(row.id, "current", row.secretKeyId, row.secretCiphertext);
          const previous =
            row.previousSecretCiphertext && row.previousSecretKeyId
              ? box.open(row.id, "previous", row.previousSecretKeyId, row.previousSecretCiphertext)
              : null;
          // updated_at untouched: the endpoint did not change for its owner.
          await tx
            .update(webhookEndpoints)
            .set({
              secretCiphertext: box.seal(row.id, "current", current),
              secretKeyId: box.keyId,
              previousSecretCiphertext: previous === null ? null : box.seal(row.id, "previous", previous),
              previousSecretKeyId: previous === null ? null : box.keyId,
            })
            .where(sql`${webhookEndpoints.id} = ${row.id}`);
          resealed++;
        } catch {
          failed.push(row.id);
        }
      }
      return { seen: rows.length, last: rows.at(-1)?.id, resealed, failed };
    });
    result.resealed += batch.resealed;
    result.failed += batch.failed.length;
    for (const endpointId of batch.failed) {
      deps.log.error(
        { endpointId },
        "webhook endpoint secret did not decrypt (key not configured, or altered); left as it is",
      );
    }
    if (batch.seen < RESEAL_BATCH || !batch.last) return result;
    cursor = batch.last;
  }
}
