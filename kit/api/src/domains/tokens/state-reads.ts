// Reads of the ERC-3643 state the indexer derives (store-state.ts): identity registrations, the
// token's pause and freeze events, frozen holders, a wallet's frozen state. Keyset-paginated like
// every listing (cursor.ts); who may read is the caller's decision (operations/state-router.ts).
import { and, asc, desc, eq, gt, inArray, lt, or, sql } from "drizzle-orm";
import { getAddress } from "viem";
import { decodeCursor, encodeCursor } from "../../cursor";
import type { Database } from "../../infra/db";
import { STATE_HISTORY_KINDS } from "./contract-values";
import { identityRegistrations, tokenBalances, tokenStateEvents, tokens } from "./schema";
import { amountOf } from "./service";
import type { StateEvent } from "./state-contract";

interface Page {
  cursor?: string;
  limit: number;
}
interface IndexedToken {
  chainId: number;
  address: string;
  decimals: number;
  identityRegistry: string | null;
}

const ADDRESS = /^0x[0-9a-f]{40}$/;
const BLOCK = /^\d{1,15}$/;
const LOG_INDEX = /^\d{1,9}$/;

function paged<R, T>(rows: R[], limit: number, present: (row: R) => T, cursorOf: (row: R) => string[]) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(present), nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null };
}

/** The wallets of the token's identity registry, by wallet (none for a token without one). */
export async function listRegistrations(deps: { db: Database }, token: IndexedToken, input: Page) {
  if (!token.identityRegistry) return { items: [], nextCursor: null };
  const after = input.cursor ? decodeCursor(input.cursor, [ADDRESS])[0] : undefined;
  const rows = await deps.db
    .select()
    .from(identityRegistrations)
    .where(
      and(
        eq(identityRegistrations.chainId, token.chainId),
        eq(identityRegistrations.registry, token.identityRegistry),
        after ? gt(identityRegistrations.wallet, after) : undefined,
      ),
    )
    .orderBy(asc(identityRegistrations.wallet))
    .limit(input.limit + 1);
  return paged(
    rows,
    input.limit,
    (r) => ({
      wallet: getAddress(r.wallet),
      identity: getAddress(r.identity),
      registered: r.registered,
      updatedBlock: String(r.updatedBlock),
    }),
    (r) => [r.wallet],
  );
}

/** The token's pause and freeze events, newest first; the cursor is the last one's (block, log index). */
export async function listStateHistory(deps: { db: Database }, token: IndexedToken, input: Page) {
  const after = input.cursor ? decodeCursor(input.cursor, [BLOCK, LOG_INDEX]).map(Number) : undefined;
  const e = tokenStateEvents;
  const rows = await deps.db
    .select()
    .from(e)
    .where(
      and(
        eq(e.chainId, token.chainId),
        eq(e.contract, token.address),
        inArray(e.kind, [...STATE_HISTORY_KINDS]),
        after
          ? or(
              lt(e.blockNumber, after[0] as number),
              and(eq(e.blockNumber, after[0] as number), lt(e.logIndex, after[1] as number)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(e.blockNumber), desc(e.logIndex))
    .limit(input.limit + 1);
  return paged(
    rows,
    input.limit,
    (r): StateEvent => ({
      kind: r.kind as StateEvent["kind"],
      wallet: r.subject ? getAddress(r.subject) : null,
      amount:
        (r.kind === "tokens_frozen" || r.kind === "tokens_unfrozen") && r.value
          ? amountOf(r.value, token.decimals)
          : null,
      blockNumber: String(r.blockNumber),
      blockTime: r.blockTime?.toISOString() ?? null,
      transactionHash: r.txHash,
      logIndex: r.logIndex,
    }),
    (r) => [String(r.blockNumber), String(r.logIndex)],
  );
}

const isFrozen = sql`(${tokenBalances.frozen} or ${tokenBalances.frozenAmount} > 0)`;

/** Holders frozen whole or in part, by address. */
export async function listFrozenHolders(deps: { db: Database }, token: IndexedToken, input: Page) {
  const after = input.cursor ? decodeCursor(input.cursor, [ADDRESS])[0] : undefined;
  const rows = await deps.db
    .select()
    .from(tokenBalances)
    .where(
      and(
        eq(tokenBalances.chainId, token.chainId),
        eq(tokenBalances.token, token.address),
        isFrozen,
        after ? gt(tokenBalances.holder, after) : undefined,
      ),
    )
    .orderBy(asc(tokenBalances.holder))
    .limit(input.limit + 1);
  return paged(
    rows,
    input.limit,
    (r) => ({
      address: getAddress(r.holder),
      frozen: r.frozen,
      frozenAmount: amountOf(r.frozenAmount, token.decimals),
      balance: amountOf(r.balance, token.decimals),
    }),
    (r) => [r.holder],
  );
}

/**
 * The wallet's state on every token it has a row for (it held, holds, or was frozen), by token;
 * `onlyTokens` narrows it (an issuer looking at someone else's wallet sees the tokens granted to them).
 */
export async function listWalletFrozenState(
  deps: { db: Database },
  chainId: number,
  input: Page & { address: string; onlyTokens?: string[] },
) {
  const after = input.cursor ? decodeCursor(input.cursor, [ADDRESS])[0] : undefined;
  if (input.onlyTokens?.length === 0) return { items: [], nextCursor: null };
  const rows = await deps.db
    .select({ balance: tokenBalances, symbol: tokens.symbol, decimals: tokens.decimals })
    .from(tokenBalances)
    .innerJoin(tokens, and(eq(tokens.chainId, tokenBalances.chainId), eq(tokens.address, tokenBalances.token)))
    .where(
      and(
        eq(tokenBalances.chainId, chainId),
        eq(tokenBalances.holder, input.address.toLowerCase()),
        input.onlyTokens ? inArray(tokenBalances.token, input.onlyTokens) : undefined,
        after ? gt(tokenBalances.token, after) : undefined,
      ),
    )
    .orderBy(asc(tokenBalances.token))
    .limit(input.limit + 1);
  return paged(
    rows,
    input.limit,
    ({ balance: r, symbol, decimals }) => ({
      token: getAddress(r.token),
      symbol,
      frozen: r.frozen,
      frozenAmount: amountOf(r.frozenAmount, decimals),
      balance: amountOf(r.balance, decimals),
    }),
    ({ balance: r }) => [r.token],
  );
}
