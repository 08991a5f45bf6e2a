// Where the indexer stands: its checkpoint (fenced on the value it read) and the recent block
// hashes it compares with the chain to see a reorg. Inside the caller's transaction, as store.ts's.
import type pg from "pg";

export interface Checkpoint {
  blockNumber: number;
  blockHash: string;
}

export async function readCheckpoint(client: pg.ClientBase, chainId: number): Promise<Checkpoint | undefined> {
  const { rows } = await client.query<{ block_number: string; block_hash: string }>(
    "select block_number, block_hash from indexer_checkpoints where chain_id = $1",
    [chainId],
  );
  const row = rows[0];
  return row ? { blockNumber: Number(row.block_number), blockHash: row.block_hash } : undefined;
}

/**
 * Moves the checkpoint from `previous` to `next`. Fenced: if the row is not where this indexer
 * left it, another writer moved it, and the transaction must not commit.
 */
export async function moveCheckpoint(
  client: pg.ClientBase,
  chainId: number,
  previous: Checkpoint | undefined,
  next: Checkpoint,
): Promise<void> {
  const result = previous
    ? await client.query(
        `update indexer_checkpoints set block_number = $2, block_hash = $3, updated_at = now()
         where chain_id = $1 and block_number = $4 and block_hash = $5`,
        [chainId, next.blockNumber, next.blockHash, previous.blockNumber, previous.blockHash],
      )
    : await client.query(
        `insert into indexer_checkpoints (chain_id, block_number, block_hash) values ($1, $2, $3)
         on conflict do nothing`,
        [chainId, next.blockNumber, next.blockHash],
      );
  if (result.rowCount !== 1) throw new Error("the indexer checkpoint moved under this indexer (another writer?)");
}

/** Records block headers for reorg detection and forgets those older than the window. */
export async function recordBlocks(
  client: pg.ClientBase,
  chainId: number,
  headers: { number: number; hash: string; parentHash: string }[],
  keepFrom: number,
): Promise<void> {
  if (headers.length > 0) {
    await client.query(
      `insert into indexer_blocks (chain_id, number, hash, parent_hash)
       select $1, * from unnest($2::bigint[], $3::text[], $4::text[])
       on conflict (chain_id, number) do update set hash = excluded.hash, parent_hash = excluded.parent_hash`,
      [chainId, headers.map((h) => h.number), headers.map((h) => h.hash), headers.map((h) => h.parentHash)],
    );
  }
  // The newest row always stays, whatever the window: it is the checkpoint's.
  await client.query(
    `delete from indexer_blocks where chain_id = $1 and number < $2
       and number < (select max(number) from indexer_blocks where chain_id = $1)`,
    [chainId, keepFrom],
  );
}

export async function recentBlocks(client: pg.ClientBase, chainId: number, upTo: number) {
  const { rows } = await client.query<{ number: string; hash: string }>(
    "select number, hash from indexer_blocks where chain_id = $1 and number <= $2 order by number desc",
    [chainId, upTo],
  );
  return rows.map((r) => ({ number: Number(r.number), hash: r.hash }));
}
