// One isolated Kit per test file: its own database (cloned from the migrated template), its own
// Redis key prefix, an s3rver in a temp folder, and an anvil when asked for. Cleaned up after.
import { afterAll } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createORPCClient } from "@orpc/client";
import { RPCLink } from "@orpc/client/fetch";
import type { ContractRouterClient } from "@orpc/contract";
import { type App, createApp } from "../src/app";
import { loadConfig, type ResolvedConfig, requireResolved } from "../src/config";
import type { Contract } from "../src/contract";
import type { Deps } from "../src/deps";
import { type LocalAnvil, startLocalAnvil } from "../src/dev/anvil";
import { CLOSED_PORT } from "../src/dev/ports";
import { type LocalS3, startLocalS3 } from "../src/dev/s3";
import { createLogger } from "../src/infra/log";
import { closeRedis, createRedis, deleteKeysWithPrefix, redisReady } from "../src/infra/redis";
import { ensureBuckets } from "../src/infra/storage";
import { closeDeps, createDeps } from "../src/runtime";
import { createTestDatabase, dropDatabase, ensureTemplateDatabase } from "./databases";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

export interface TestKitOptions {
  /** Start an anvil for this file (otherwise the chain URL points at a closed port). */
  chain?: boolean;
  /** Extra environment for loadConfig (e.g. READY_TIMEOUT_MS). */
  env?: Record<string, string>;
  /** Reach Postgres through a TCP proxy the test can cut (`kit.database`): an outage without stopping it. */
  databaseProxy?: boolean;
  /**
   * Database variables made from the file's own database URL, over `env`: e.g. DATABASE_URL through
   * a PgBouncer in front of it and DATABASE_DIRECT_URL straight to it (test/pgbouncer.ts).
   */
  databaseEnv?: (directUrl: string) => Record<string, string>;
  /** Where the kit's log lines go (as written: JSON lines), with LOG_LEVEL=info unless `env` sets it. */
  logLines?: string[];
}

export interface TestKit {
  config: ResolvedConfig;
  deps: Deps;
  app: App;
  /** Typed client over /rpc, calling the app in-process. */
  client: ContractRouterClient<Contract>;
  /** `fetch` against the app in-process: `kit.request("/api/system/info")`. */
  request(path: string, init?: RequestInit): Promise<Response>;
  env: Record<string, string>;
  s3: LocalS3;
  anvil?: LocalAnvil;
  /** With `databaseProxy`: the proxy between the kit and its database. */
  database?: TcpProxy;
}

/** A TCP server that accepts connections and never answers: a dependency that hangs. */
export async function startBlackHole(): Promise<{ url: string; stop(): void }> {
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("black hole has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    stop: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** Environment for a fresh, isolated Kit (database, prefix, S3, chain): also usable for child processes. */
export async function createTestEnvironment(options: TestKitOptions = {}) {
  const database = await createTestDatabase(await ensureTemplateDatabase());
  const s3Dir = await mkdtemp(join(tmpdir(), "kit-s3-"));
  const s3 = await startLocalS3({ directory: s3Dir });
  // Port 0: anvil binds a port of the OS's choosing and says which (no window for another to take it).
  const anvil = options.chain ? await startLocalAnvil({ port: 0 }) : undefined;
  const redisKeyPrefix = `test:${database.name}:`;
  const env: Record<string, string> = {
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    DATABASE_URL: database.url,
    DATABASE_MIGRATE: "false",
    REDIS_KEY_PREFIX: redisKeyPrefix,
    S3_ENDPOINT: s3.endpoint,
    // No chain: an address that refuses, never another test file's anvil (whose keys are the same).
    RPC_URL: anvil?.rpcUrl ?? `http://127.0.0.1:${CLOSED_PORT}`,
    // Not the developer's <DATA_DIR>/chain file: its addresses may equal a test chain's (same deployer, same nonces).
    CHAIN_DEPLOYMENT_FILE: join(s3Dir, "no-chain-deployment.json"),
    READY_TIMEOUT_MS: "1000",
    ...options.env,
  };
  const cleanup = async () => {
    // Also for child processes that shared this environment; tolerant, as some files take Redis away.
    await deleteEnvironmentKeys(env, redisKeyPrefix).catch(() => {});
    await anvil?.stop();
    await s3.stop();
    await rm(s3Dir, { recursive: true, force: true });
    await dropDatabase(database.name);
  };
  return { env, s3, anvil, database, redisKeyPrefix, cleanup };
}

async function deleteEnvironmentKeys(env: Record<string, string>, prefix: string): Promise<void> {
  const { REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS, REDIS_SENTINEL_NAME } = env;
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    REDIS_URL,
    REDIS_CLUSTER_NODES,
    REDIS_SENTINELS,
    REDIS_SENTINEL_NAME,
  });
  // No key prefix of its own: it deletes the environment's keys by their full names.
  const redis = createRedis({ redis: { ...config.redis, keyPrefix: "" } }, createLogger(config), "test-cleanup");
  try {
    if (await redisReady(redis, 2_000)) await deleteKeysWithPrefix(redis, prefix);
  } finally {
    await closeRedis(redis);
  }
}

export async function createTestKit(options: TestKitOptions = {}): Promise<TestKit> {
  const environment = await createTestEnvironment(options);
  const database = options.databaseProxy ? await startTcpProxy(environment.env.DATABASE_URL as string) : undefined;
  const lines = options.logLines;
  const config = requireResolved(
    loadConfig({
      ...environment.env,
      ...options.databaseEnv?.(environment.env.DATABASE_URL as string),
      ...(database ? { DATABASE_URL: database.url } : {}),
      ...(lines ? { LOG_LEVEL: options.env?.LOG_LEVEL ?? "info" } : {}),
    }),
  );
  const log = lines
    ? createLogger(config, {}, { write: (line: string) => void lines.push(line) })
    : createLogger(config);
  const deps = createDeps(config, log);
  await redisReady(deps.redis, 3_000);
  await ensureBuckets(deps.storage, deps.log);
  const app = createApp(deps);
  const origin = "http://kit.test";
  const request = async (path: string, init?: RequestInit) => app.fetch(new Request(`${origin}${path}`, init));
  const client: ContractRouterClient<Contract> = createORPCClient(
    new RPCLink({ url: `${origin}/rpc`, fetch: (req) => Promise.resolve(app.fetch(req)) }),
  );

  afterAll(async () => {
    database?.restore();
    await closeDeps(deps);
    await database?.stop();
    await environment.cleanup();
  });

  return {
    config,
    deps,
    app,
    client,
    request,
    env: environment.env,
    s3: environment.s3,
    anvil: environment.anvil,
    database,
  };
}
