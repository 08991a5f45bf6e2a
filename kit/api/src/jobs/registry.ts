// The jobs the worker runs. A job's logic lives in its domain's service; here it gets a name, a
// schedule and a retry policy.
import type { Config } from "../config";
import type { JobDefinition } from "../deps";
import { refreshRates } from "../domains/exchange-rates/refresh";
import { cleanUpDocuments } from "../domains/kyc/document-removal";
import { reconcileFreezes } from "../domains/kyc/freeze-reconcile";
import { freezeJob, revokeAndFreeze } from "../domains/kyc/freezes";
import { kycKeyMetrics, reencryptPersonalData } from "../domains/kyc/key-rotation";
import { kycOnchainMetrics } from "../domains/kyc/onchain-metrics";
import { registerEligibility } from "../domains/kyc/onchain-register";
import { reconcileRegistrations } from "../domains/kyc/reconcile";
import { expireApprovals } from "../domains/kyc/review";
import { batchJobs } from "../domains/operation-batches/jobs";
import { operationJobs } from "../domains/operations/jobs";
import type { JobName } from "./names";

export function jobDefinitions(config: Pick<Config, "fx" | "operations">): JobDefinition<JobName>[] {
  return [
    {
      name: "fx.refresh",
      everySeconds: config.fx.refreshEverySeconds,
      attempts: 3,
      backoffMs: 10_000,
      run: (deps) => refreshRates(deps),
    },
    {
      name: "kyc.clean-up-documents",
      everySeconds: 15 * 60,
      attempts: 3,
      backoffMs: 30_000,
      run: (deps) => cleanUpDocuments(deps),
    },
    {
      name: "kyc.expire-approvals",
      everySeconds: 15 * 60,
      attempts: 3,
      backoffMs: 30_000,
      run: (deps) => expireApprovals(deps),
    },
    // Finishes a key rotation (domains/kyc/key-rotation.ts): with no previous key configured it
    // only counts rows per key, so it costs one query an hour.
    {
      name: "kyc.reencrypt-pii",
      everySeconds: 60 * 60,
      attempts: 3,
      backoffMs: 60_000,
      run: (deps, _data, job) => reencryptPersonalData(deps, kycKeyMetrics(job.metrics.registry)),
    },
    // On-chain eligibility (domains/kyc/onchain-register.ts, sent through the operations outbox): a chain outage is retried for about 5 minutes
    // (10 s, 20 s, … 160 s); then the row is `failed` and `kyc.onchain.retry` queues it again.
    {
      name: "kyc.onchain.register",
      attempts: 6,
      backoffMs: 10_000,
      run: (deps, data, job) => registerEligibility(deps, data, job),
    },
    // A freeze case (sanctions, fraud) freezes the user's wallets first, then Kit's claim goes.
    {
      name: "kyc.onchain.revoke",
      attempts: 6,
      backoffMs: 10_000,
      run: (deps, data, job) => revokeAndFreeze(deps, data, job),
    },
    // Freezes of a wallet linked by a frozen user, and the unfreezing after an admin lifts a case.
    {
      name: "kyc.onchain.freeze",
      attempts: 6,
      backoffMs: 10_000,
      run: (deps, data, job) => freezeJob(deps, data, job),
    },
    {
      name: "kyc.onchain.reconcile",
      everySeconds: 15 * 60,
      attempts: 3,
      backoffMs: 60_000,
      run: async (deps, _data, job) => {
        const metrics = kycOnchainMetrics(job.metrics.registry, deps.db);
        return {
          registrations: await reconcileRegistrations(deps, metrics),
          freezes: await reconcileFreezes(deps, metrics),
        };
      },
    },
    // The token operations outbox (domains/operations/jobs.ts).
    ...operationJobs(config),
    // CSV batches of mints and freezes (domains/operation-batches).
    ...batchJobs(),
  ];
}
