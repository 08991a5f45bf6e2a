// Kit's side of on-chain eligibility: who is approved, which wallets are linked, the per-wallet lock
// every eligibility job takes, and the rows (kyc_onchain_registrations) the jobs and the outbox's
// announcements (onchain-settled.ts) keep up to date. No chain call here.
import { and, desc, eq, gt, inArray, sql } from "drizzle-orm";
import { type Abi, type Address, BaseError, type Hex, keccak256, stringToHex } from "viem";
import type { Config } from "../../config";
import type { ProcessLocal } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { listWalletAddresses } from "../auth/wallets";
import type { ConfirmerDeps } from "../operations/confirmer";
import { type OnchainRegistrationStatus, RECOVERY_STATUSES } from "./contract-values";
import type { EligibilityChain } from "./eligibility-chain";
import { kycApplications, kycOnchainRegistrations } from "./schema";

/** What the eligibility jobs use: their own records, and the outbox they send through. */
export interface OnchainDeps extends ConfirmerDeps {
  config: Pick<Config, "chain" | "operations">;
  db: Database;
  log: Logger;
  local: Pick<ProcessLocal, "eligibilityChain">;
}

export type RegistrationRow = typeof kycOnchainRegistrations.$inferSelect;

export interface JobAttempt {
  attempt: number;
  attempts: number;
}

/**
 * The claim's public data: opaque, and different for each approval. A new approval therefore signs
 * a new claim (replacing the old one under the same claim id) even if the issuer revoked an earlier
 * signature with `revokeClaimBySignature`.
 */
export function claimDataFor(applicationId: string): Hex {
  return keccak256(stringToHex(`kit-kyc:${applicationId}`));
}

/** The user's approved, unexpired application, if any (Postgres, not the cached standing). */
export async function currentApproval(db: Database, userId: string) {
  const [row] = await db
    .select()
    .from(kycApplications)
    .where(
      and(
        eq(kycApplications.userId, userId),
        eq(kycApplications.status, "approved"),
        gt(kycApplications.expiresAt, new Date()),
      ),
    )
    .orderBy(desc(kycApplications.decidedAt))
    .limit(1);
  return row;
}

/** The user's linked wallets, lowercase. */
export async function linkedWallets(db: Database, userId: string): Promise<string[]> {
  return [...new Set((await listWalletAddresses({ db }, userId)).map((address) => address.toLowerCase()))];
}

/** Whether `wallet` (lowercase) is still linked to `userId`: jobs act only on linked wallets. */
export async function isLinked(db: Database, userId: string, wallet: string): Promise<boolean> {
  return (await linkedWallets(db, userId)).includes(wallet);
}

/**
 * Jobs touching one wallet take turns; the lock ends with the transaction (or the connection).
 * With `waitMs`, a wait longer than that fails with PG_LOCK_NOT_AVAILABLE instead of going on.
 */
export async function withWalletLock<T>(
  db: Database,
  chainId: number,
  wallet: string,
  work: () => Promise<T>,
  options: { waitMs?: number } = {},
): Promise<T> {
  return db.transaction(async (tx) => {
    if (options.waitMs !== undefined)
      await tx.execute(sql.raw(`set local lock_timeout = ${Math.ceil(options.waitMs)}`));
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`kyc-onchain:${chainId}:${wallet}`}, 0))`);
    return work();
  });
}

/** A wallet a recovery holds, or moved the registration away from (recovery.ts): eligibility leaves it alone. */
export async function heldByRecovery(db: Database, chainId: number, wallet: string): Promise<boolean> {
  const [row] = await db
    .select({ id: kycOnchainRegistrations.id })
    .from(kycOnchainRegistrations)
    .where(
      and(
        eq(kycOnchainRegistrations.chainId, chainId),
        eq(kycOnchainRegistrations.wallet, wallet),
        inArray(kycOnchainRegistrations.status, [...RECOVERY_STATUSES]),
      ),
    );
  return row !== undefined;
}

export const isRecoveryStatus = (status: OnchainRegistrationStatus) =>
  (RECOVERY_STATUSES as readonly OnchainRegistrationStatus[]).includes(status);

export async function updateRow(db: Database, id: string, set: Partial<RegistrationRow>): Promise<void> {
  await db
    .update(kycOnchainRegistrations)
    .set({ ...set, updatedAt: new Date() })
    .where(eq(kycOnchainRegistrations.id, id));
}

/** For operators: short, and without signatures or calldata (long hex) that viem puts in messages. */
export function shortError(error: unknown): string {
  const message =
    error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
  return message
    .replace(/0x[0-9a-fA-F]{65,}/g, "0x…")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

export const read = <T>(
  chain: EligibilityChain,
  call: { address: Address; abi: Abi; functionName: string; args: unknown[] },
) => chain.clients.publicClient.readContract(call as never) as Promise<T>;
