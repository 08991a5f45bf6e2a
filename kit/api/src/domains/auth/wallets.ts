// Reading which wallets a user has linked: for other domains (tokens, KYC eligibility), with no
// dependency on the rest of auth (auth's service queues KYC jobs, so KYC cannot import it).
import { desc, eq } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { walletAddress } from "./schema";

/** The addresses (EIP-55 checksummed) of the wallets linked to `userId`, primary first. */
export async function listWalletAddresses({ db }: { db: Database }, userId: string): Promise<string[]> {
  const rows = await db
    .select({ address: walletAddress.address })
    .from(walletAddress)
    .where(eq(walletAddress.userId, userId))
    .orderBy(desc(walletAddress.isPrimary), walletAddress.createdAt);
  return rows.map((r) => r.address);
}
