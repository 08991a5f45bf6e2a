// On-chain eligibility in /metrics: how many wallets stand where (read from the table on each
// scrape, so every worker shows the same truth), and how often reconciliation found the chain
// disagreeing with Kit. Failed registration jobs are counted by the worker itself:
// kit_jobs_failed_total{job="kyc.onchain.register"} (and "kyc.onchain.revoke").
import { count } from "drizzle-orm";
import type { Counter, Gauge, Registry } from "prom-client";
import type { Database } from "../../infra/db";
import { counterIn, gaugeIn } from "../../infra/metrics";
import { ONCHAIN_REGISTRATION_STATUSES } from "./contract-values";
import { kycOnchainRegistrations } from "./schema";

/** What reconciliation found, as the `kind` label of kit_kyc_onchain_drift_total. */
const DRIFT_KINDS = [
  "job_lost",
  "claim_missing",
  "not_verified",
  "approval_ended",
  "wallet_unlinked",
  "approved_again",
  "claim_after_revoke",
  "verified_after_revoke",
  "freeze_missing",
  "freeze_unfinished",
  "lift_unfinished",
  "freeze_job_lost",
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface KycOnchainMetrics {
  registrations: Gauge<"status">;
  drift: Counter<"kind">;
}

/** A scrape waits for the count at most this long, then shows the last values. */
const SCRAPE_QUERY_TIMEOUT_MS = 2_000;

/**
 * The series in `registry`, the same ones each time; the gauge counts rows through the `db` of the
 * first call, on each scrape.
 */
export function kycOnchainMetrics(registry: Registry, db: Database): KycOnchainMetrics {
  const metrics: KycOnchainMetrics = {
    registrations: gaugeIn(registry, {
      name: "kit_kyc_onchain_registrations",
      help: "Wallets in kyc_onchain_registrations by status (pending, registered, failed, revoked)",
      labelNames: ["status"],
      async collect() {
        const counts = await countByStatus(db).catch(() => undefined);
        if (!counts) return; // the database did not answer in time: the last values stand
        for (const status of ONCHAIN_REGISTRATION_STATUSES) this.set({ status }, counts[status]);
      },
    }),
    drift: counterIn(registry, {
      name: "kit_kyc_onchain_drift_total",
      help: "Differences reconciliation found between Kit's records and the chain, by kind",
      labelNames: ["kind"],
    }),
  };
  // Zero series from the start: an alert on rate() needs a series before the first increment
  // (adding 0 leaves a count as it is).
  for (const kind of DRIFT_KINDS) metrics.drift.inc({ kind }, 0);
  return metrics;
}

async function countByStatus(db: Database): Promise<Record<(typeof ONCHAIN_REGISTRATION_STATUSES)[number], number>> {
  const query = db
    .select({ status: kycOnchainRegistrations.status, n: count() })
    .from(kycOnchainRegistrations)
    .groupBy(kycOnchainRegistrations.status);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("count timed out")), SCRAPE_QUERY_TIMEOUT_MS);
  });
  try {
    const rows = await Promise.race([query, timeout]);
    const counts = Object.fromEntries(ONCHAIN_REGISTRATION_STATUSES.map((s) => [s, 0])) as Record<
      (typeof ONCHAIN_REGISTRATION_STATUSES)[number],
      number
    >;
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  } finally {
    clearTimeout(timer);
  }
}
