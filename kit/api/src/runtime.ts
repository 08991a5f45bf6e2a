// Builds the process's clients and starts the requested roles; returns one `stop` for shutdown.
import type { Server } from "bun";
import { createApp, createOperationalApp } from "./app";
import type { ResolvedConfig } from "./config";
import type { Deps, DomainEvents, DomainQueries, ProcessLocal } from "./deps";
import { createAuth } from "./domains/auth/auth";
import { MeWallets } from "./domains/auth/me-wallets";
import { createPasswordUser } from "./domains/auth/service";
import { SessionMemo } from "./domains/auth/session";
import { RateCopies } from "./domains/exchange-rates/cache";
import { forgetCachedRates } from "./domains/exchange-rates/service";
import { createPiiKeyring } from "./domains/kyc/crypto";
import { EligibilityChainCache } from "./domains/kyc/eligibility-chain";
import { createStatusStreams } from "./domains/kyc/events";
import { kycKeyMetrics } from "./domains/kyc/key-rotation";
import { kycOnchainMetrics } from "./domains/kyc/onchain-metrics";
import { queueNewWalletEligibility, queueUnlinkedWalletRevocation } from "./domains/kyc/onchain-queue";
import { recordSettled, recordSigned } from "./domains/kyc/onchain-settled";
import { holdWalletsForRecovery, releaseWalletsAfterRecovery } from "./domains/kyc/recovery";
import { kycStanding, walletRegistration } from "./domains/kyc/standing";
import { mailMetrics } from "./domains/mail/metrics";
import { createInboxStreams } from "./domains/notifications/inbox";
import { notificationMetrics } from "./domains/notifications/metrics";
import { notificationRecipients } from "./domains/settings/notifications";
import { accountMailPreferences, getSystemSettings } from "./domains/settings/service";
import { type RunningIndexer, startIndexer } from "./domains/tokens/indexer";
import { createTokenTransferStreams } from "./domains/tokens/live";
import { allowPublicMetadataReads } from "./domains/tokens/metadata";
import { createChain } from "./infra/chain";
import { createDatabase, createReadDatabase, migrateDirect } from "./infra/db";
import type { Logger } from "./infra/log";
import { createMetrics, type Metrics } from "./infra/metrics";
import { closeRedis, createRedis, redisReady } from "./infra/redis";
import { createReplicaGuard, NO_REPLICA } from "./infra/replica-guard";
import { SingleFlight } from "./infra/single-flight";
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
  systemOperationsSigned: recordSigned,
  operationSettled: recordSettled,
};

/** Who answers what: the asking domain does not import the answering one. */
const domainQueries: DomainQueries = {
  fxProviderOrder: async (deps) => (await getSystemSettings(deps)).fxProviders,
  accountMailPreferences,
  kycStanding,
  walletRegistration,
  notificationRecipients,
};

export function createDeps(config: ResolvedConfig, log: Logger): Deps {
  const rateLimitRules = resolveRateLimitRules(config.rateLimits);
  const primary = createDatabase(config, log);
  const { pool, db } = primary;
  const read = createReadDatabase(config, log, primary);
  const redis = createRedis(config, log);
  const chain = createChain(config);
  const jobs = createJobQueue(config, log);
  // Nothing here connects or reads yet: each part opens what it needs on first use.
  const local: ProcessLocal = {
    sessions: new SessionMemo(),
    fxCopies: new RateCopies(redis, log),
    kycStatusStreams: createStatusStreams({ redis, log }),
    tokenTransferStreams: createTokenTransferStreams({ redis, log }),
    inboxStreams: createInboxStreams({ redis, log }),
    piiKeyring: createPiiKeyring(config),
    eligibilityChain: new EligibilityChainCache(config),
    systemInfo: new SingleFlight(),
    meWallets: new MeWallets(db, redis, log, config.db.preparedStatements),
    replica:
      read === primary
        ? NO_REPLICA
        : createReplicaGuard({ primary: pool, replica: read.pool }, config.db.readMaxLagSeconds, log),
  };
  return {
    config,
    pool,
    db,
    poolRead: read.pool,
    dbRead: read.db,
    redis,
    storage: createStorage(config),
    chain,
    log,
    auth: createAuth({ config, db, redis, chain, log, rateLimitRules, jobs, queries: domainQueries }),
    jobs,
    events: domainEvents,
    queries: domainQueries,
    rateLimitRules,
    local,
    startedAt: Date.now(),
  };
}

/** Closes each part of the process's own state (deps.local); every part may be closed again. */
async function closeLocal(deps: Deps): Promise<void> {
  await Promise.allSettled(Object.values(deps.local).map((part) => part.close()));
}

export async function closeDeps(deps: Deps): Promise<void> {
  await closeLocal(deps);
  await Promise.allSettled([
    deps.pool.end(),
    deps.poolRead === deps.pool ? undefined : deps.poolRead.end(),
    closeRedis(deps.redis),
    deps.jobs.close(),
  ]);
  deps.storage.client.destroy();
  if (deps.storage.presigner !== deps.storage.client) deps.storage.presigner.destroy();
}

export interface RunningKit {
  deps: Deps;
  metrics: Metrics;
  /** Where this process answers HTTP: the whole API with the api role, else /health /ready /metrics. */
  url?: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Under a supervisor: several api processes listen on the same port (SO_REUSEPORT; Linux spreads connections). */
  reusePort?: boolean;
  /** false: no HTTP at all (the worker and indexer beside a supervisor's api processes, which hold the port). */
  listen?: boolean;
  /** Under a supervisor: what /metrics answers (the whole group's metrics, aggregated). */
  scrape?: () => Promise<string>;
}

export async function startKit(
  config: ResolvedConfig,
  roles: readonly Role[],
  log: Logger,
  options: StartOptions = {},
): Promise<RunningKit> {
  const deps = createDeps(config, log);
  let server: Server<undefined> | undefined;
  let worker: RunningWorker | undefined;
  let indexer: RunningIndexer | undefined;
  // One registry per process: /metrics shows the worker's jobs beside the requests.
  const metrics = createMetrics();
  try {
    if (!(await redisReady(deps.redis, 5_000)))
      log.warn("redis is not reachable yet; starting anyway (see README, Redis down)");
    if (config.db.migrate) await migrateDirect(config, log);
    if (config.auth.bootstrapAdmin) {
      const admin = await createPasswordUser(deps, { ...config.auth.bootstrapAdmin, role: "admin" });
      log.info(admin ? "bootstrap admin created" : "bootstrap admin exists; left unchanged");
    }
    if (roles.includes("worker")) {
      worker = await startWorker(deps, undefined, { metrics });
      // Every worker shows them from the start, not only the one that ran the last reconciliation.
      kycOnchainMetrics(metrics.registry, deps.db);
      kycKeyMetrics(metrics.registry);
      notificationMetrics(metrics.registry, deps.db);
      mailMetrics(metrics.registry, deps.db);
    }
    if (roles.includes("indexer")) indexer = startIndexer(deps, { registry: metrics.registry });
    const api = roles.includes("api");
    if (api) {
      await ensureBuckets(deps.storage, log);
      await allowPublicMetadataReads(deps.storage, log);
    }
    // Every role answers probes and scrapes on PORT; the api role answers everything else too.
    const app = api
      ? createApp(deps, { metrics, worker, indexer, scrape: options.scrape })
      : createOperationalApp(deps, { metrics, worker, indexer, scrape: options.scrape });
    if (options.listen !== false) {
      server = Bun.serve({
        hostname: config.http.host,
        port: config.http.port,
        reusePort: options.reusePort ?? false,
        fetch: app.fetch,
        maxRequestBodySize: config.http.bodyLimitBytes * 2,
        // Hung clients must not pin a connection forever; long-lived streams send keep-alives.
        idleTimeout: 60,
      });
      log.info({ url: server.url.href }, api ? "api listening" : "operational http listening");
    }
  } catch (error) {
    await indexer?.stop().catch(() => {});
    await worker?.close().catch(() => {});
    await closeDeps(deps);
    throw error;
  }

  return {
    deps,
    metrics,
    url: server ? server.url.href.replace(/\/$/, "") : undefined,
    async stop() {
      // Live streams never finish on their own: end them first (clients reconnect elsewhere), with
      // the rest of the process's own state, which in-flight work can do without.
      await closeLocal(deps);
      // Both wait for work in progress: stop() without force lets in-flight requests finish while
      // refusing new connections, and the worker lets running jobs finish while taking no new one.
      // The indexer finishes (commits) the batch in progress and releases its lock.
      await Promise.all([server?.stop(), worker?.close(), indexer?.stop()]);
      await closeDeps(deps);
    },
  };
}
