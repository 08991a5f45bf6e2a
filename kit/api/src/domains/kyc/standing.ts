// What other domains may know of a user's KYC and of Kit's eligibility work on a wallet: statuses
// and dates, never the application's personal data. Wired into `deps.queries` (runtime.ts), so the
// token operations can ask without importing kyc.
import { and, desc, eq, isNull } from "drizzle-orm";
import type { KycStanding, WalletRegistration } from "../../deps";
import type { Database } from "../../infra/db";
import { kycApplications, kycOnchainRegistrations } from "./schema";

/**
 * The latest application not erased decides: one application is open at a time, and a new one
 * starts only after the last closed (an erased one was a draft or closed).
 */
export async function kycStanding({ db }: { db: Database }, userId: string): Promise<KycStanding> {
  const [latest] = await db
    .select({ status: kycApplications.status, expiresAt: kycApplications.expiresAt })
    .from(kycApplications)
    .where(and(eq(kycApplications.userId, userId), isNull(kycApplications.erasedAt)))
    .orderBy(desc(kycApplications.createdAt), desc(kycApplications.id))
    .limit(1);
  if (!latest) return { status: "none", approved: false, expiresAt: null };
  const approved = latest.status === "approved" && latest.expiresAt !== null && latest.expiresAt > new Date();
  return { status: latest.status, approved, expiresAt: latest.expiresAt };
}

export async function walletRegistration(
  { db }: { db: Database },
  chainId: number,
  wallet: string,
): Promise<WalletRegistration | null> {
  const [row] = await db
    .select({
      userId: kycOnchainRegistrations.userId,
      status: kycOnchainRegistrations.status,
      identity: kycOnchainRegistrations.identityAddress,
    })
    .from(kycOnchainRegistrations)
    .where(and(eq(kycOnchainRegistrations.chainId, chainId), eq(kycOnchainRegistrations.wallet, wallet.toLowerCase())));
  return row ? { ...row, identity: row.identity?.toLowerCase() ?? null } : null;
}
