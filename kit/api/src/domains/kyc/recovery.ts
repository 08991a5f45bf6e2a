// Wallet recoveries as eligibility sees them. A recovery (token operations, T-REX recoveryAddress)
// moves an investor's registration — their ONCHAINID identity — from a lost wallet to a new one.
// Left alone, the eligibility jobs would fight it: reconciliation would find the lost wallet no
// longer verified and register it again, and a registration of the new wallet with an identity of
// its own would make recoveryAddress revert. So while a recovery runs both wallets' rows are
// `recovering` (every eligibility job skips them), and when it ends the lost wallet's row is
// `recovered` for good and the new wallet's `registered` with the investor's identity — or, if the
// registration did not move, both go back to eligibility, which reads the chain and repairs.
import { desc, eq } from "drizzle-orm";
import type { JobQueue, WalletRecovery } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { OnchainRegistrationStatus } from "./contract-values";
import { queueEligibilityJob } from "./onchain-queue";
import { currentApproval, withWalletLock } from "./onchain-records";
import { kycApplications, kycOnchainRegistrations } from "./schema";

/**
 * Holds both wallets' rows (made when missing) as `recovering`, under the eligibility jobs' wallet
 * locks, so a registration job running now finishes before and any later one skips them. The
 * caller (the operations sender) holds its own lock meanwhile: a wait longer than LOCK_WAIT_MS
 * fails with PG_LOCK_NOT_AVAILABLE rather than stall it, and the recovery is tried again later.
 */
export async function holdWalletsForRecovery({ db }: { db: Database }, recovery: WalletRecovery): Promise<void> {
  const applicationId = await applicationOf(db, recovery.userId);
  if (!applicationId) throw new Error(`user ${recovery.userId} has no KYC application to record the recovery under`);
  const [first, second] = [recovery.lostWallet, recovery.newWallet].sort();
  const wait = { waitMs: LOCK_WAIT_MS };
  await withWalletLock(
    db,
    recovery.chainId,
    first as string,
    () =>
      withWalletLock(
        db,
        recovery.chainId,
        second as string,
        async () => {
          for (const wallet of [recovery.lostWallet, recovery.newWallet]) {
            await setRow(db, recovery, applicationId, wallet, "recovering");
          }
        },
        wait,
      ),
    wait,
  );
}

const LOCK_WAIT_MS = 5_000;

/** Ends the hold: the registration moved (`moved`) or not; either way eligibility is told what to do next. */
export async function releaseWalletsAfterRecovery(
  deps: { db: Database; jobs?: JobQueue; log?: Logger },
  recovery: WalletRecovery,
  moved: boolean,
): Promise<void> {
  const { db } = deps;
  const approval = await currentApproval(db, recovery.userId);
  const applicationId = approval?.id ?? (await applicationOf(db, recovery.userId));
  if (!applicationId) return;
  const queue = deps.log ? { jobs: deps.jobs, log: deps.log } : undefined;
  if (moved) {
    await setRow(db, recovery, applicationId, recovery.lostWallet, "recovered");
    await setRow(db, recovery, applicationId, recovery.newWallet, "registered");
    // The investor's approval ended while the recovery ran: the new wallet loses Kit's claim now.
    if (!approval && queue) {
      await queueEligibilityJob(queue, "kyc.onchain.revoke", { userId: recovery.userId, wallet: recovery.newWallet });
    }
    return;
  }
  for (const wallet of [recovery.lostWallet, recovery.newWallet]) {
    await setRow(db, recovery, applicationId, wallet, "pending");
  }
  if (!queue) return;
  // Eligibility reads the chain first, so this only repairs what the recovery left (a new wallet
  // it took out of the registry) and records the rest as it is.
  if (approval) await queueEligibilityJob(queue, "kyc.onchain.register", { applicationId: approval.id });
  else {
    for (const wallet of [recovery.lostWallet, recovery.newWallet]) {
      await queueEligibilityJob(queue, "kyc.onchain.revoke", { userId: recovery.userId, wallet });
    }
  }
}

async function setRow(
  db: Database,
  recovery: WalletRecovery,
  applicationId: string,
  wallet: string,
  status: OnchainRegistrationStatus,
): Promise<void> {
  const now = new Date();
  const values = {
    applicationId,
    userId: recovery.userId,
    identityAddress: recovery.identity,
    country: recovery.country,
    status,
    error: status === "pending" ? "a wallet recovery did not move the registration; eligibility checks it again" : null,
    attempts: 0,
    updatedAt: now,
    ...(status === "registered" ? { registeredAt: now } : {}),
  };
  await db
    .insert(kycOnchainRegistrations)
    .values({ ...values, wallet, chainId: recovery.chainId })
    .onConflictDoUpdate({ target: [kycOnchainRegistrations.chainId, kycOnchainRegistrations.wallet], set: values });
}

/** The approval the rows are recorded under: the current one, else the latest application. */
async function applicationOf(db: Database, userId: string): Promise<string | undefined> {
  const approval = await currentApproval(db, userId);
  if (approval) return approval.id;
  const [latest] = await db
    .select({ id: kycApplications.id })
    .from(kycApplications)
    .where(eq(kycApplications.userId, userId))
    .orderBy(desc(kycApplications.createdAt))
    .limit(1);
  return latest?.id;
}
