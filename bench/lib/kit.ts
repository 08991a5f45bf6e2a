// A real Kit for benchmarks: its own database, an s3rver, an anvil, a Redis key prefix, served
// over TCP by Bun.serve in this process. The load comes from another process (see load.ts).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { type App, createApp } from "../../kit/api/src/app";
import { loadConfig, type ResolvedConfig, requireResolved } from "../../kit/api/src/config";
import type { Deps } from "../../kit/api/src/deps";
import { startLocalAnvil } from "../../kit/api/src/dev/anvil";
import { freePort } from "../../kit/api/src/dev/ports";
import { ensureDatabaseExists } from "../../kit/api/src/dev/postgres";
import { startLocalS3 } from "../../kit/api/src/dev/s3";
import { createPasswordUser } from "../../kit/api/src/domains/auth/service";
import { createDatabase, migrateDatabase } from "../../kit/api/src/infra/db";
import { createLogger } from "../../kit/api/src/infra/log";
import { deleteKeysWithPrefix } from "../../kit/api/src/infra/redis";
import { ensureBuckets } from "../../kit/api/src/infra/storage";
import { closeDeps, createDeps } from "../../kit/api/src/runtime";

export interface BenchKitOptions {
  /**
   * Database to use, created if missing and kept. By default each run gets a fresh database,
   * migrated from scratch and dropped at the end, so a bench never sees another run's data.
   */
  database?: string;
  /** Postgres server (no database part); the local trust-auth server by default. */
  postgresUrl?: string;
  /** Extra environment for loadConfig (it wins over the bench defaults). */
  env?: Record<string, string>;
  /** Adds bench-only routes to the app before it is served (never in production code). */
  routes?: (app: App, deps: Deps) => void | Promise<void>;
}

export interface BenchKit {
  config: ResolvedConfig;
  deps: Deps;
  app: App;
  /** Base URL of the listening server, without a trailing slash. */
  url: string;
  /** The environment its config was loaded from: what a child `main.ts` needs to be the same Kit. */
  env: Record<string, string>;
  /**
   * Stops the server, deletes the run's Redis keys, closes the clients, stops s3rver and anvil,
   * drops the run's database. Safe to call more than once.
   */
  stop(): Promise<void>;
}

export async function startBenchKit(options: BenchKitOptions = {}): Promise<BenchKit> {
  const cleanups: (() => Promise<unknown>)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    // Last started, first stopped; one failure does not keep the others running. Called twice
    // (a signal during a normal shutdown), both callers wait for the same clean-up.
    stopping ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    })();
    return stopping;
  };
  try {
    const runId = randomBytes(4).toString("hex");
    const postgres = (options.postgresUrl ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, "");
    const admin = createDatabase({ db: { url: `${postgres}/postgres`, poolMax: 1 } }, silent);
    cleanups.push(() => admin.pool.end());
    const database = options.database ?? `${BENCH_DATABASE_PREFIX}${Date.now()}_${runId}`;
    if (!options.database) {
      await dropStaleDatabases(admin.pool);
      cleanups.push(() => admin.pool.query(`drop database if exists "${database}" with (force)`));
    }
    const databaseUrl = `${postgres}/${database}`;
    await ensureDatabaseExists(databaseUrl);

    const s3Dir = await mkdtemp(join(tmpdir(), "kit-bench-s3-"));
    cleanups.push(() => rm(s3Dir, { recursive: true, force: true }));
    const s3 = await startLocalS3({ directory: s3Dir });
    cleanups.push(() => s3.stop());
    const anvil = await startLocalAnvil({ port: await freePort() });
    cleanups.push(() => anvil.stop());

    const redisKeyPrefix = `bench:${runId}:`;
    const env: Record<string, string> = {
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      DATABASE_URL: databaseUrl,
      DATABASE_MIGRATE: "true",
      REDIS_KEY_PREFIX: redisKeyPrefix,
      S3_ENDPOINT: s3.endpoint,
      RPC_URL: anvil.rpcUrl,
      ...options.env,
    };
    const config = requireResolved(loadConfig(env));
    const deps = createDeps(config, createLogger(config));
    cleanups.push(() => closeDeps(deps));
    cleanups.push(() => deleteKeysWithPrefix(deps.redis, redisKeyPrefix));
    if (config.db.migrate) await migrateDatabase(deps.pool, config.migrationsDir, deps.log);
    await ensureBuckets(deps.storage, deps.log);

    const app = createApp(deps);
    await options.routes?.(app, deps);
    const server: Server<undefined> = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
    cleanups.push(() => server.stop(true));

    return { config, deps, app, url: server.url.href.replace(/\/$/, ""), env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const silent = createLogger({ log: { level: "silent", pretty: false } });
const BENCH_DATABASE_PREFIX = "kit_bench_";

/** Per-run databases left by runs that were killed (their name holds their creation time). */
async function dropStaleDatabases(admin: ReturnType<typeof createDatabase>["pool"]): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname like 'kit\\_bench\\_%'",
  );
  const cutoff = Date.now() - 6 * 60 * 60 * 1000;
  for (const { datname } of rows) {
    const createdAt = Number(/^kit_bench_(\d+)_/.exec(datname)?.[1] ?? Number.NaN);
    if (createdAt < cutoff) await admin.query(`drop database if exists "${datname}" with (force)`);
  }
}

/** better-auth refuses browser-like POSTs from origins it does not trust; this one is in the default list. */
const TRUSTED_ORIGIN = "http://localhost:3000";

/**
 * A password user created in the bench's database, signed in through the real HTTP endpoint (as a
 * browser would); returns the `cookie` header value that carries the session.
 */
export async function signedInCookie(kit: BenchKit): Promise<string> {
  const email = `bench-${Date.now()}@example.com`;
  const password = "a long bench password";
  const created = await createPasswordUser(kit.deps, { email, password, role: "investor", name: "Bench" });
  if (!created) throw new Error(`bench user ${email} already exists`);
  const response = await fetch(`${kit.url}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`sign-in failed: HTTP ${response.status} ${await response.text()}`);
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error("sign-in returned no session cookie");
  return cookie;
}
