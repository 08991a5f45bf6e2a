// Reading which wallets a user has linked: for other domains (tokens, KYC eligibility), with no
// dependency on the rest of auth (auth's service queues KYC jobs, so KYC cannot import it).
import { desc, eq, inArray } from "drizzle-orm";
import { getAddress } from "viem";
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

/**
 * Who each wallet is linked to (lowercase address → user id); absent when linked to nobody. Looked
 * up by the stored forms (EIP-55 as linked, or lowercase), so the unique index serves it.
 */
export async function walletOwners({ db }: { db: Database }, addresses: string[]): Promise<Map<string, string>> {
  const lower = [...new Set(addresses.map((a) => a.toLowerCase()))];
  if (lower.length === 0) return new Map();
  const forms = lower.flatMap((a) => [a, getAddress(a)]);
  const rows = await db
    .select({ address: walletAddress.address, userId: walletAddress.userId })
    .from(walletAddress)
    .where(inArray(walletAddress.address, forms));
  return new Map(rows.map((r) => [r.address.toLowerCase(), r.userId]));
}
