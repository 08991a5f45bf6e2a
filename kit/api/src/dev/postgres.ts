import pg from "pg";
import { resetChainIndex } from "../domains/tokens/index-reset";

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

/**
 * Forgets everything indexed from chain `chainId` (domains/tokens/index-reset.ts, resetChainIndex). For
 * the local stack only: when its anvil starts over (state lost, or a new data folder) the index of
 * the old chain describes blocks that no longer exist, and the indexer would rightly refuse to go on.
 */
export async function forgetIndexedChain(url: string, chainId: number): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    const reset = await resetChainIndex(client, chainId);
    if (!reset) throw new Error(`an indexer is running on this database for chain ${chainId}; stop it first`);
    return reset.removed;
  } finally {
    await client.end();
  }
}
