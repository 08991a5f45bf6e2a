// A token whose events cannot be applied — a holder's balance would go negative (a non-standard
// ERC-20, balances moved without Transfer events), amounts beyond what a uint256 supply allows, or
// the node refuses its opening balances — is
// quarantined: left out of every batch from then on, with its reason stored, so that one bad token
// cannot stop the indexing of all the others (every batch covers every token). An operator sees it
// (system.indexer, kit_indexer_quarantined_tokens) and resets it once the cause is fixed (index-reset.ts).
import type pg from "pg";
import type { DecodedLogs, StateLog, TransferLog } from "./chain-reader";
import type { IndexerContext } from "./indexer-context";
import { observeQuarantined, reportStatus } from "./indexer-progress";
import type { TokenRow } from "./indexer-sources";
import { OpeningReadError, readOpeningBalances } from "./opening";
import {
  insertOpeningBalances,
  insertTokens,
  insertTransfers,
  inTransaction,
  type NewToken,
  type OpeningBalance,
  transferDeltas,
} from "./store";
import type { Checkpoint } from "./store-checkpoint";
import { insertStateEvents } from "./store-state";

interface TokenFault {
  token: string;
  reason: string;
}

const REASON_MAX = 500;

/** The batch failed on `token_balances_balance_check`: some holder's balance would go below zero. */
function isNegativeBalanceError(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === "23514" && e.constraint === "token_balances_balance_check";
}

/**
 * A failure the batch's data itself caused (SQLSTATE classes 22, data exception, and 23, integrity
 * constraint), as opposed to a lost connection or a moved checkpoint.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}

/**
 * After a batch failed on the balance check (and rolled back): the tokens whose transfers, added
 * to what is stored and to the opening balances the batch would have stored, leave a holder below
 * zero. One fault per token, naming the first such holder.
 */
async function findNegativeBalances(
  client: pg.ClientBase,
  chainId: number,
  transfers: Pick<TransferLog, "token" | "from" | "to" | "amount" | "blockNumber">[],
  openings: OpeningBalance[],
): Promise<TokenFault[]> {
  const { balances } = transferDeltas(transfers);
  const opening = new Map(openings.map((o) => [`${o.token}${o.holder}`, o]));
  const net = balances.map((d) => ({
    ...d,
    delta: d.delta + BigInt(opening.get(`${d.token}${d.holder}`)?.balance ?? 0),
  }));
  const { rows } = await client.query<{ token: string; holder: string; stored: string; block: string; delta: string }>(
    `select d.token, d.holder, coalesce(b.balance, 0)::text as stored, d.block::text, d.delta::text
     from unnest($2::text[], $3::text[], $4::numeric[], $5::bigint[]) as d(token, holder, delta, block)
     left join token_balances b on b.chain_id = $1 and b.token = d.token and b.holder = d.holder
     where coalesce(b.balance, 0) + d.delta < 0
     order by d.token, d.block, d.holder`,
    [
      chainId,
      net.map((d) => d.token),
      net.map((d) => d.holder),
      net.map((d) => d.delta.toString()),
      net.map((d) => d.block),
    ],
  );
  const faults = new Map<string, TokenFault>();
  for (const row of rows) {
    if (faults.has(row.token)) continue;
    const opened = opening.get(`${row.token}${row.holder}`);
    const held = opened
      ? `${opened.balance} read from the chain at block ${opened.block}`
      : `${row.stored} from its indexed transfers`;
    const after = BigInt(row.stored) + BigInt(row.delta);
    faults.set(row.token, {
      token: row.token,
      reason:
        `holder ${row.holder} would hold ${after} after block ${row.block} (it held ${held}): the token's Transfer events do not account for its balances (not a standard ERC-20?)`.slice(
          0,
          REASON_MAX,
        ),
    });
  }
  return [...faults.values()];
}

/**
 * The tokens whose part of a failed batch fails on its own, for failures findNegativeBalances does
 * not explain: each token's writes are tried alone, in a transaction that is always rolled back.
 */
async function findFailingTokens(
  client: pg.ClientBase,
  chainId: number,
  batch: { transfers: TransferLog[]; states: StateLog[]; openings: OpeningBalance[] },
): Promise<TokenFault[]> {
  const tokens = new Set([...batch.transfers.map((t) => t.token), ...batch.openings.map((o) => o.token)]);
  const faults: TokenFault[] = [];
  for (const token of tokens) {
    await client.query("begin");
    try {
      await insertOpeningBalances(
        client,
        chainId,
        batch.openings.filter((o) => o.token === token),
      );
      await insertTransfers(
        client,
        chainId,
        batch.transfers.filter((t) => t.token === token),
      );
      await insertStateEvents(
        client,
        chainId,
        batch.states.filter((s) => s.contract === token),
      );
    } catch (error) {
      if (!isDataError(error)) throw error;
      // A driver message names tables and constraints, never hosts or keys.
      const message = (error as Error).message.split("\n")[0];
      faults.push({ token, reason: `its events cannot be stored: ${message}`.slice(0, REASON_MAX) });
    } finally {
      await client.query("rollback").catch(() => {});
    }
  }
  return faults;
}

/**
 * Marks tokens quarantined (those already quarantined keep their first reason). A token followed
 * with the others is complete up to `completeTo` (the checkpoint): it becomes its catch-up block,
 * which is what `tokens.get` reports as its indexed block.
 */
async function quarantineTokens(
  client: pg.ClientBase,
  chainId: number,
  faults: TokenFault[],
  completeTo: number,
): Promise<void> {
  if (faults.length === 0) return;
  await client.query(
    `update tokens t set quarantined_at = now(), quarantine_reason = f.reason, updated_at = now(),
       catch_up_block = coalesce(t.catch_up_block, $4)
     from unnest($2::text[], $3::text[]) as f(token, reason)
     where t.chain_id = $1 and t.address = f.token and t.quarantined_at is null`,
    [chainId, faults.map((f) => f.token), faults.map((f) => f.reason.slice(0, REASON_MAX)), completeTo],
  );
}

/** Attempts in a row the node may refuse a token's opening balances before it is quarantined. */
const OPENING_READ_ATTEMPTS = 3;

/**
 * The opening balances a batch of `tokens` needs (see opening.ts); undefined when a token was
 * quarantined instead (the node kept refusing them), and the batch is to be read again.
 */
export async function readOpenings(
  ctx: IndexerContext,
  client: pg.Client,
  cp: Checkpoint,
  tokens: TokenRow[],
  decoded: DecodedLogs,
): Promise<OpeningBalance[] | undefined> {
  const openingBlocks = new Map<string, number>();
  for (const t of tokens) if (t.openingBlock !== null) openingBlocks.set(t.address, t.openingBlock);
  try {
    const openings = await readOpeningBalances(ctx.reader, client, ctx.chainId, openingBlocks, decoded);
    ctx.openingRefusals.clear();
    return openings;
  } catch (error) {
    if (!(error instanceof OpeningReadError)) throw error;
    const attempts = (ctx.openingRefusals.get(error.token) ?? 0) + 1;
    ctx.openingRefusals.set(error.token, attempts);
    // A refusal may be a passing one: retried (with the usual backoff) a few times first.
    if (attempts < OPENING_READ_ATTEMPTS) throw error;
    ctx.openingRefusals.delete(error.token);
    await quarantineFaults(ctx, client, cp, [{ token: error.token, reason: error.reason }], []);
    return undefined;
  }
}

/**
 * After a batch failed on its own data: quarantines the tokens that caused it (true: read the
 * batch again without them) — those leaving a holder below zero, else those whose writes fail
 * on their own.
 */
export async function isolateFaults(
  ctx: IndexerContext,
  client: pg.Client,
  error: unknown,
  cp: Checkpoint,
  batch: Pick<DecodedLogs, "transfers" | "states"> & { openings: OpeningBalance[] },
  newTokens: NewToken[] = [],
): Promise<boolean> {
  if (!isDataError(error)) return false;
  let faults = isNegativeBalanceError(error)
    ? await findNegativeBalances(client, ctx.chainId, batch.transfers, batch.openings)
    : [];
  if (faults.length === 0) faults = await findFailingTokens(client, ctx.chainId, batch);
  if (faults.length === 0) return false;
  await quarantineFaults(ctx, client, cp, faults, newTokens);
  return true;
}

/** Takes tokens out of indexing, with their reasons; tokens found in the failed batch are kept. */
async function quarantineFaults(
  ctx: IndexerContext,
  client: pg.Client,
  cp: Checkpoint,
  faults: TokenFault[],
  newTokens: NewToken[],
) {
  ctx.prefetched = undefined;
  await inTransaction(client, async () => {
    // A factory's token deployed in the failed range: stored now, so that it can be quarantined
    // (and the others are not looked for again).
    await insertTokens(client, ctx.chainId, newTokens);
    await quarantineTokens(client, ctx.chainId, faults, cp.blockNumber);
  });
  for (const fault of faults)
    ctx.log.warn(
      { token: fault.token, reason: fault.reason },
      "token quarantined: left out of indexing until `bun run kit indexer:reset --token` (the others go on)",
    );
  observeQuarantined(ctx, ctx.state.quarantinedTokens + faults.length);
  reportStatus(ctx, true);
}
