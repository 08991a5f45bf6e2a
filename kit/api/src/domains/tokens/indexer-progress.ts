// What the indexer tells about itself: its status for /ready, its report for admins (system.indexer),
// its gauges and counters for /metrics, and a progress line in the log while it backfills.
import type { IndexerContext } from "./indexer-context";
import { type IndexerReport, type IndexerStatus, writeIndexerReport } from "./indexer-status";

const PROGRESS_EVERY_MS = 5_000;
/** A gap this large counts as a backfill (progress lines in the log). */
const BACKFILL_BLOCKS = 20;
/** How often the active indexer refreshes its report for admins (more often on failures). */
const REPORT_EVERY_MS = 2_000;

export function indexerStatus(ctx: IndexerContext): IndexerStatus {
  const { role, ready } = ctx.state;
  const state: IndexerStatus["state"] =
    role === "stopped"
      ? "stopped"
      : ctx.failures > 0
        ? "failing"
        : role === "active"
          ? ready
            ? "ok"
            : "behind"
          : role;
  return { ...ctx.state, state };
}

/** The status with the last error (redacted), into Redis for system.indexer; at most every few seconds. */
export function reportStatus(ctx: IndexerContext, force = false): void {
  const now = Date.now();
  if (!force && now - ctx.lastReport < REPORT_EVERY_MS) return;
  ctx.lastReport = now;
  const report: IndexerReport = {
    ...indexerStatus(ctx),
    lastError: ctx.lastError?.message ?? null,
    lastErrorAt: ctx.lastError?.at ?? null,
    reportedAt: new Date(now).toISOString(),
  };
  void writeIndexerReport(ctx.deps.redis, report).catch(() => {});
}

export function observeQuarantined(ctx: IndexerContext, count: number): void {
  ctx.state.quarantinedTokens = count;
  ctx.metrics?.quarantinedTokens.set(count);
}

export function observeHead(ctx: IndexerContext, head: number): void {
  ctx.state.head = head;
  ctx.metrics?.headBlock.set(head);
  updateLag(ctx);
}

function updateLag(ctx: IndexerContext): void {
  const { head } = ctx.state;
  const indexed = ctx.checkpoint?.blockNumber;
  if (head === undefined || indexed === undefined) return;
  const lag = Math.max(0, head - indexed);
  ctx.state.indexedBlock = indexed;
  ctx.state.lagBlocks = lag;
  ctx.state.ready = lag <= ctx.deps.config.indexer.maxLagBlocks + ctx.deps.config.indexer.confirmations;
  ctx.metrics?.indexedBlock.set(indexed);
  ctx.metrics?.lagBlocks.set(lag);
}

export function observeCommitted(
  ctx: IndexerContext,
  started: number,
  blocks: number,
  transfers: number,
  states: number,
  head: number,
): void {
  ctx.metrics?.batches.inc();
  ctx.metrics?.blocks.inc(blocks);
  ctx.metrics?.events.inc({ kind: "transfer" }, transfers);
  ctx.metrics?.events.inc({ kind: "state" }, states);
  ctx.metrics?.batchDuration.observe((performance.now() - started) / 1000);
  ctx.progress.events += transfers + states;
  observeHead(ctx, head);
  reportProgress(ctx, head - (ctx.checkpoint?.blockNumber ?? head) > BACKFILL_BLOCKS);
}

/** Every PROGRESS_EVERY_MS: throughput into the gauge; and a log line while backfilling. */
export function reportProgress(ctx: IndexerContext, backfilling: boolean): void {
  const now = performance.now();
  const seconds = (now - ctx.progress.at) / 1000;
  if (seconds * 1000 < PROGRESS_EVERY_MS) return;
  const block = ctx.checkpoint?.blockNumber ?? 0;
  const blocksPerSecond = (block - ctx.progress.block) / seconds;
  const eventsPerSecond = ctx.progress.events / seconds;
  ctx.state.eventsPerSecond = Math.round(eventsPerSecond);
  ctx.metrics?.eventsPerSecond.set(eventsPerSecond);
  if (backfilling) {
    const left = (ctx.state.head ?? block) - block;
    ctx.log.info(
      {
        block,
        head: ctx.state.head,
        blocksPerSecond: Math.round(blocksPerSecond),
        eventsPerSecond: Math.round(eventsPerSecond),
        etaSeconds: blocksPerSecond > 0 ? Math.round(left / blocksPerSecond) : null,
      },
      "backfilling",
    );
  }
  ctx.progress = { at: now, block, events: 0 };
}
