import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import type { Config } from "../config";
import type { Logger } from "./log";

export type Database = NodePgDatabase;
/** What `db.transaction(async (tx) => …)` hands its callback. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** Postgres's own SQLSTATE codes that callers turn into answers. */
export const PG_UNIQUE_VIOLATION = "23505";
/** A lock not granted within `lock_timeout`. */
export const PG_LOCK_NOT_AVAILABLE = "55P03";
export const PG_FOREIGN_KEY_VIOLATION = "23503";
export const PG_CHECK_VIOLATION = "23514";

/**
 * The SQLSTATE (and constraint) of a statement that failed in Postgres: drizzle wraps the driver's
 * error as `cause`, a raw pg query throws it as is. Undefined for any other failure.
 */
export function postgresError(error: unknown): { code: string; constraint?: string } | undefined {
  const candidate = ((error as { cause?: unknown } | null)?.cause ?? error) as { code?: unknown; constraint?: unknown };
  if (typeof candidate?.code !== "string") return undefined;
  return {
    code: candidate.code,
    constraint: typeof candidate.constraint === "string" ? candidate.constraint : undefined,
  };
}

/** Failures of the connection (refused, dropped, timed out), as Node reports them. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
/** node-postgres's own words for a connection that is gone or never came. */
const LOST_CONNECTION =
  /^(Connection terminated|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect)/;

/**
 * Whether a failure means Postgres cannot be reached (stopped, restarting, refusing connections)
 * rather than that the statement was wrong: callers answer these with SERVICE_UNAVAILABLE. Walks
 * the causes, as drizzle and better-auth wrap the driver's error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (NETWORK_ERROR_CODES.has(code)) return true;
      // SQLSTATE 08xxx: connection exception; 57P01-03: the server is shutting down or starting;
      // 53300: too many connections.
      if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === "53300") return true;
    }
    if (LOST_CONNECTION.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

export function createDatabase(
  config: { db: Pick<Config["db"], "url" | "poolMax"> },
  log: Logger,
): { pool: pg.Pool; db: Database } {
  const pool = new pg.Pool({
    connectionString: config.db.url,
    max: config.db.poolMax,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits here; without a listener it would crash the process.
  pool.on("error", (err) => log.warn({ err }, "postgres idle client error"));
  // A client checked out (a transaction) has no listener of its own: the connection dropping then
  // would be an unhandled 'error' event, which ends the process. The statement running on it fails
  // with the same error anyway, and is answered from there.
  pool.on("connect", (client) => client.on("error", () => {}));
  return { pool, db: drizzle({ client: pool }) };
}

/**
 * The read replica's pool (DATABASE_READ_URL), or the primary's own when none is set: reads that
 * may lag go through `deps.dbRead` either way, and nothing else changes without a replica.
 */
export function createReadDatabase(
  config: { db: Pick<Config["db"], "readUrl" | "poolMax"> },
  log: Logger,
  primary: { pool: pg.Pool; db: Database },
): { pool: pg.Pool; db: Database } {
  if (!config.db.readUrl) return primary;
  return createDatabase({ db: { url: config.db.readUrl, poolMax: config.db.poolMax } }, log);
}

/**
 * The same clients with `db` reading the replica: for the procedures that tolerate a few seconds
 * of lag (lists and pages of what others wrote, never a caller's own write read back). A service
 * receives it as its `db`, so it needs no second code path. The primary's own while the replica
 * lags past DATABASE_READ_MAX_LAG_SECONDS or does not answer (replica-guard.ts).
 */
export function onReadReplica<T extends { db: Database; dbRead: Database; local: { replica: { usable(): boolean } } }>(
  deps: T,
): T {
  return deps.dbRead === deps.db || !deps.local.replica.usable() ? deps : { ...deps, db: deps.dbRead };
}

/** Any fixed 64-bit number works; this one is ours and says "kit migrate". */
const MIGRATION_LOCK_KEY = 7_352_915_001n;

/**
 * Applies pending migrations under a session advisory lock, so replicas that start together
 * take turns: the first applies, the others find nothing left to do. `pool` must reach Postgres
 * without a transaction-mode pooler (the lock is the session's): see migrateDirect.
 */
export async function migrateDatabase(pool: pg.Pool, migrationsFolder: string, log: Logger): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    try {
      const started = performance.now();
      await migrate(drizzle({ client }), { migrationsFolder });
      log.info({ ms: Math.round(performance.now() - started) }, "database migrations applied");
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    client.release();
  }
}

/**
 * Migrates through DATABASE_DIRECT_URL on a connection of its own, closed after: behind PgBouncer
 * in transaction mode the migration lock and drizzle's migration transaction would otherwise land
 * on server connections other than the ones that took them.
 */
export async function migrateDirect(config: Pick<Config, "db" | "migrationsDir">, log: Logger): Promise<void> {
  const { pool } = createDatabase({ db: { url: config.db.directUrl, poolMax: 1 } }, log);
  try {
    await migrateDatabase(pool, config.migrationsDir, log);
  } finally {
    await pool.end();
  }
}
