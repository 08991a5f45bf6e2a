// Reads of what the indexer wrote: tokens, holders, transfers; plus a token's live facts from the
// chain. Pages are keyset pages (the cursor carries the last row's sort key), so a page costs the
// same at any depth and rows inserted meanwhile never shift one. Amounts leave as exact strings.
import { and, asc, desc, eq, gt, inArray, or, type SQL, sql } from "drizzle-orm";
import { type Address, erc20Abi, getAddress, parseAbi } from "viem";
import type { Config } from "../../config";
import { decodeCursor, encodeCursor } from "../../cursor";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { Storage } from "../../infra/storage";
import { formatDecimal } from "../exchange-rates/decimal";
import type { TokenDetail, TokenSummary, Transfer } from "./contract";
import { getTokenMetadata } from "./metadata";
import { indexerCheckpoints, tokenBalances, tokens, tokenTransfers } from "./schema";

export interface TokenReadDeps {
  config: Pick<Config, "chain" | "s3">;
  db: Database;
  chain: Chain;
  redis: Redis;
  storage: Storage;
  log: Logger;
}

export interface TokenLookupDeps {
  config: Pick<Config, "chain">;
  db: Database;
}

type TokenRow = typeof tokens.$inferSelect;
type TransferRow = typeof tokenTransfers.$inferSelect;

const chainIdOf = (deps: { config: Pick<Config, "chain"> }) => deps.config.chain.id;
/** The indexer stores addresses lowercase; answers are checksummed (the input already is). */
const stored = (address: string) => address.toLowerCase();

// ---------------------------------------------------------------------------------------------
// Amounts and cursors

/** `raw / 10^decimals` written out exactly, without trailing zeros ("1.5", "100"). */
function formatAmount(raw: string | bigint, decimals: number): string {
  const text = formatDecimal(BigInt(raw), decimals);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

export const amountOf = (raw: string | bigint, decimals: number) => ({
  raw: BigInt(raw).toString(),
  formatted: formatAmount(raw, decimals),
});

const ADDRESS = /^0x[0-9a-f]{40}$/;
const UINT = /^\d{1,78}$/;
const SMALL_UINT = /^\d{1,15}$/;

// ---------------------------------------------------------------------------------------------
// Tokens

/** The indexed token, or null when Kit does not index it. */
async function findToken(deps: TokenLookupDeps, address: string): Promise<TokenRow | null> {
  const [row] = await deps.db
    .select()
    .from(tokens)
    .where(and(eq(tokens.chainId, chainIdOf(deps)), eq(tokens.address, stored(address))));
  return row ?? null;
}

/**
 * The T-REX tokens the indexer found through Kit's factory on `chainId` (lowercase): Kit made them,
 * so Kit's agent acts on them (KYC freezes). Tokens indexed from INDEXER_TOKENS are not Kit's.
 */
export async function factoryTokenAddresses(deps: { db: Database }, chainId: number): Promise<string[]> {
  const rows = await deps.db
    .select({ address: tokens.address })
    .from(tokens)
    .where(and(eq(tokens.chainId, chainId), eq(tokens.kind, "t-rex"), eq(tokens.discoveredVia, "factory")));
  return rows.map((row) => row.address);
}

function tokenNotFound(address: string): KitError {
  return new KitError("NOT_FOUND", `Kit does not index a token at ${address}; GET /api/tokens lists those it does.`);
}

/** The indexed token, or NOT_FOUND. */
export async function requireToken(deps: TokenLookupDeps, address: string): Promise<TokenRow> {
  const row = await findToken(deps, address);
  if (!row) throw tokenNotFound(address);
  return row;
}

const holderCount = sql<number>`(select count(*)::int from ${tokenBalances} b
  where b.chain_id = ${tokens.chainId} and b.token = ${tokens.address} and b.balance > 0)`;

function summary(row: TokenRow, holders: number): TokenSummary {
  return {
    address: checksum(row.address),
    chainId: row.chainId,
    name: row.name,
    symbol: row.symbol,
    decimals: row.decimals,
    totalSupply: amountOf(row.totalSupply, row.decimals),
    paused: row.kind === "t-rex" ? row.paused : null,
    holders,
  };
}

const checksum = (address: string) => getAddress(address);

export async function listTokens(deps: TokenReadDeps, input: { cursor?: string; limit: number }) {
  const conditions: SQL[] = [eq(tokens.chainId, chainIdOf(deps))];
  if (input.cursor) {
    const [after] = decodeCursor(input.cursor, [ADDRESS]);
    conditions.push(gt(tokens.address, after as string));
  }
  const rows = await deps.db
    .select({ token: tokens, holders: holderCount })
    .from(tokens)
    .where(and(...conditions))
    .orderBy(asc(tokens.address))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => summary(r.token, r.holders)),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.token.address]) : null,
  };
}

const liveAbi = parseAbi(["function paused() view returns (bool)"]);
const CHAIN_READ_TIMEOUT_MS = 3_000;
/**
 * tokens.get is public and costs five node reads: the answer is shared for a few seconds, so the
 * load on the node is bounded per token, not per caller.
 */
const LIVE_FACTS_CACHE_SECONDS = 5;

type LiveFacts = NonNullable<Awaited<ReturnType<typeof readLiveFactsFromChain>>>;

/** The live facts, from a copy at most LIVE_FACTS_CACHE_SECONDS old when there is one. */
async function readLiveFacts(deps: TokenReadDeps, row: TokenRow): Promise<LiveFacts | null> {
  const key = `cache:token-facts:${row.chainId}:${row.address}`;
  const cached = await deps.redis.get(key).catch(() => null);
  if (cached) {
    const facts = JSON.parse(cached) as Omit<LiveFacts, "totalSupply"> & { totalSupply: string };
    return { ...facts, totalSupply: BigInt(facts.totalSupply) };
  }
  const facts = await readLiveFactsFromChain(deps, row);
  if (facts) {
    const copy = JSON.stringify({ ...facts, totalSupply: facts.totalSupply.toString() });
    await deps.redis.set(key, copy, "EX", LIVE_FACTS_CACHE_SECONDS).catch(() => {});
  }
  return facts;
}

/** name, symbol, decimals, totalSupply (and paused for T-REX) from the node; null when it cannot answer. */
async function readLiveFactsFromChain(deps: TokenReadDeps, row: TokenRow) {
  const address = row.address as Address;
  const read = async () => {
    const [name, symbol, decimals, totalSupply, paused] = await Promise.all([
      deps.chain.readContract({ address, abi: erc20Abi, functionName: "name" }),
      deps.chain.readContract({ address, abi: erc20Abi, functionName: "symbol" }),
      deps.chain.readContract({ address, abi: erc20Abi, functionName: "decimals" }),
      deps.chain.readContract({ address, abi: erc20Abi, functionName: "totalSupply" }),
      row.kind === "t-rex"
        ? deps.chain.readContract({ address, abi: liveAbi, functionName: "paused" })
        : Promise.resolve(null),
    ]);
    return { name, symbol, decimals, totalSupply, paused };
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      read(),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), CHAIN_READ_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    deps.log.warn(
      { token: row.address, err: { name: (error as Error)?.name } },
      "could not read a token from the chain; answering indexed values",
    );
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export async function getToken(deps: TokenReadDeps, address: string): Promise<TokenDetail> {
  const row = await requireToken(deps, address);
  const [live, metadata, counted, checkpoint] = await Promise.all([
    readLiveFacts(deps, row),
    getTokenMetadata(deps, row.address),
    deps.db
      .select({ n: sql<number>`count(*)::int` })
      .from(tokenBalances)
      .where(
        and(
          eq(tokenBalances.chainId, row.chainId),
          eq(tokenBalances.token, row.address),
          sql`${tokenBalances.balance} > 0`,
        ),
      ),
    deps.db
      .select({ blockNumber: indexerCheckpoints.blockNumber })
      .from(indexerCheckpoints)
      .where(eq(indexerCheckpoints.chainId, row.chainId)),
  ]);
  const indexed = summary(row, counted[0]?.n ?? 0);
  const indexedBlock = row.catchUpBlock ?? checkpoint[0]?.blockNumber ?? null;
  const base = { indexedBlock: indexedBlock === null ? null : String(indexedBlock), metadata };
  if (!live) return { ...indexed, ...base, source: "index" };
  return {
    ...indexed,
    ...base,
    name: live.name,
    symbol: live.symbol,
    decimals: live.decimals,
    totalSupply: amountOf(live.totalSupply, live.decimals),
    paused: live.paused,
    source: "chain",
  };
}

// ---------------------------------------------------------------------------------------------
// Holders and transfers

export async function listHolders(deps: TokenReadDeps, input: { address: string; cursor?: string; limit: number }) {
  const token = await requireToken(deps, input.address);
  const conditions: (SQL | undefined)[] = [
    eq(tokenBalances.chainId, token.chainId),
    eq(tokenBalances.token, token.address),
    sql`${tokenBalances.balance} > 0`,
  ];
  if (input.cursor) {
    const [balance, holder] = decodeCursor(input.cursor, [UINT, ADDRESS]) as [string, string];
    // The first condition is implied by the second; it is there so that the index scan starts at
    // the cursor's balance instead of filtering every row above it (balance desc, holder asc).
    conditions.push(
      sql`${tokenBalances.balance} <= ${balance}::numeric`,
      or(
        sql`${tokenBalances.balance} < ${balance}::numeric`,
        and(sql`${tokenBalances.balance} = ${balance}::numeric`, gt(tokenBalances.holder, holder)),
      ),
    );
  }
  const rows = await deps.db
    .select({
      holder: tokenBalances.holder,
      balance: tokenBalances.balance,
      frozen: tokenBalances.frozen,
      frozenAmount: tokenBalances.frozenAmount,
    })
    .from(tokenBalances)
    .where(and(...conditions))
    .orderBy(desc(tokenBalances.balance), asc(tokenBalances.holder))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      address: checksum(r.holder),
      balance: amountOf(r.balance, token.decimals),
      frozen: r.frozen,
      frozenAmount: amountOf(r.frozenAmount, token.decimals),
    })),
    nextCursor: rows.length > input.limit && last ? encodeCursor([BigInt(last.balance).toString(), last.holder]) : null,
  };
}

function presentTransfer(row: TransferRow, decimals: number): Transfer {
  return {
    token: checksum(row.token),
    from: checksum(row.from),
    to: checksum(row.to),
    value: amountOf(row.amount, decimals),
    blockNumber: String(row.blockNumber),
    transactionHash: row.txHash,
    logIndex: row.logIndex,
  };
}

/** Rows before the cursor, newest first: (block, log index) is unique on one chain. */
async function transferPage(
  deps: TokenReadDeps,
  where: SQL | undefined,
  input: { cursor?: string; limit: number },
  decimalsOf: (token: string) => Promise<number>,
) {
  const conditions = [eq(tokenTransfers.chainId, chainIdOf(deps)), where];
  if (input.cursor) {
    const [block, logIndex] = decodeCursor(input.cursor, [SMALL_UINT, SMALL_UINT]) as [string, string];
    conditions.push(
      sql`(${tokenTransfers.blockNumber}, ${tokenTransfers.logIndex}) < (${Number(block)}::bigint, ${Number(logIndex)}::int)`,
    );
  }
  const rows = await deps.db
    .select()
    .from(tokenTransfers)
    .where(and(...conditions))
    .orderBy(desc(tokenTransfers.blockNumber), desc(tokenTransfers.logIndex))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  const items = await Promise.all(page.map(async (r) => presentTransfer(r, await decimalsOf(r.token))));
  return {
    items,
    nextCursor:
      rows.length > input.limit && last ? encodeCursor([String(last.blockNumber), String(last.logIndex)]) : null,
  };
}

export async function listTokenTransfers(
  deps: TokenReadDeps,
  input: { address: string; cursor?: string; limit: number },
) {
  const token = await requireToken(deps, input.address);
  return transferPage(deps, eq(tokenTransfers.token, token.address), input, async () => token.decimals);
}

export async function listWalletTransfers(
  deps: TokenReadDeps,
  input: { address: string; cursor?: string; limit: number },
) {
  const wallet = stored(input.address);
  const decimals = new Map<string, Promise<number>>();
  const decimalsOf = (token: string) => {
    let found = decimals.get(token);
    if (!found) {
      found = findToken(deps, token).then((row) => row?.decimals ?? 0);
      decimals.set(token, found);
    }
    return found;
  };
  return transferPage(deps, or(eq(tokenTransfers.from, wallet), eq(tokenTransfers.to, wallet)), input, decimalsOf);
}

// ---------------------------------------------------------------------------------------------
// Balances, for the portfolio

export interface HeldBalance {
  token: string;
  name: string;
  symbol: string;
  decimals: number;
  holder: string;
  balance: string;
}

/** Positive balances of `wallets` (any case), by token then wallet. */
export async function balancesOf(deps: TokenLookupDeps, wallets: string[]): Promise<HeldBalance[]> {
  if (wallets.length === 0) return [];
  const rows = await deps.db
    .select({
      token: tokenBalances.token,
      holder: tokenBalances.holder,
      balance: tokenBalances.balance,
      name: tokens.name,
      symbol: tokens.symbol,
      decimals: tokens.decimals,
    })
    .from(tokenBalances)
    .innerJoin(tokens, and(eq(tokens.chainId, tokenBalances.chainId), eq(tokens.address, tokenBalances.token)))
    .where(
      and(
        eq(tokenBalances.chainId, chainIdOf(deps)),
        inArray(tokenBalances.holder, wallets.map(stored)),
        sql`${tokenBalances.balance} > 0`,
      ),
    )
    .orderBy(asc(tokenBalances.token), asc(tokenBalances.holder));
  return rows.map((r) => ({ ...r, token: checksum(r.token), holder: checksum(r.holder) }));
}
