// Queueing on-chain eligibility jobs, after the commit that made the change (an approval, a
// revocation, a wallet linked or unlinked). The jobs (onchain-register.ts, onchain-revoke.ts,
// freezes.ts) then record Kit's operations in the outbox and wait for them.
import { and, eq, notInArray } from "drizzle-orm";
import type { JobQueue } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { RECOVERY_STATUSES } from "./contract-values";
import { openFreezeCase } from "./freeze-cases";
import { currentApproval } from "./onchain-records";
import { kycOnchainRegistrations } from "./schema";

/** Job data: `kyc.onchain.register` takes an application (all its user's wallets) or one wallet of a user. */
export type RegisterJobData = { applicationId: string } | { userId: string; wallet: string };
/**
 * Job data: `kyc.onchain.revoke` takes the application that stopped being approved (all its user's
 * wallets), or one wallet its user unlinked.
 */
export type RevokeJobData = { applicationId: string } | { userId: string; wallet: string };

/**
 * Never throws: the change that calls for it is already committed. A lost enqueue leaves the
 * application without rows (or with stale ones), which reconciliation and `kyc.onchain.retry` repair.
 */
export async function queueEligibilityJob(
  deps: { jobs?: JobQueue; log: Logger },
  name: "kyc.onchain.register" | "kyc.onchain.revoke" | "kyc.onchain.freeze",
  data: RegisterJobData | RevokeJobData,
): Promise<void> {
  if (!deps.jobs) return;
  try {
    await deps.jobs.enqueue(name, data);
  } catch (error) {
    deps.log.error({ err: error, job: name, ...data }, "could not queue the on-chain eligibility job");
  }
}

/** After a wallet is unlinked: if Kit made it eligible, the claim goes (it no longer belongs to a known investor). */
export async function queueUnlinkedWalletRevocation(
  deps: { db: Database; jobs?: JobQueue; log?: Logger },
  userId: string,
  wallet: string,
): Promise<void> {
  if (!deps.jobs || !deps.log) return;
  try {
    const [row] = await deps.db
      .select({ id: kycOnchainRegistrations.id })
      .from(kycOnchainRegistrations)
      .where(
        and(
          eq(kycOnchainRegistrations.userId, userId),
          eq(kycOnchainRegistrations.wallet, wallet.toLowerCase()),
          notInArray(kycOnchainRegistrations.status, ["revoked", ...RECOVERY_STATUSES]),
        ),
      );
    if (!row) return;
  } catch (error) {
    deps.log.error({ err: error, userId }, "could not read the on-chain registration of an unlinked wallet");
    return;
  }
  await queueEligibilityJob({ jobs: deps.jobs, log: deps.log }, "kyc.onchain.revoke", {
    userId,
    wallet: wallet.toLowerCase(),
  });
}

/**
 * After a wallet is linked: if its owner is approved now, the wallet is registered too; if a freeze
 * case of theirs is open (a sanctions or fraud revocation), the wallet is frozen like the others —
 * its owner has just proved it is theirs.
 */
export async function queueNewWalletEligibility(
  deps: { db: Database; jobs?: JobQueue; log?: Logger },
  userId: string,
  wallet: string,
): Promise<void> {
  if (!deps.jobs || !deps.log) return;
  let approved: boolean;
  let frozen: boolean;
  try {
    [approved, frozen] = await Promise.all([
      currentApproval(deps.db, userId).then(Boolean),
      openFreezeCase(deps.db, userId).then(Boolean),
    ]);
  } catch (error) {
    deps.log.error({ err: error, userId }, "could not read the KYC standing for a new wallet");
    return;
  }
  const data = { userId, wallet: wallet.toLowerCase() };
  const queue = { jobs: deps.jobs, log: deps.log };
  if (frozen) await queueEligibilityJob(queue, "kyc.onchain.freeze", data);
  if (approved) await queueEligibilityJob(queue, "kyc.onchain.register", data);
}
