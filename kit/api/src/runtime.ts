// Builds the process's clients and starts the requested roles; returns one `stop` for shutdown.
import type { Server } from "bun";
import { createApp, createOperationalApp } from "./app";
import type { ResolvedConfig } from "./config";
import type { Deps, DomainEvents, DomainQueries } from "./deps";
import { createAuth } from "./domains/auth/auth";
import { createPasswordUser } from "./domains/auth/service";
import { closeRateCopies } from "./domains/exchange-rates/cache";
import { forgetCachedRates } from "./domains/exchange-rates/service";
import { closeStatusEvents } from "./domains/kyc/events";
import { kycKeyMetrics } from "./domains/kyc/key-rotation";
import { queueNewWalletEligibility, queueUnlinkedWalletRevocation } from "./domains/kyc/onchain";
import { kycOnchainMetrics } from "./domains/kyc/onchain-metrics";
import { holdWalletsForRecovery, releaseWalletsAfterRecovery } from "./domains/kyc/recovery";
import { kycStanding, walletRegistration } from "./domains/kyc/standing";
import { type RunningIndexer, startIndexer } from "./domains/tokens/indexer";
import { closeTokenStreams } from "./domains/tokens/live";
import { allowPublicMetadataReads } from "./domains/tokens/metadata";
import { createChain } from "./infra/chain";
import { createDatabase, migrateDatabase } from "./infra/db";
import type { Logger } from "./infra/log";
import { createMetrics } from "./infra/metrics";
import { closeRedis, createRedis, redisReady } from "./infra/redis";
import { createStorage, ensureBuckets } from "./infra/storage";
import { createJobQueue } from "./jobs/queue";
import { type RunningWorker, startWorker } from "./jobs/worker";
import { resolveRateLimitRules } from "./rpc/rate-limit-rules";

export const ROLES = ["api", "worker", "indexer"] as const;
export type Role = (typeof ROLES)[number];

/** Who listens to what: one domain announces, another acts, and neither imports the other for it. */
const domainEvents: DomainEvents = {
  walletLinked: queueNewWalletEligibility,
  walletUnlinked: queueUnlinkedWalletRevocation,
  fxSettingsChanged: forgetCachedRates,
  walletRecoveryStarting: holdWalletsForRecovery,
  walletRecoveryEnded: releaseWalletsAfterRecovery,
};

/** Who answers what one domain asks another. */
const domainQueries: DomainQueries = { kycStanding, walletRegistration };

export function createDeps(config: ResolvedConfig, log: Logger): Deps {
  const rateLimitRules = resolveRateLimitRules(config.rateLimits);
  const { pool, db } = createDatabase(config, log);
  const redis = createRedis(config, log);
  const chain = createChain(config);
  return {
    config,
    pool,
    db,
    redis,
    storage: createStorage(config),
    chain,
    log,
    auth: createAuth({ config, db, redis, chain, log, rateLimitRules }),
    jobs: createJobQueue(config, log),
    events: domainEvents,
    queries: domainQueries,
    rateLimitRules,
    startedAt: Date.now(),
  };
}

export async function closeDeps(deps: Deps): Promise<void> {
  await closeStatusEvents(deps.redis).catch(() => {});
  await closeTokenStreams(deps.redis).catch(() => {});
  await closeRateCopies(deps.redis).catch(() => {});
  await Promise.allSettled([deps.pool.end(), closeRedis(deps.redis), deps.jobs.close()]);
  deps.storage.client.destroy();
  if (deps.storage.presigner !== deps.storage.client) deps.storage.presigner.destroy();
}

export interface RunningKit {
  deps: Deps;
  /** Where this process answers HTTP: the whole API with the api role, else /health /ready /metrics. */
  url?: string;
  stop(): Promise<void>;
}

export async function startKit(config: ResolvedConfig, roles: readonly Role[], log: Logger): Promise<RunningKit> {
  const deps = createDeps(config, log);
  let server: Server<undefined> | undefined;
  let worker: RunningWorker | undefined;
  let indexer: RunningIndexer | undefined;
  try {
    if (!(await redisReady(deps.redis, 5_000)))
      log.warn("redis is not reachable yet; starting anyway (see README, Redis down)");
    if (config.db.migrate) await migrateDatabase(deps.pool, config.migrationsDir, log);
    if (config.auth.bootstrapAdmin) {
      const admin = await createPasswordUser(deps, { ...config.auth.bootstrapAdmin, role: "admin" });
      log.info(admin ? "bootstrap admin created" : "bootstrap admin exists; left unchanged");
    }
    // One registry per process: /metrics shows the worker's jobs beside the requests.
    const metrics = createMetrics();
    if (roles.includes("worker")) {
      worker = await startWorker(deps, undefined, { metrics });
      // Every worker shows them from the start, not only the one that ran the last reconciliation.
      kycOnchainMetrics(metrics.registry, deps.db);
      kycKeyMetrics(metrics.registry);
    }
    if (roles.includes("indexer")) indexer = startIndexer(deps, { registry: metrics.registry });
    const api = roles.includes("api");
    if (api) {
      await ensureBuckets(deps.storage, log);
      await allowPublicMetadataReads(deps.storage, log);
    }
    // Every role answers probes and scrapes on PORT; the api role answers everything else too.
    const app = api
      ? createApp(deps, { metrics, worker, indexer })
      : createOperationalApp(deps, { metrics, worker, indexer });
    server = Bun.serve({
      hostname: config.http.host,
      port: config.http.port,
      fetch: app.fetch,
      maxRequestBodySize: config.http.bodyLimitBytes * 2,
      // Hung clients must not pin a connection forever; long-lived streams send keep-alives.
      idleTimeout: 60,
    });
    log.info({ url: server.url.href }, api ? "api listening" : "operational http listening");
  } catch (error) {
    await indexer?.stop().catch(() => {});
    await worker?.close().catch(() => {});
    await closeDeps(deps);
    throw error;
  }

  return {
    deps,
    url: server ? server.url.href.replace(/\/$/, "") : undefined,
    async stop() {
      // Live streams never finish on their own: end them first (clients reconnect elsewhere).
      await closeStatusEvents(deps.redis).catch(() => {});
      await closeTokenStreams(deps.redis).catch(() => {});
      // Both wait for work in progress: stop() without force lets in-flight requests finish while
      // refusing new connections, and the worker lets running jobs finish while taking no new one.
      // The indexer finishes (commits) the batch in progress and releases its lock.
      await Promise.all([server?.stop(), worker?.close(), indexer?.stop()]);
      await closeDeps(deps);
    },
  };
}
