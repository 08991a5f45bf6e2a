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
