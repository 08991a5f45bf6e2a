// The KYC domain's jobs, run by the worker role: document clean-up, approval expiry, key rotation,
// the retention policy, and on-chain eligibility (sent through the operations outbox) with its
// reconciliation.
import type { Deps, JobDefinition } from "../../deps";
import { kickDispatcher } from "../notifications/record";
import { resealSecrets } from "../webhooks/secret-rotation";
import { createSecretBox } from "../webhooks/secrets";
import { cleanUpDocuments } from "./document-removal";
import { sealStoredDocuments } from "./document-seal";
import { publishOnchainStatus } from "./events";
import { reconcileFreezes } from "./freeze-reconcile";
import { freezeJob, revokeAndFreeze } from "./freezes";
import { finishKeyRotation, kycKeyMetrics } from "./key-rotation";
import { recordExpiryNotices, recordQueueDigest } from "./notices";
import { kycOnchainMetrics } from "./onchain-metrics";
import { registerEligibility } from "./onchain-register";
import { revocationTarget } from "./onchain-revoke";
import { reconcileRegistrations } from "./reconcile";
import { applyRetention } from "./retention-job";
import { expireApprovals } from "./review";

type KycJobName =
  | "kyc.clean-up-documents"
  | "kyc.expire-approvals"
  | "kyc.reencrypt-pii"
  | "kyc.apply-retention"
  | "kyc.approval-expiry-notices"
  | "kyc.queue-digest"
  | "kyc.onchain.register"
  | "kyc.onchain.revoke"
  | "kyc.onchain.freeze"
  | "kyc.onchain.reconcile";

export function kycJobs(): JobDefinition<KycJobName>[] {
  return [
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
    // Notifications (notices.ts): hourly, each notice recorded once (per approval and threshold; per
    // day for the digest), so a missed run only delays them.
    {
      name: "kyc.approval-expiry-notices",
      everySeconds: 60 * 60,
      attempts: 3,
      backoffMs: 60_000,
      run: (deps) => recordExpiryNotices(deps),
    },
    {
      name: "kyc.queue-digest",
      everySeconds: 60 * 60,
      attempts: 3,
      backoffMs: 60_000,
      run: (deps) => recordQueueDigest(deps),
    },
    // Finishes a master-key rotation (domains/kyc/key-rotation.ts): re-wraps data keys, moves rows
    // and documents from before envelope encryption to data keys (50 documents a run), and re-seals
    // webhook endpoint secrets; with nothing to move it costs five queries an hour.
    {
      name: "kyc.reencrypt-pii",
      everySeconds: 60 * 60,
      attempts: 3,
      backoffMs: 60_000,
      run: async (deps, _data, job) => ({
        ...(await finishKeyRotation(deps, kycKeyMetrics(job.metrics.registry))),
        documents: await sealStoredDocuments(deps),
        // Webhook endpoint secrets are sealed under a key derived from the same master key.
        webhookSecrets: await resealSecrets(deps, createSecretBox(deps.config)),
      }),
    },
    // The retention policy (retention-job.ts): at most 200 erasures a run, the rest the next hour.
    {
      name: "kyc.apply-retention",
      everySeconds: 60 * 60,
      attempts: 3,
      backoffMs: 60_000,
      run: (deps) => applyRetention(deps),
    },
    // On-chain eligibility (domains/kyc/onchain-register.ts, sent through the operations outbox): a chain outage is retried for about 5 minutes
    // (10 s, 20 s, … 160 s); then the row is `failed` and `kyc.onchain.retry` queues it again.
    {
      name: "kyc.onchain.register",
      attempts: 6,
      backoffMs: 10_000,
      run: (deps, data, job) => announcingOnchain(deps, data, () => registerEligibility(deps, data, job)),
    },
    // A freeze case (sanctions, fraud) freezes the user's wallets first, then Kit's claim goes.
    {
      name: "kyc.onchain.revoke",
      attempts: 6,
      backoffMs: 10_000,
      run: (deps, data, job) => announcingOnchain(deps, data, () => revokeAndFreeze(deps, data, job)),
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
  ];
}

/**
 * Runs an eligibility job, then tells its user's own streams where their wallets stand on chain,
 * whether the attempt worked or not (a failure may have left a wallet `failed`).
 */
async function announcingOnchain<T>(deps: Deps, data: Record<string, unknown>, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } finally {
    // Register and revoke jobs name their user the same way ({ applicationId } or { userId, wallet }).
    const target = await revocationTarget(deps.db, data).catch(() => undefined);
    if (target) await publishOnchainStatus(deps, target.userId);
    // A wallet registered or given up on recorded its owner's notification.
    await kickDispatcher(deps);
  }
}
