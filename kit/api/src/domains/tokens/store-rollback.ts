// Undoing what the indexer stored above a block, after a reorg (indexer-reorg.ts): exactly what the
// deleted rows had added, in the caller's transaction.
import type pg from "pg";
import { applyTransfers } from "./store";
import { type Checkpoint, moveCheckpoint } from "./store-checkpoint";
import { rederiveState, type Touched } from "./store-state";

export interface RollbackResult {
  /** Transfers removed, per token. */
  removed: Map<string, number>;
  /** Factory-discovered tokens whose creation was undone. */
  forgottenTokens: string[];
}

/**
 * Takes back everything above `ancestor`: transfers (and the balance and supply moves they made),
 * state events (state re-derived from those left), tokens created above it, recorded blocks,
 * catch-up progress; the checkpoint becomes `ancestor`.
 */
export async function rollbackTo(
  client: pg.ClientBase,
  chainId: number,
  ancestor: Checkpoint,
  previous: Checkpoint,
): Promise<RollbackResult> {
  const { rows: tokenRows } = await client.query<{ address: string }>(
    "select address from tokens where chain_id = $1",
    [chainId],
  );
  const allTokens = tokenRows.map((r) => r.address);
  const { rows: deleted } = await client.query<{
    token: string;
    from: string;
    to: string;
    amount: string;
    block_number: string;
  }>(
    `delete from token_transfers
     where chain_id = $1 and token = any($2::text[]) and block_number > $3
     returning token, "from", "to", amount, block_number`,
    [chainId, allTokens, ancestor.blockNumber],
  );
  await applyTransfers(
    client,
    chainId,
    deleted.map((r) => ({
      token: r.token,
      from: r.from,
      to: r.to,
      amount: r.amount,
      blockNumber: ancestor.blockNumber,
    })),
    -1n,
  );
  const removed = new Map<string, number>();
  for (const row of deleted) removed.set(row.token, (removed.get(row.token) ?? 0) + 1);
  const { rows: touched } = await client.query<Touched>(
    `delete from token_state_events where chain_id = $1 and block_number > $2 returning contract, subject, kind`,
    [chainId, ancestor.blockNumber],
  );
  const { rows: forgotten } = await client.query<{ address: string }>(
    `delete from tokens where chain_id = $1 and discovered_via = 'factory' and deployment_block > $2 returning address`,
    [chainId, ancestor.blockNumber],
  );
  const forgottenTokens = forgotten.map((r) => r.address);
  if (forgottenTokens.length > 0) {
    await client.query("delete from token_balances where chain_id = $1 and token = any($2::text[])", [
      chainId,
      forgottenTokens,
    ]);
  }
  await rederiveState(
    client,
    chainId,
    touched.filter((t) => !forgottenTokens.includes(t.contract)),
  );
  await client.query(
    `update tokens set catch_up_block = least(catch_up_block, $2)
     where chain_id = $1 and catch_up_block is not null`,
    [chainId, ancestor.blockNumber],
  );
  await client.query("delete from indexer_blocks where chain_id = $1 and number > $2", [chainId, ancestor.blockNumber]);
  await moveCheckpoint(client, chainId, previous, ancestor);
  return { removed, forgottenTokens };
}
