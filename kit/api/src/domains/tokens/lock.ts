// The indexer's Postgres advisory lock, one per chain: the active indexer holds it on its dedicated
// connection; the operator commands (indexer:reset) take it to change the index with none running.
import type pg from "pg";

const LOCK_CLASS = 1_263_097_944; // "KITX"

const lockKey = (chainId: number) => [LOCK_CLASS, chainId % 2_147_483_647];

/** Takes the chain's indexer lock if free; false when an indexer (or another command) holds it. */
export async function tryIndexerLock(client: pg.ClientBase, chainId: number): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>(
    "select pg_try_advisory_lock($1, $2) as locked",
    lockKey(chainId),
  );
  return rows[0]?.locked === true;
}

export async function releaseIndexerLock(client: pg.ClientBase, chainId: number): Promise<void> {
  await client.query("select pg_advisory_unlock($1, $2)", lockKey(chainId));
}
