// Indexed tokens for tests of the read side, written straight into the indexer's tables (the
// indexer has tests of its own), and wallets linked to test users with a real SIWE signature.

import type { LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { linkWallet } from "../src/domains/auth/service";
import { tokenBalances, tokens, tokenTransfers } from "../src/domains/tokens/schema";
import type { TestKit } from "./kit";
import { signedWalletLink } from "./users";

export const randomAccount = () => privateKeyToAccount(generatePrivateKey());
/** A fresh address, lowercase as the indexer stores it. */
export const randomAddress = () => randomAccount().address.toLowerCase();

export interface TestTokenOptions {
  address?: string;
  name?: string;
  symbol?: string;
  decimals?: number;
  totalSupply?: string;
  paused?: boolean;
  kind?: "t-rex" | "erc20";
}

/** Inserts a token row; returns its address (lowercase). */
export async function insertToken(kit: TestKit, options: TestTokenOptions = {}): Promise<string> {
  const address = (options.address ?? randomAddress()).toLowerCase();
  await kit.deps.db.insert(tokens).values({
    chainId: kit.config.chain.id,
    address,
    name: options.name ?? "Test Bond",
    symbol: options.symbol ?? "TBND",
    decimals: options.decimals ?? 18,
    totalSupply: options.totalSupply ?? "0",
    paused: options.paused ?? false,
    kind: options.kind ?? "t-rex",
    discoveredVia: "config",
    deploymentBlock: 1,
  });
  return address;
}

export async function insertBalances(kit: TestKit, token: string, balances: Record<string, string>): Promise<void> {
  const rows = Object.entries(balances).map(([holder, balance]) => ({
    chainId: kit.config.chain.id,
    token: token.toLowerCase(),
    holder: holder.toLowerCase(),
    balance,
    updatedBlock: 1,
  }));
  if (rows.length > 0) await kit.deps.db.insert(tokenBalances).values(rows);
}

let txCounter = 0;

export interface TestTransfer {
  from: string;
  to: string;
  amount: string;
  blockNumber: number;
  logIndex: number;
}

/** Inserts transfers (each in a transaction of its own); returns their hashes in order. */
export async function insertTransfers(kit: TestKit, token: string, transfers: TestTransfer[]): Promise<string[]> {
  const rows = transfers.map((t) => {
    txCounter += 1;
    return {
      chainId: kit.config.chain.id,
      token: token.toLowerCase(),
      txHash: `0x${txCounter.toString(16).padStart(8, "0")}${"ab".repeat(28)}`,
      logIndex: t.logIndex,
      blockNumber: t.blockNumber,
      blockHash: `0x${t.blockNumber.toString(16).padStart(64, "0")}`,
      from: t.from.toLowerCase(),
      to: t.to.toLowerCase(),
      amount: t.amount,
    };
  });
  if (rows.length > 0) await kit.deps.db.insert(tokenTransfers).values(rows);
  return rows.map((r) => r.txHash);
}

/** Links `account`'s wallet to the user, through the same checks as POST /api/me/wallets. */
export async function linkAccount(kit: TestKit, userId: string, account: LocalAccount): Promise<void> {
  const { message, signature } = await signedWalletLink(kit, account);
  await linkWallet(kit.deps, userId, { message, signature });
}
