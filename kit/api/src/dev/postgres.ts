import pg from "pg";

/** Creates the database named in `url` if it does not exist, connecting to its server's `postgres` db. */
export async function ensureDatabaseExists(url: string): Promise<"created" | "existed"> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits, _ or -`);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (rowCount) return "existed";
    try {
      await client.query(`create database "${name}"`);
    } catch (error) {
      // Another process created it between our check and our create.
      if ((error as { code?: string }).code !== "42P04") throw error;
    }
    return "created";
  } finally {
    await client.end();
  }
}

/** Tables holding what the indexer read from a chain (domains/tokens/schema.ts), by chain id. */
const INDEXED_CHAIN_TABLES = [
  "token_transfers",
  "token_balances",
  "token_state_events",
  "identity_registrations",
  "indexer_blocks",
  "indexer_checkpoints",
  "tokens",
];

/**
 * Forgets everything indexed from chain `chainId` (tables not created yet are skipped). For the
 * local stack only: when its anvil starts over (state lost, or a new data folder) the index of the
 * old chain describes blocks that no longer exist, and the indexer would rightly refuse to go on.
 */
export async function forgetIndexedChain(url: string, chainId: number): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query("begin");
    let removed = 0;
    for (const table of INDEXED_CHAIN_TABLES) {
      const { rows } = await client.query<{ exists: boolean }>("select to_regclass($1) is not null as exists", [
        `public.${table}`,
      ]);
      if (!rows[0]?.exists) continue;
      const result = await client.query(`delete from "${table}" where chain_id = $1`, [chainId]);
      removed += result.rowCount ?? 0;
    }
    await client.query("commit");
    return removed;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
