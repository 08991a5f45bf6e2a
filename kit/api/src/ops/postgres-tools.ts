// PostgreSQL's own client tools (pg_dump, pg_restore) for backups: found on PATH, their version
// checked against the server's, run with the password in the environment (never on a command line
// that `ps` shows).
import type pg from "pg";

/** A backup or restore that cannot go on; the message says what to do. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupError";
  }
}

export type PostgresTool = "pg_dump" | "pg_restore";

/** The server's major version (15 for 15.20) and its full version string. */
export async function serverVersion(client: pg.PoolClient | pg.Pool): Promise<{ major: number; version: string }> {
  const { rows } = await client.query<{ num: string; version: string }>(
    "select current_setting('server_version_num') as num, current_setting('server_version') as version",
  );
  const row = rows[0];
  if (!row) throw new BackupError("the database did not say its version");
  return { major: Math.floor(Number(row.num) / 10_000), version: row.version.split(" ")[0] ?? row.version };
}

/**
 * The tool's version, refused when it is missing or older than `atLeast` (pg_dump cannot dump a
 * newer server; pg_restore cannot read a newer dump).
 */
export async function toolVersion(
  tool: PostgresTool,
  atLeast: { major: number; why: string },
): Promise<{ major: number; version: string }> {
  const install = `install the PostgreSQL ${atLeast.major} client tools (Debian: apt-get install postgresql-client-${atLeast.major}) and put their bin folder first on PATH`;
  let output: string;
  try {
    const run = Bun.spawnSync([tool, "--version"], { stdout: "pipe", stderr: "pipe" });
    if (run.exitCode !== 0) throw new Error(run.stderr.toString());
    output = run.stdout.toString();
  } catch {
    throw new BackupError(`${tool} was not found on PATH: ${install}`);
  }
  const match = output.match(/\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/);
  if (!match) throw new BackupError(`${tool} --version said "${output.trim()}", not a PostgreSQL version: ${install}`);
  const major = Number(match[1]);
  const version = match[2] === undefined ? String(major) : `${major}.${match[2]}`;
  if (major < atLeast.major)
    throw new BackupError(
      `${tool} on PATH is version ${version}, older than ${atLeast.why} (${atLeast.major}): ${install}`,
    );
  return { major, version };
}

/** libpq's view of DATABASE_URL: the URL without its password, which goes in PGPASSWORD. */
function libpqConnection(databaseUrl: string): { url: string; env: Record<string, string> } {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = "";
  return { url: url.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** Runs pg_dump or pg_restore against DATABASE_URL; throws with the tool's last words on failure. */
export async function runPostgresTool(tool: PostgresTool, databaseUrl: string, args: string[]): Promise<void> {
  const connection = libpqConnection(databaseUrl);
  const child = Bun.spawn([tool, ...args, `--dbname=${connection.url}`], {
    env: { ...process.env, ...connection.env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const [exitCode, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (exitCode !== 0) {
    const last = stderr.trim().split("\n").slice(-5).join("\n  ");
    throw new BackupError(`${tool} failed (exit ${exitCode}):\n  ${last}`);
  }
}
