import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import type { Config } from "../config";
import type { Logger } from "./log";

export type Database = NodePgDatabase;

/** Postgres's own SQLSTATE codes that callers turn into answers. */
export const PG_UNIQUE_VIOLATION = "23505";
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

export function createDatabase(config: Pick<Config, "db">, log: Logger): { pool: pg.Pool; db: Database } {
  const pool = new pg.Pool({
    connectionString: config.db.url,
    max: config.db.poolMax,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits here; without a listener it would crash the process.
  pool.on("error", (err) => log.warn({ err }, "postgres idle client error"));
  return { pool, db: drizzle({ client: pool }) };
}

/** Any fixed 64-bit number works; this one is ours and says "kit migrate". */
const MIGRATION_LOCK_KEY = 7_352_915_001n;

/**
 * Applies pending migrations under a session advisory lock, so replicas that start together
 * take turns: the first applies, the others find nothing left to do.
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
