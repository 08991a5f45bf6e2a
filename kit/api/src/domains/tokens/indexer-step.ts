// One step of the active indexer: check the checkpoint's block hash against the chain (a reorg:
// indexer-reorg.ts), let tokens added behind the checkpoint catch up, or read headers then logs of
// the next range, check that they belong to one chain linked to the checkpoint, and commit
// transfers, balances, state, block hashes and the checkpoint in one transaction. Only then publish.
import type pg from "pg";
import { type BlockHeader, type DecodedLogs, decodeLogs, type TransferLog, ZERO_HASH } from "./chain-reader";
import { publishTokenEvents } from "./events";
import type { ContractRoles, IndexerContext, RangeRead } from "./indexer-context";
import { observeCommitted, observeHead, observeQuarantined, reportProgress } from "./indexer-progress";
import { linksToCheckpoint, logsMatchHeaders, rollBackReorg } from "./indexer-reorg";
import { readTokenRows, suiteToken, type TokenRow } from "./indexer-sources";
import { isolateFaults, readOpenings } from "./quarantine";
import {
  insertOpeningBalances,
  insertTokens,
  insertTransfers,
  inTransaction,
  type NewToken,
  type OpeningBalance,
} from "./store";
import { type Checkpoint, moveCheckpoint, recentBlocks, recordBlocks } from "./store-checkpoint";
import { insertStateEvents } from "./store-state";

/** One unit of work; false when there was nothing to do (the caller then waits a poll interval). */
export async function step(ctx: IndexerContext, client: pg.Client): Promise<boolean> {
  const all = await readTokenRows(ctx, client);
  // Quarantined tokens are in no batch: the others go on without them.
  const tokens = all.filter((t) => !t.quarantined);
  observeQuarantined(ctx, all.length - tokens.length);
  const head = await ctx.reader.head();
  observeHead(ctx, head);

  const cp = ctx.checkpoint ?? (await startCheckpoint(ctx, client, tokens, head));
  if (!cp) return false;

  if (cp.blockNumber >= 0) {
    const current = await ctx.reader.header(cp.blockNumber);
    if (current?.hash !== cp.blockHash) {
      await rollBackReorg(ctx, client, cp);
      return true;
    }
  }

  const catchingUp = tokens.filter((t) => t.catchUpBlock !== null);
  if (catchingUp.length > 0) {
    await catchUp(ctx, client, cp, catchingUp);
    return true;
  }

  const target = head - ctx.deps.config.indexer.confirmations;
  if (cp.blockNumber >= target) {
    reportProgress(ctx, false);
    return false;
  }
  const followed = tokens.filter((t) => t.catchUpBlock === null);
  return indexNextRange(ctx, client, { cp, head, target, known: all, followed });
}

/**
 * The first checkpoint: the block before the earliest start of a token followed or a factory.
 * undefined while there is nothing to follow, or the chain has not reached that block.
 */
async function startCheckpoint(
  ctx: IndexerContext,
  client: pg.Client,
  tokens: TokenRow[],
  head: number,
): Promise<Checkpoint | undefined> {
  const starts = [
    ...tokens.filter((t) => t.catchUpBlock === null).map((t) => t.deploymentBlock),
    ...ctx.factories.map((f) => f.startBlock),
  ];
  if (starts.length === 0) return undefined;
  const start = Math.min(...starts);
  // A start block the chain has not reached yet: wait for it.
  if (start - 1 > head) return undefined;
  const header = start > 0 ? await ctx.reader.header(start - 1) : undefined;
  const cp: Checkpoint = { blockNumber: start - 1, blockHash: header?.hash ?? ZERO_HASH };
  await inTransaction(client, async () => {
    await moveCheckpoint(client, ctx.chainId, undefined, cp);
    if (header) await recordBlocks(client, ctx.chainId, [header], 0);
  });
  ctx.checkpoint = cp;
  ctx.progress = { at: performance.now(), block: cp.blockNumber, events: 0 };
  return cp;
}

interface NextRange {
  cp: Checkpoint;
  head: number;
  /** The newest block to index (the head less the confirmations). */
  target: number;
  /** Every token in the table (quarantined included): a suite's token among them is not new. */
  known: TokenRow[];
  /** The tokens read together, range after range (not catching up, not quarantined). */
  followed: TokenRow[];
}

/**
 * The range after the checkpoint, for the tokens followed: read (or taken from the read-ahead),
 * completed with the tokens their factories deployed in it, committed in one transaction with the
 * checkpoint, then published. false when the range could not be read as one chain (retried).
 */
async function indexNextRange(
  ctx: IndexerContext,
  client: pg.Client,
  { cp, head, target, known, followed }: NextRange,
): Promise<boolean> {
  const started = performance.now();
  const from = cp.blockNumber + 1;
  const roles = contractRoles(ctx, followed, true);
  const rolesKey = [...roles.keys()].sort().join();
  const wanted = { from, to: Math.min(target, cp.blockNumber + ctx.sizer.size), rolesKey };
  const range = await takeRange(ctx, wanted, head, roles);
  if (!range || !linksToCheckpoint(range.headers, cp)) return false;
  const { to, headers, logs } = range;
  const decoded = decodeLogs(logs, roles);
  const newTokens = await addDeployedTokens(ctx, known, decoded, roles, range);
  if (!newTokens) return true;

  await fillBlockTimes(ctx, [...decoded.transfers, ...decoded.states], headers);
  const openings = await readOpenings(ctx, client, cp, followed, decoded);
  if (!openings) return true;
  const toHeader = headers.get(to) as BlockHeader;
  const next = { blockNumber: to, blockHash: toHeader.hash };
  const read = performance.now();
  if (to < target && newTokens.length === 0) {
    readAhead(ctx, { from: to + 1, to: Math.min(target, to + ctx.sizer.size), rolesKey }, head, roles);
  }
  const inserted = await commitRange(ctx, client, cp, next, { ...decoded, openings, newTokens, headers });
  if (!inserted) return true;
  ctx.checkpoint = next;
  ctx.log.debug(
    {
      from,
      to,
      logs: logs.length,
      readMs: Math.round(read - started),
      writeMs: Math.round(performance.now() - read),
    },
    "batch committed",
  );
  if (newTokens.length > 0)
    ctx.log.info({ tokens: newTokens.map((t) => `${t.symbol} ${t.address}`) }, "tokens deployed by a factory");
  await publishTransfers(ctx, inserted);
  observeCommitted(ctx, started, to - from + 1, inserted.length, decoded.states.length, head);
  return true;
}

/** A range of blocks for a set of contracts (`rolesKey`: their addresses, sorted). */
interface WantedRange {
  from: number;
  to: number;
  rolesKey: string;
}

/** The range read ahead while the previous batch was written, if it is the one wanted now; else read now. */
async function takeRange(
  ctx: IndexerContext,
  wanted: WantedRange,
  head: number,
  roles: ContractRoles,
): Promise<RangeRead | undefined> {
  const prefetched = ctx.prefetched;
  ctx.prefetched = undefined;
  return prefetched && prefetched.from === wanted.from && prefetched.rolesKey === wanted.rolesKey
    ? await prefetched.range
    : await readRange(ctx, wanted.from, wanted.to, head, roles);
}

/** Starts reading the next range while this one is written (discarded on a reorg or a new token). */
function readAhead(ctx: IndexerContext, next: WantedRange, head: number, roles: ContractRoles): void {
  ctx.prefetched = {
    from: next.from,
    rolesKey: next.rolesKey,
    range: readRange(ctx, next.from, next.to, head, roles).catch(() => undefined),
  };
}

/**
 * Suites deployed in this range: their tokens exist from that block on; read them now, and their
 * logs up to the range's end into `decoded`, so that the batch has all of them. undefined when
 * those logs are not of the headers read (a reorg: the step is retried).
 */
async function addDeployedTokens(
  ctx: IndexerContext,
  known: TokenRow[],
  decoded: DecodedLogs,
  roles: ContractRoles,
  { to, headers }: RangeRead,
): Promise<NewToken[] | undefined> {
  const seen = new Set(known.map((t) => t.address));
  const newTokens: NewToken[] = [];
  for (const suite of decoded.suites) {
    if (seen.has(suite.token)) continue;
    seen.add(suite.token);
    newTokens.push(await suiteToken(ctx.reader, suite, to, null));
  }
  if (newTokens.length > 0) {
    const extraRoles = contractRoles(
      ctx,
      newTokens.map((t) => ({ ...t, catchUpBlock: null })),
      false,
    );
    for (const address of roles.keys()) extraRoles.delete(address);
    const since = Math.min(...newTokens.map((t) => t.deploymentBlock));
    const extraLogs = await ctx.reader.logsAdaptive([...extraRoles.keys()], since, to);
    if (!logsMatchHeaders(extraLogs, headers)) return undefined;
    const extra = decodeLogs(extraLogs, extraRoles);
    decoded.transfers.push(...extra.transfers);
    decoded.states.push(...extra.states);
  }
  return newTokens;
}

/**
 * One range's rows in one transaction, the checkpoint moved last (fenced on `cp`): the transfers
 * inserted, or undefined when the batch failed on its own data and its faulty tokens were
 * quarantined instead (the range is read again without them).
 */
async function commitRange(
  ctx: IndexerContext,
  client: pg.Client,
  cp: Checkpoint,
  next: Checkpoint,
  batch: Pick<DecodedLogs, "transfers" | "states"> & {
    openings: OpeningBalance[];
    newTokens: NewToken[];
    headers: Map<number, BlockHeader>;
  },
): Promise<TransferLog[] | undefined> {
  const { reorgWindow } = ctx.deps.config.indexer;
  return inTransaction(client, async () => {
    await insertTokens(client, ctx.chainId, batch.newTokens);
    await insertOpeningBalances(client, ctx.chainId, batch.openings);
    const transfers = await insertTransfers(client, ctx.chainId, batch.transfers);
    await insertStateEvents(client, ctx.chainId, batch.states);
    await recordBlocks(client, ctx.chainId, [...batch.headers.values()], next.blockNumber - reorgWindow);
    await moveCheckpoint(client, ctx.chainId, cp, next);
    return transfers;
  }).catch(async (error) => {
    if (await isolateFaults(ctx, client, error, cp, batch, batch.newTokens)) return undefined;
    throw error;
  });
}

/**
 * Headers first, logs second: a reorg in between shows as a log whose block hash is not the
 * header's, or (for a block that had logs and now has none) as a checkpoint hash the chain no
 * longer has at the next step. undefined when the two disagree (the caller retries).
 */
async function readRange(
  ctx: IndexerContext,
  from: number,
  to: number,
  head: number,
  roles: ContractRoles,
): Promise<RangeRead | undefined> {
  const numbers = new Set<number>([from, to]);
  for (let n = Math.max(from, head - ctx.deps.config.indexer.reorgWindow); n <= to; n++) numbers.add(n);
  const headers = await ctx.reader.headers([...numbers].sort((a, b) => a - b));
  if (!headers.has(from) || !headers.has(to)) return undefined;
  const logs = await ctx.reader.logsAdaptive([...roles.keys()], from, to, ctx.sizer);
  if (!logsMatchHeaders(logs, headers)) return undefined;
  return { to, headers, logs };
}

/** Tokens added behind the checkpoint read their own history up to it, then join the others. */
async function catchUp(ctx: IndexerContext, client: pg.Client, cp: Checkpoint, catchingUp: TokenRow[]): Promise<void> {
  const from = Math.min(...catchingUp.map((t) => t.catchUpBlock as number)) + 1;
  const to = Math.min(cp.blockNumber, from + ctx.sizer.size - 1);
  const roles = contractRoles(
    ctx,
    catchingUp.map((t) => ({ ...t, catchUpBlock: null })),
    false,
  );
  const logs = from <= to ? await ctx.reader.logsAdaptive([...roles.keys()], from, to, ctx.sizer) : [];
  const decoded = decodeLogs(logs, roles);
  await fillBlockTimes(ctx, [...decoded.transfers, ...decoded.states], new Map());
  const openings = await readOpenings(ctx, client, cp, catchingUp, decoded);
  if (!openings) return;
  const recorded = new Map((await recentBlocks(client, ctx.chainId, to)).map((b) => [b.number, b.hash]));
  // Blocks behind the checkpoint whose hash we know must still be those blocks.
  if (
    logs.some(
      (l) => recorded.has(Number(l.blockNumber)) && recorded.get(Number(l.blockNumber)) !== l.blockHash.toLowerCase(),
    )
  )
    return;
  const inserted = await inTransaction(client, async () => {
    await insertOpeningBalances(client, ctx.chainId, openings);
    const transfers = await insertTransfers(client, ctx.chainId, decoded.transfers);
    await insertStateEvents(client, ctx.chainId, decoded.states);
    await client.query(
      `update tokens set catch_up_block = case when $3::bigint >= $4::bigint then null else $3::bigint end
       where chain_id = $1 and address = any($2::text[]) and catch_up_block is not null`,
      [ctx.chainId, catchingUp.map((t) => t.address), to, cp.blockNumber],
    );
    return transfers;
  }).catch(async (error) => {
    if (await isolateFaults(ctx, client, error, cp, { ...decoded, openings })) return undefined;
    throw error;
  });
  if (!inserted) return;
  await publishTransfers(ctx, inserted);
  ctx.log.info(
    { tokens: catchingUp.map((t) => t.address), to, checkpoint: cp.blockNumber, transfers: inserted.length },
    to >= cp.blockNumber ? "tokens caught up" : "tokens catching up",
  );
}

function contractRoles(
  ctx: IndexerContext,
  tokens: Pick<TokenRow, "address" | "identityRegistry">[],
  withFactories: boolean,
) {
  const roles = new Map<string, "token" | "registry" | "factory">();
  for (const token of tokens) {
    roles.set(token.address, "token");
    if (token.identityRegistry) roles.set(token.identityRegistry, "registry");
  }
  if (withFactories) for (const factory of ctx.factories) roles.set(factory.address, "factory");
  return roles;
}

/** Block times the logs did not carry (transfers and state events): from the headers read, else fetched now. */
async function fillBlockTimes(
  ctx: IndexerContext,
  transfers: { blockNumber: number; blockTime: number | null }[],
  headers: Map<number, BlockHeader>,
): Promise<void> {
  const missing = new Set<number>();
  for (const t of transfers) if (t.blockTime === null && !headers.has(t.blockNumber)) missing.add(t.blockNumber);
  const fetched = missing.size > 0 ? await ctx.reader.headers([...missing]) : new Map<number, BlockHeader>();
  for (const t of transfers) {
    t.blockTime ??= (headers.get(t.blockNumber) ?? fetched.get(t.blockNumber))?.timestamp ?? null;
  }
}

async function publishTransfers(ctx: IndexerContext, transfers: TransferLog[]): Promise<void> {
  if (transfers.length === 0) return;
  const byToken = new Map<string, TransferLog[]>();
  for (const transfer of transfers) {
    const list = byToken.get(transfer.token);
    if (list) list.push(transfer);
    else byToken.set(transfer.token, [transfer]);
  }
  await publishTokenEvents(
    ctx.deps,
    [...byToken].map(([token, list]) => ({
      type: "transfers",
      chainId: ctx.chainId,
      token,
      transfers: list.map(({ txHash, logIndex, blockNumber, from, to, amount }) => ({
        txHash,
        logIndex,
        blockNumber,
        from,
        to,
        amount,
      })),
    })),
  );
}
