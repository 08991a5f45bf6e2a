// The chain indexer (role `indexer`). Exactly one is active per chain and database: it holds a
// Postgres advisory lock on a dedicated connection and writes every batch through that same
// connection, so a writer that lost its session (and with it the lock) cannot commit anything.
// Others wait, trying the lock, and take over when the holder's session ends (a crash ends it).
// This file is that leadership and the loop around it; one step of the active indexer is in
// indexer-step.ts.
import pg from "pg";
import type { Registry } from "prom-client";
import { ChainReader, describeChainError, RangeSizer } from "./chain-reader";
import type { IndexerContext, IndexerDeps } from "./indexer-context";
import { indexerStatus, reportStatus } from "./indexer-progress";
import { refreshSources } from "./indexer-sources";
import type { IndexerStatus } from "./indexer-status";
import { step } from "./indexer-step";
import { tryIndexerLock } from "./lock";
import { indexerMetrics } from "./metrics";
import { readCheckpoint } from "./store-checkpoint";

export interface RunningIndexer {
  status(): IndexerStatus;
  /** Finishes the batch in progress (commit and publish), releases the lock, closes its connection. */
  stop(): Promise<void>;
}

export function startIndexer(deps: IndexerDeps, options: { registry?: Registry } = {}): RunningIndexer {
  const indexer = new Indexer(deps, options.registry);
  indexer.start();
  return indexer;
}

class Indexer implements RunningIndexer {
  private readonly ctx: IndexerContext;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(deps: IndexerDeps, registry?: Registry) {
    this.ctx = {
      deps,
      reader: new ChainReader(deps.config.chain.rpcUrl),
      log: deps.log.child({ component: "indexer" }),
      metrics: registry ? indexerMetrics(registry) : undefined,
      sizer: new RangeSizer(deps.config.indexer.maxBlockRange),
      state: { role: "starting", ready: true, quarantinedTokens: 0 },
      lastError: undefined,
      lastReport: 0,
      openingRefusals: new Map<string, number>(),
      chainId: 0,
      checkpoint: undefined,
      factories: [],
      deploymentFileMtime: undefined,
      lastSourcesCheck: 0,
      progress: { at: performance.now(), block: 0, events: 0 },
      failures: 0,
      prefetched: undefined,
    };
  }

  start(): void {
    this.running = this.run();
  }

  status(): IndexerStatus {
    return indexerStatus(this.ctx);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.ctx.state = { ...this.ctx.state, role: "stopped" };
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let client: pg.Client | undefined;
      try {
        this.ctx.chainId = await this.ctx.reader.chainId();
        client = new pg.Client({
          // The lock is this session's: straight to Postgres (DATABASE_DIRECT_URL), never through a
          // transaction-mode pooler, which would hand the lock's server connection to others.
          connectionString: this.ctx.deps.config.db.directUrl,
          keepAlive: true,
          application_name: "kit-indexer",
        });
        client.on("error", (err) => this.ctx.log.warn({ err }, "indexer lock connection error"));
        await client.connect();
        if (!(await this.acquireLock(client))) break;
        this.ctx.state = { ...this.ctx.state, role: "active", chainId: this.ctx.chainId };
        reportStatus(this.ctx, true);
        this.ctx.metrics?.active.set(1);
        this.ctx.log.info({ chainId: this.ctx.chainId }, "indexer lock acquired: indexing");
        await this.indexWhileLocked(client);
      } catch (error) {
        this.ctx.failures += 1;
        this.ctx.state = { ...this.ctx.state, ready: this.ctx.failures < 3 };
        // Never the raw error: a node's message carries its URL (API key included) and request body.
        const message = describeChainError(error);
        this.ctx.lastError = { message, at: new Date().toISOString() };
        this.ctx.log.error({ error: message, failures: this.ctx.failures }, "indexer failed; retrying");
        reportStatus(this.ctx, true);
        await this.sleep(Math.min(500 * 2 ** Math.min(this.ctx.failures, 5), 10_000));
      } finally {
        this.ctx.metrics?.active.set(0);
        if (this.ctx.state.role === "active") this.ctx.state = { ...this.ctx.state, role: "standby" };
        // Ending the session releases the lock (a crash does the same).
        await client?.end().catch(() => {});
      }
    }
    this.ctx.state = { ...this.ctx.state, role: "stopped" };
  }

  /** Waits for the lock; false when stopped first. */
  private async acquireLock(client: pg.Client): Promise<boolean> {
    this.ctx.state = { ...this.ctx.state, role: "standby", chainId: this.ctx.chainId, ready: true };
    let logged = false;
    while (!this.stopped) {
      if (await tryIndexerLock(client, this.ctx.chainId)) return true;
      // Another indexer is active: waiting is healthy, whatever failed before.
      this.ctx.failures = 0;
      if (!logged) this.ctx.log.info({ chainId: this.ctx.chainId }, "another indexer is active; waiting to take over");
      logged = true;
      await this.sleep(Math.min(this.ctx.deps.config.indexer.pollIntervalMs, 500));
    }
    return false;
  }

  private async indexWhileLocked(client: pg.Client): Promise<void> {
    this.ctx.prefetched = undefined;
    this.ctx.checkpoint = await readCheckpoint(client, this.ctx.chainId);
    this.ctx.progress = { at: performance.now(), block: this.ctx.checkpoint?.blockNumber ?? 0, events: 0 };
    this.ctx.lastSourcesCheck = 0;
    while (!this.stopped) {
      await refreshSources(this.ctx, client);
      const progressed = await step(this.ctx, client);
      this.ctx.failures = 0;
      reportStatus(this.ctx);
      if (!progressed) await this.sleep(this.ctx.deps.config.indexer.pollIntervalMs);
    }
  }
}
