// Reorgs: a batch is accepted only when its headers link to the checkpoint and to each other and
// its logs carry their headers' hashes; when the checkpoint's block is no longer the chain's, the
// index rolls back to the newest recorded block the chain still has, and subscribers are told.
import type pg from "pg";
import type { BlockHeader, RawLog } from "./chain-reader";
import { ZERO_HASH } from "./chain-reader";
import { publishTokenEvents, type TokenTransfersEvent } from "./events";
import type { IndexerContext } from "./indexer-context";
import { inTransaction } from "./store";
import { type Checkpoint, recentBlocks } from "./store-checkpoint";
import { rollbackTo } from "./store-rollback";

export async function rollBackReorg(ctx: IndexerContext, client: pg.Client, cp: Checkpoint): Promise<void> {
  ctx.prefetched = undefined;
  const recorded = await recentBlocks(client, ctx.chainId, cp.blockNumber);
  let ancestor: Checkpoint | undefined;
  for (let i = 0; i < recorded.length && !ancestor; i += 16) {
    const part = recorded.slice(i, i + 16);
    const chain = await ctx.reader.headers(part.map((b) => b.number));
    const match = part.find((b) => chain.get(b.number)?.hash === b.hash);
    if (match) ancestor = { blockNumber: match.number, blockHash: match.hash };
  }
  if (!ancestor) {
    throw new Error(
      `reorg deeper than the ${recorded.length} recorded blocks below ${cp.blockNumber} (INDEXER_REORG_WINDOW): re-index (stop every indexer, run \`bun run kit indexer:reset --chain-id ${ctx.chainId}\`, start them again)`,
    );
  }
  const common = ancestor;
  const result = await inTransaction(client, () => rollbackTo(client, ctx.chainId, common, cp));
  ctx.checkpoint = common;
  ctx.metrics?.reorgs.inc();
  ctx.metrics?.indexedBlock.set(common.blockNumber);
  ctx.log.warn(
    {
      from: cp.blockNumber,
      ancestor: common.blockNumber,
      depth: cp.blockNumber - common.blockNumber,
      transfersRemoved: [...result.removed.values()].reduce((a, b) => a + b, 0),
      tokensForgotten: result.forgottenTokens,
    },
    "reorg: rolled back to the common ancestor; re-reading",
  );
  const events: TokenTransfersEvent[] = [...result.removed].map(([token, removed]) => ({
    type: "reorg",
    chainId: ctx.chainId,
    token,
    ancestorBlock: common.blockNumber,
    removed,
  }));
  await publishTokenEvents(ctx.deps, events);
}

/** Consecutive headers link by parent hash, and the first links to the checkpoint. */
export function linksToCheckpoint(headers: Map<number, BlockHeader>, cp: Checkpoint): boolean {
  const from = cp.blockNumber + 1;
  const first = headers.get(from);
  if (!first) return false;
  if (first.parentHash !== cp.blockHash && !(cp.blockNumber < 0 && cp.blockHash === ZERO_HASH)) return false;
  for (const [number, header] of headers) {
    const parent = headers.get(number - 1);
    if (parent && header.parentHash !== parent.hash) return false;
  }
  return true;
}

/** Every log of a block whose header was read carries that header's hash. */
export function logsMatchHeaders(logs: RawLog[], headers: Map<number, BlockHeader>): boolean {
  for (const log of logs) {
    const header = headers.get(Number(log.blockNumber));
    if (header && header.hash !== log.blockHash.toLowerCase()) return false;
  }
  return true;
}
