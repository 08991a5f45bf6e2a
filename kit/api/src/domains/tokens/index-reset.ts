// Forgetting what was indexed, for the operator (`bun run kit indexer:reset`) and the dev stack: a
// whole chain's index, or one token's. Either is done under the indexer's lock, or refused.
import type pg from "pg";
import { releaseIndexerLock, tryIndexerLock } from "./lock";

/** Tables holding what the indexer read from a chain, by chain id (children first). */
const INDEXED_TABLES = [
  "token_transfers",
  "token_balances",
  "token_state_events",
  "identity_registrations",
  "indexer_blocks",
  "indexer_checkpoints",
  "tokens",
];

/**
 * Forgets everything indexed from `chainId`, so the next indexer re-reads that chain from each
 * token's first block: the way out of a reorg deeper than INDEXER_REORG_WINDOW, and of a dev chain
 * that started over. Done under the indexer's own lock, so no indexer writes meanwhile; undefined
 * (nothing changed) when an indexer holds it. Tables not created yet are skipped.
 */
export async function resetChainIndex(
  client: pg.ClientBase,
  chainId: number,
): Promise<{ removed: number } | undefined> {
  if (!(await tryIndexerLock(client, chainId))) return undefined;
  try {
    await client.query("begin");
    let removed = 0;
    for (const table of INDEXED_TABLES) {
      const exists = await client.query<{ found: boolean }>("select to_regclass($1) is not null as found", [
        `public.${table}`,
      ]);
      if (!exists.rows[0]?.found) continue;
      removed += (await client.query(`delete from "${table}" where chain_id = $1`, [chainId])).rowCount ?? 0;
    }
    await client.query("commit");
    return { removed };
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await releaseIndexerLock(client, chainId);
  }
}

export type TokenResetOutcome =
  /** Discovered via INDEXER_TOKENS: removed, so an indexer adds it again from the configuration. */
  | { outcome: "forgotten"; removed: number }
  /** Discovered via a factory: kept, and read again from its creation block. */
  | { outcome: "restarted"; removed: number }
  | { outcome: "not-found" }
  /** An indexer runs and the token is not quarantined: its batches may be writing it. */
  | { outcome: "busy" };

/**
 * Forgets what was indexed for one token and lifts its quarantine, so that it is read again from
 * its first block (catching up on its own, then followed with the others). A quarantined token is
 * in no batch, so it may be reset while an indexer runs; any other token only when none runs.
 */
export async function resetTokenIndex(
  client: pg.ClientBase,
  chainId: number,
  token: string,
): Promise<TokenResetOutcome> {
  const locked = await tryIndexerLock(client, chainId);
  try {
    await client.query("begin");
    const { rows } = await client.query<{ discovered_via: string; quarantined: boolean }>(
      `select discovered_via, quarantined_at is not null as quarantined from tokens
       where chain_id = $1 and address = $2 for update`,
      [chainId, token],
    );
    const row = rows[0];
    if (!row || (!locked && !row.quarantined)) {
      await client.query("rollback");
      return row ? { outcome: "busy" } : { outcome: "not-found" };
    }
    let removed = 0;
    for (const sql of [
      "delete from token_transfers where chain_id = $1 and token = $2",
      "delete from token_balances where chain_id = $1 and token = $2",
      "delete from token_state_events where chain_id = $1 and contract = $2",
    ])
      removed += (await client.query(sql, [chainId, token])).rowCount ?? 0;
    if (row.discovered_via === "config") {
      await client.query("delete from tokens where chain_id = $1 and address = $2", [chainId, token]);
      await client.query("commit");
      return { outcome: "forgotten", removed: removed + 1 };
    }
    // Behind the checkpoint it catches up from its creation; ahead of it, it is simply followed.
    await client.query(
      `update tokens t set total_supply = 0, paused = t.kind = 't-rex', quarantined_at = null,
         quarantine_reason = null, updated_at = now(),
         catch_up_block = case when c.block_number >= t.deployment_block then t.deployment_block - 1 end
       from (select max(block_number) as block_number from indexer_checkpoints where chain_id = $1) c
       where t.chain_id = $1 and t.address = $2`,
      [chainId, token],
    );
    await client.query("commit");
    return { outcome: "restarted", removed };
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    if (locked) await releaseIndexerLock(client, chainId);
  }
}
