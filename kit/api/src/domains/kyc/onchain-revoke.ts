// Job kyc.onchain.revoke (the claim part; freezes.ts adds the sanctions freezes before it): the end
// of an approval, or a wallet unlinked, removes Kit's claim from the wallet's identity (the identity
// stays, as ERC-3643 expects). Per wallet, under its lock, the job re-reads whether the wallet is
// still eligible, then records an `identity_revoke` operation and waits for it. The outbox sends one
// wallet's operations in the order they were recorded, so a revocation recorded behind a registration
// reads the registration's effect and removes the claim: the revocation wins.
import { and, eq, notInArray } from "drizzle-orm";
import type { Database } from "../../infra/db";
import type { OperationRow } from "../operations/store";
import { RECOVERY_STATUSES } from "./contract-values";
import { failureOf, recordRevocation, settle } from "./onchain-outbox";
import {
  currentApproval,
  isLinked,
  isRecoveryStatus,
  type JobAttempt,
  type OnchainDeps,
  type RegistrationRow,
  shortError,
  updateRow,
  withWalletLock,
} from "./onchain-records";
import { kycApplications, kycOnchainRegistrations } from "./schema";

export interface RevokeResult {
  revoked: string[];
  skipped: number;
}

/** Whose wallets a `kyc.onchain.revoke` job is about: all of a user's, or one; undefined for an unknown application. */
export async function revocationTarget(
  db: Database,
  data: Record<string, unknown>,
): Promise<{ userId: string; wallet?: string } | undefined> {
  if (typeof data.applicationId === "string") {
    const [application] = await db
      .select({ userId: kycApplications.userId })
      .from(kycApplications)
      .where(eq(kycApplications.id, data.applicationId));
    return application ? { userId: application.userId } : undefined;
  }
  if (typeof data.userId === "string" && typeof data.wallet === "string") {
    return { userId: data.userId, wallet: data.wallet.toLowerCase() };
  }
  throw new Error("kyc.onchain.revoke needs { applicationId } or { userId, wallet }");
}

export async function revokeEligibility(
  deps: OnchainDeps,
  data: Record<string, unknown>,
  job: JobAttempt,
): Promise<RevokeResult> {
  const target = await revocationTarget(deps.db, data);
  if (!target) return { revoked: [], skipped: 0 };
  const { userId, wallet } = target;
  const result: RevokeResult = { revoked: [], skipped: 0 };
  const deployment = await deps.local.eligibilityChain.deployment();
  const rows = await deps.db
    .select()
    .from(kycOnchainRegistrations)
    .where(
      and(
        eq(kycOnchainRegistrations.userId, userId),
        eq(kycOnchainRegistrations.chainId, deployment.chainId),
        notInArray(kycOnchainRegistrations.status, ["revoked", ...RECOVERY_STATUSES]),
        wallet === undefined ? undefined : eq(kycOnchainRegistrations.wallet, wallet),
      ),
    );
  const last = job.attempt >= job.attempts;
  const cause =
    typeof data.applicationId === "string" ? `kyc_application:${data.applicationId}` : `wallet_unlinked:${userId}`;
  const errors: string[] = [];
  for (const row of rows) {
    try {
      const outcome = await withWalletLock(deps.db, row.chainId, row.wallet, () =>
        revokeWallet(deps, row, { userId, cause }, job, last),
      );
      if (outcome === "revoked") result.revoked.push(row.wallet);
      else result.skipped += 1;
    } catch (error) {
      errors.push(`${row.wallet}: ${shortError(error)}`);
    }
  }
  if (errors.length > 0) throw new Error(`on-chain revocation failed for ${errors.join("; ")}`);
  return result;
}

async function revokeWallet(
  deps: OnchainDeps,
  stale: RegistrationRow,
  target: { userId: string; cause: string },
  job: JobAttempt,
  last: boolean,
): Promise<"revoked" | "skipped"> {
  const { userId } = target;
  const [row] = await deps.db.select().from(kycOnchainRegistrations).where(eq(kycOnchainRegistrations.id, stale.id));
  // Re-read under the lock: the wallet moved to another user, or is still (or again) the wallet of
  // an approved investor. A wallet stays eligible exactly while both hold.
  if (!row || row.status === "revoked" || isRecoveryStatus(row.status) || row.userId !== userId) return "skipped";
  if ((await currentApproval(deps.db, userId)) && (await isLinked(deps.db, userId, row.wallet))) {
    return "skipped";
  }
  await updateRow(deps.db, row.id, { attempts: job.attempt });

  let operation: OperationRow | undefined;
  try {
    operation = await recordRevocation(deps, {
      wallet: row.wallet,
      userId,
      identity: row.identityAddress,
      cause: target.cause,
    });
    const [settled] = await settle(deps, [operation]);
    operation = settled ?? operation;
    const failure = failureOf(operation);
    if (failure) throw new Error(failure);
    return "revoked";
  } catch (error) {
    await updateRow(deps.db, row.id, {
      status: last ? "failed" : row.status,
      error: shortError(error),
      ...(operation?.txHash ? { lastTxHash: operation.txHash } : {}),
    });
    throw error;
  }
}
