// The chain indexer (role `indexer`). Exactly one is active per chain and database: it holds a
// Postgres advisory lock on a dedicated connection and writes every batch through that same
// connection, so a writer that lost its session (and with it the lock) cannot commit anything.
// Others wait, trying the lock, and take over when the holder's session ends (a crash ends it).
//
// One step: check the checkpoint's block hash against the chain (a reorg: roll back to the newest
// recorded block the chain still has), read headers then logs of the next range, check that they
// belong to one chain linked to the checkpoint, and commit transfers, balances, state, block
// hashes and the checkpoint in one transaction. Only then publish.
import pg from "pg";
import type { Registry } from "prom-client";
import type { Config } from "../../config";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import {
  type BlockHeader,
  ChainReader,
  type DecodedLogs,
  decodeLogs,
  describeChainError,
  RangeSizer,
  type RawLog,
  type SuiteLog,
  type TransferLog,
  ZERO_HASH,
} from "./chain-reader";
import {
  configuredFactories,
  type FactorySource,
  findDeploymentBlock,
  readDeploymentFactory,
  readTokenFacts,
} from "./discovery";
import { publishTokenEvents, type TokenTransfersEvent } from "./events";
import { type IndexerReport, type IndexerStatus, writeIndexerReport } from "./indexer-status";
import { tryIndexerLock } from "./lock";
import { type IndexerMetrics, indexerMetrics } from "./metrics";
import { OpeningReadError, openingOf, readOpeningBalances } from "./opening";
import {
  findFailingTokens,
  findNegativeBalances,
  isDataError,
  isNegativeBalanceError,
  quarantineTokens,
  type TokenFault,
} from "./quarantine";
import { insertOpeningBalances, insertTokens, insertTransfers, type NewToken, type OpeningBalance } from "./store";
import { type Checkpoint, moveCheckpoint, readCheckpoint, recentBlocks, recordBlocks } from "./store-checkpoint";
import { rollbackTo } from "./store-rollback";
import { insertStateEvents } from "./store-state";

export interface IndexerDeps {
  config: Pick<Config, "db" | "redis" | "indexer"> & {
    chain: Pick<Config["chain"], "deploymentFile"> & { rpcUrl: string };
  };
  redis: Redis;
  log: Logger;
}

export interface RunningIndexer {
  status(): IndexerStatus;
  /** Finishes the batch in progress (commit and publish), releases the lock, closes its connection. */
  stop(): Promise<void>;
}

/** A token its factory announced (TREXSuiteDeployed), with its facts read at block `factsAt`. */
async function suiteToken(
  reader: ChainReader,
  suite: SuiteLog,
  factsAt: number,
  catchUpBlock: number | null,
): Promise<NewToken> {
  return {
    address: suite.token,
    ...(await readTokenFacts(reader, suite.token, factsAt)),
    kind: "t-rex",
    identityRegistry: suite.identityRegistry,
    discoveredVia: "factory",
    deploymentBlock: suite.blockNumber,
    factory: suite.factory,
    catchUpBlock,
  };
}

const PROGRESS_EVERY_MS = 5_000;
/** A gap this large counts as a backfill (progress lines in the log). */
const BACKFILL_BLOCKS = 20;

interface TokenRow {
  address: string;
  identityRegistry: string | null;
  deploymentBlock: number;
  catchUpBlock: number | null;
  openingBlock: number | null;
  quarantined: boolean;
}

/** Attempts in a row the node may refuse a token's opening balances before it is quarantined. */
const OPENING_READ_ATTEMPTS = 3;
/** How often the active indexer refreshes its report for admins (more often on failures). */
const REPORT_EVERY_MS = 2_000;

export function startIndexer(deps: IndexerDeps, options: { registry?: Registry } = {}): RunningIndexer {
  const indexer = new Indexer(deps, options.registry);
  indexer.start();
  return indexer;
}

class Indexer implements RunningIndexer {
  private readonly reader: ChainReader;
  private readonly log: Logger;
  private readonly metrics?: IndexerMetrics;
  private readonly sizer: RangeSizer;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private state: Omit<IndexerStatus, "state"> = { role: "starting", ready: true, quarantinedTokens: 0 };
  /** The last failure, redacted: for the log and admins, never for /ready. */
  private lastError: { message: string; at: string } | undefined;
  private lastReport = 0;
  /** Opening balances the node refused, by token: attempts in a row. */
  private openingRefusals = new Map<string, number>();
  private chainId = 0;
  private checkpoint: Checkpoint | undefined;
  private factories: FactorySource[] = [];
  private deploymentFileMtime: number | undefined;
  private lastSourcesCheck = 0;
  private progress = { at: performance.now(), block: 0, events: 0 };
  private failures = 0;
  private prefetched:
    | { from: number; rolesKey: string; range: Promise<Awaited<ReturnType<Indexer["readRange"]>>> }
    | undefined;

  constructor(
    private readonly deps: IndexerDeps,
    registry?: Registry,
  ) {
    this.reader = new ChainReader(deps.config.chain.rpcUrl);
    this.log = deps.log.child({ component: "indexer" });
    this.metrics = registry ? indexerMetrics(registry) : undefined;
    this.sizer = new RangeSizer(deps.config.indexer.maxBlockRange);
  }

  start(): void {
    this.running = this.run();
  }

  status(): IndexerStatus {
    const { role, ready } = this.state;
    const state: IndexerStatus["state"] =
      role === "stopped"
        ? "stopped"
        : this.failures > 0
          ? "failing"
          : role === "active"
            ? ready
              ? "ok"
              : "behind"
            : role;
    return { ...this.state, state };
  }

  /** The status with the last error (redacted), into Redis for system.indexer; at most every few seconds. */
  private report(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = now;
    const report: IndexerReport = {
      ...this.status(),
      lastError: this.lastError?.message ?? null,
      lastErrorAt: this.lastError?.at ?? null,
      reportedAt: new Date(now).toISOString(),
    };
    void writeIndexerReport(this.deps.redis, report).catch(() => {});
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.state = { ...this.state, role: "stopped" };
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
        this.chainId = await this.reader.chainId();
        client = new pg.Client({
          connectionString: this.deps.config.db.url,
          keepAlive: true,
          application_name: "kit-indexer",
        });
        client.on("error", (err) => this.log.warn({ err }, "indexer lock connection error"));
        await client.connect();
        if (!(await this.acquireLock(client))) break;
        this.state = { ...this.state, role: "active", chainId: this.chainId };
        this.report(true);
        this.metrics?.active.set(1);
        this.log.info({ chainId: this.chainId }, "indexer lock acquired: indexing");
        await this.indexWhileLocked(client);
      } catch (error) {
        this.failures += 1;
        this.state = { ...this.state, ready: this.failures < 3 };
        // Never the raw error: a node's message carries its URL (API key included) and request body.
        const message = describeChainError(error);
        this.lastError = { message, at: new Date().toISOString() };
        this.log.error({ error: message, failures: this.failures }, "indexer failed; retrying");
        this.report(true);
        await this.sleep(Math.min(500 * 2 ** Math.min(this.failures, 5), 10_000));
      } finally {
        this.metrics?.active.set(0);
        if (this.state.role === "active") this.state = { ...this.state, role: "standby" };
        // Ending the session releases the lock (a crash does the same).
        await client?.end().catch(() => {});
      }
    }
    this.state = { ...this.state, role: "stopped" };
  }

  /** Waits for the lock; false when stopped first. */
  private async acquireLock(client: pg.Client): Promise<boolean> {
    this.state = { ...this.state, role: "standby", chainId: this.chainId, ready: true };
    let logged = false;
    while (!this.stopped) {
      if (await tryIndexerLock(client, this.chainId)) return true;
      // Another indexer is active: waiting is healthy, whatever failed before.
      this.failures = 0;
      if (!logged) this.log.info({ chainId: this.chainId }, "another indexer is active; waiting to take over");
      logged = true;
      await this.sleep(Math.min(this.deps.config.indexer.pollIntervalMs, 500));
    }
    return false;
  }

  private async indexWhileLocked(client: pg.Client): Promise<void> {
    this.prefetched = undefined;
    this.checkpoint = await readCheckpoint(client, this.chainId);
    this.progress = { at: performance.now(), block: this.checkpoint?.blockNumber ?? 0, events: 0 };
    this.lastSourcesCheck = 0;
    while (!this.stopped) {
      await this.refreshSources(client);
      const progressed = await this.step(client);
      this.failures = 0;
      this.report();
      if (!progressed) await this.sleep(this.deps.config.indexer.pollIntervalMs);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sources

  /**
   * Configured tokens and factories; the deployment file is re-read when it appears or changes, and
   * a configured token missing from the table (new, or reset by an operator) is added.
   */
  private async refreshSources(client: pg.Client): Promise<void> {
    const now = Date.now();
    if (now - this.lastSourcesCheck < 10_000) return;
    const first = this.lastSourcesCheck === 0;
    this.lastSourcesCheck = now;
    const file = this.deps.config.chain.deploymentFile;
    const deployed = file ? await readDeploymentFactory(file) : undefined;
    const fileChanged = first || deployed?.mtimeMs !== this.deploymentFileMtime;
    const known = new Set((await this.tokens(client)).map((t) => t.address));
    const configured = this.deps.config.indexer.tokens.filter((t) => !known.has(t.address));
    if (!fileChanged && configured.length === 0) return;
    this.deploymentFileMtime = deployed?.mtimeMs;
    const head = await this.reader.head();
    const cp = this.checkpoint;
    const newTokens: NewToken[] = [];
    for (const token of configured) {
      const facts = await readTokenFacts(this.reader, token.address);
      const deploymentBlock = token.startBlock ?? (await findDeploymentBlock(this.reader, token.address, head));
      // Started after its first transfers: holders' balances there are read from the chain.
      const opening =
        token.startBlock === undefined ? null : await openingOf(this.reader, token.address, token.startBlock);
      newTokens.push({
        address: token.address,
        ...facts,
        discoveredVia: "config",
        deploymentBlock,
        factory: null,
        catchUpBlock: cp && cp.blockNumber >= deploymentBlock ? deploymentBlock - 1 : null,
        openingBlock: opening?.block ?? null,
        openingSupply: opening?.supply,
      });
      known.add(token.address);
    }
    if (fileChanged) newTokens.push(...(await this.refreshFactories(deployed, head, known)));
    if (newTokens.length > 0) {
      await insertTokens(client, this.chainId, newTokens);
      this.log.info({ tokens: newTokens.map((t) => `${t.symbol} ${t.address}`) }, "tokens added");
    }
  }

  /** The factories to follow; the tokens of those added behind the checkpoint (they catch up). */
  private async refreshFactories(
    deployed: Awaited<ReturnType<typeof readDeploymentFactory>>,
    head: number,
    known: Set<string>,
  ): Promise<NewToken[]> {
    const file = this.deps.config.chain.deploymentFile;
    const factories = configuredFactories(this.deps.config);
    if (deployed && !factories.some((f) => f.address === deployed.address)) {
      // A file left by another chain (a laptop's dev chain, a reset anvil) must not add a factory
      // that is not on this one.
      const here =
        (deployed.chainId === undefined || deployed.chainId === this.chainId) &&
        (await this.reader.code(deployed.address, head)) !== "0x";
      if (here) factories.push({ address: deployed.address, startBlock: deployed.startBlock });
      else
        this.log.warn(
          { file, factory: deployed.address },
          "the deployment file's factory is not on this chain; ignored",
        );
    }
    const added = factories.filter((f) => !this.factories.some((previous) => previous.address === f.address));
    this.factories = factories;
    const cp = this.checkpoint;
    const newTokens: NewToken[] = [];
    // A factory configured after the checkpoint passed its start: its earlier suites are found
    // with one scan, and their tokens catch up on their own.
    if (cp) {
      for (const factory of added) {
        if (factory.startBlock > cp.blockNumber) continue;
        const roles = new Map([[factory.address, "factory" as const]]);
        const logs = await this.reader.logsAdaptive([factory.address], factory.startBlock, cp.blockNumber);
        for (const suite of decodeLogs(logs, roles).suites) {
          if (known.has(suite.token)) continue;
          newTokens.push(await suiteToken(this.reader, suite, suite.blockNumber, suite.blockNumber - 1));
          known.add(suite.token);
        }
      }
    }
    return newTokens;
  }

  private async tokens(client: pg.Client): Promise<TokenRow[]> {
    const { rows } = await client.query<{
      address: string;
      identity_registry: string | null;
      deployment_block: string;
      catch_up_block: string | null;
      opening_block: string | null;
      quarantined: boolean;
    }>(
      `select address, identity_registry, deployment_block, catch_up_block, opening_block,
         quarantined_at is not null as quarantined
       from tokens where chain_id = $1`,
      [this.chainId],
    );
    return rows.map((r) => ({
      address: r.address,
      identityRegistry: r.identity_registry,
      deploymentBlock: Number(r.deployment_block),
      catchUpBlock: r.catch_up_block === null ? null : Number(r.catch_up_block),
      openingBlock: r.opening_block === null ? null : Number(r.opening_block),
      quarantined: r.quarantined,
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Steps

  /** One unit of work; false when there was nothing to do (the caller then waits a poll interval). */
  private async step(client: pg.Client): Promise<boolean> {
    const { confirmations, reorgWindow } = this.deps.config.indexer;
    const all = await this.tokens(client);
    // Quarantined tokens are in no batch: the others go on without them.
    const tokens = all.filter((t) => !t.quarantined);
    this.observeQuarantined(all.length - tokens.length);
    const head = await this.reader.head();
    this.observeHead(head);

    let cp = this.checkpoint;
    if (!cp) {
      const starts = [
        ...tokens.filter((t) => t.catchUpBlock === null).map((t) => t.deploymentBlock),
        ...this.factories.map((f) => f.startBlock),
      ];
      if (starts.length === 0) return false;
      const start = Math.min(...starts);
      // A start block the chain has not reached yet: wait for it.
      if (start - 1 > head) return false;
      const header = start > 0 ? await this.reader.header(start - 1) : undefined;
      cp = { blockNumber: start - 1, blockHash: header?.hash ?? ZERO_HASH };
      await this.transaction(client, async () => {
        await moveCheckpoint(client, this.chainId, undefined, cp as Checkpoint);
        if (header) await recordBlocks(client, this.chainId, [header], 0);
      });
      this.checkpoint = cp;
      this.progress = { at: performance.now(), block: cp.blockNumber, events: 0 };
    }

    if (cp.blockNumber >= 0) {
      const current = await this.reader.header(cp.blockNumber);
      if (current?.hash !== cp.blockHash) {
        await this.rollBackReorg(client, cp);
        return true;
      }
    }

    const catchingUp = tokens.filter((t) => t.catchUpBlock !== null);
    if (catchingUp.length > 0) {
      await this.catchUp(client, cp, catchingUp);
      return true;
    }

    const target = head - confirmations;
    if (cp.blockNumber >= target) {
      this.reportProgress(false);
      return false;
    }
    const started = performance.now();
    const from = cp.blockNumber + 1;
    const followed = tokens.filter((t) => t.catchUpBlock === null);
    const roles = this.roles(followed, true);
    const rolesKey = [...roles.keys()].sort().join();
    // A range read ahead while the previous batch was written, if it is the one wanted now.
    const prefetched = this.prefetched;
    this.prefetched = undefined;
    const range =
      prefetched && prefetched.from === from && prefetched.rolesKey === rolesKey
        ? await prefetched.range
        : await this.readRange(from, Math.min(target, cp.blockNumber + this.sizer.size), head, roles);
    if (!range || !this.linked(range.headers, cp)) return false;
    const { to, headers, logs } = range;
    const decoded = decodeLogs(logs, roles);

    // Suites deployed in this range: their tokens exist from that block on; read them now, so that
    // the batch has all of them.
    const known = new Set(all.map((t) => t.address));
    const newTokens: NewToken[] = [];
    for (const suite of decoded.suites) {
      if (known.has(suite.token)) continue;
      known.add(suite.token);
      newTokens.push(await suiteToken(this.reader, suite, to, null));
    }
    if (newTokens.length > 0) {
      const extraRoles = this.roles(
        newTokens.map((t) => ({ ...t, catchUpBlock: null })),
        false,
      );
      for (const address of roles.keys()) extraRoles.delete(address);
      const since = Math.min(...newTokens.map((t) => t.deploymentBlock));
      const extraLogs = await this.reader.logsAdaptive([...extraRoles.keys()], since, to);
      if (!this.consistent(extraLogs, headers)) return true;
      const extra = decodeLogs(extraLogs, extraRoles);
      decoded.transfers.push(...extra.transfers);
      decoded.states.push(...extra.states);
    }

    await this.fillBlockTimes(decoded.transfers, headers);
    const openings = await this.readOpenings(client, cp, followed, decoded);
    if (!openings) return true;
    const toHeader = headers.get(to) as BlockHeader;
    const next = { blockNumber: to, blockHash: toHeader.hash };
    const read = performance.now();
    if (to < target && newTokens.length === 0) {
      const nextTo = Math.min(target, to + this.sizer.size);
      this.prefetched = {
        from: to + 1,
        rolesKey,
        range: this.readRange(to + 1, nextTo, head, roles).catch(() => undefined),
      };
    }
    const inserted = await this.transaction(client, async () => {
      await insertTokens(client, this.chainId, newTokens);
      await insertOpeningBalances(client, this.chainId, openings);
      const transfers = await insertTransfers(client, this.chainId, decoded.transfers);
      await insertStateEvents(client, this.chainId, decoded.states);
      await recordBlocks(client, this.chainId, [...headers.values()], to - reorgWindow);
      await moveCheckpoint(client, this.chainId, cp, next);
      return transfers;
    }).catch(async (error) => {
      if (await this.isolate(client, error, cp, { ...decoded, openings }, newTokens)) return undefined;
      throw error;
    });
    if (!inserted) return true;
    this.checkpoint = next;
    this.log.debug(
      {
        from,
        to,
        logs: logs.length,
        readMs: Math.round(read - started),
        writeMs: Math.round(performance.now() - read),
      },
      "batch committed",
    );
    if (newTokens.length > 0)
      this.log.info({ tokens: newTokens.map((t) => `${t.symbol} ${t.address}`) }, "tokens deployed by a factory");
    await this.publish(inserted);
    this.committed(started, to - from + 1, inserted.length, decoded.states.length, head);
    return true;
  }

  /**
   * Headers first, logs second: a reorg in between shows as a log whose block hash is not the
   * header's, or (for a block that had logs and now has none) as a checkpoint hash the chain no
   * longer has at the next step. undefined when the two disagree (the caller retries).
   */
  private async readRange(
    from: number,
    to: number,
    head: number,
    roles: Map<string, "token" | "registry" | "factory">,
  ): Promise<{ to: number; headers: Map<number, BlockHeader>; logs: RawLog[] } | undefined> {
    const numbers = new Set<number>([from, to]);
    for (let n = Math.max(from, head - this.deps.config.indexer.reorgWindow); n <= to; n++) numbers.add(n);
    const headers = await this.reader.headers([...numbers].sort((a, b) => a - b));
    if (!headers.has(from) || !headers.has(to)) return undefined;
    const logs = await this.reader.logsAdaptive([...roles.keys()], from, to, this.sizer);
    if (!this.consistent(logs, headers)) return undefined;
    return { to, headers, logs };
  }

  /** Tokens added behind the checkpoint read their own history up to it, then join the others. */
  private async catchUp(client: pg.Client, cp: Checkpoint, catchingUp: TokenRow[]): Promise<void> {
    const from = Math.min(...catchingUp.map((t) => t.catchUpBlock as number)) + 1;
    const to = Math.min(cp.blockNumber, from + this.sizer.size - 1);
    const roles = this.roles(
      catchingUp.map((t) => ({ ...t, catchUpBlock: null })),
      false,
    );
    const logs = from <= to ? await this.reader.logsAdaptive([...roles.keys()], from, to, this.sizer) : [];
    const decoded = decodeLogs(logs, roles);
    await this.fillBlockTimes(decoded.transfers, new Map());
    const openings = await this.readOpenings(client, cp, catchingUp, decoded);
    if (!openings) return;
    const recorded = new Map((await recentBlocks(client, this.chainId, to)).map((b) => [b.number, b.hash]));
    // Blocks behind the checkpoint whose hash we know must still be those blocks.
    if (
      logs.some(
        (l) => recorded.has(Number(l.blockNumber)) && recorded.get(Number(l.blockNumber)) !== l.blockHash.toLowerCase(),
      )
    )
      return;
    const inserted = await this.transaction(client, async () => {
      await insertOpeningBalances(client, this.chainId, openings);
      const transfers = await insertTransfers(client, this.chainId, decoded.transfers);
      await insertStateEvents(client, this.chainId, decoded.states);
      await client.query(
        `update tokens set catch_up_block = case when $3::bigint >= $4::bigint then null else $3::bigint end
         where chain_id = $1 and address = any($2::text[]) and catch_up_block is not null`,
        [this.chainId, catchingUp.map((t) => t.address), to, cp.blockNumber],
      );
      return transfers;
    }).catch(async (error) => {
      if (await this.isolate(client, error, cp, { ...decoded, openings })) return undefined;
      throw error;
    });
    if (!inserted) return;
    await this.publish(inserted);
    this.log.info(
      { tokens: catchingUp.map((t) => t.address), to, checkpoint: cp.blockNumber, transfers: inserted.length },
      to >= cp.blockNumber ? "tokens caught up" : "tokens catching up",
    );
  }

  private async rollBackReorg(client: pg.Client, cp: Checkpoint): Promise<void> {
    this.prefetched = undefined;
    const recorded = await recentBlocks(client, this.chainId, cp.blockNumber);
    let ancestor: Checkpoint | undefined;
    for (let i = 0; i < recorded.length && !ancestor; i += 16) {
      const part = recorded.slice(i, i + 16);
      const chain = await this.reader.headers(part.map((b) => b.number));
      const match = part.find((b) => chain.get(b.number)?.hash === b.hash);
      if (match) ancestor = { blockNumber: match.number, blockHash: match.hash };
    }
    if (!ancestor) {
      throw new Error(
        `reorg deeper than the ${recorded.length} recorded blocks below ${cp.blockNumber} (INDEXER_REORG_WINDOW): re-index (stop every indexer, run \`bun run kit indexer:reset --chain-id ${this.chainId}\`, start them again)`,
      );
    }
    const common = ancestor;
    const result = await this.transaction(client, () => rollbackTo(client, this.chainId, common, cp));
    this.checkpoint = common;
    this.metrics?.reorgs.inc();
    this.metrics?.indexedBlock.set(common.blockNumber);
    this.log.warn(
      {
        from: cp.blockNumber,
        ancestor: common.blockNumber,
        depth: cp.blockNumber - common.blockNumber,
        transfersRemoved: [...result.removed.values()].reduce((a, b) => a + b, 0),
        tokensForgotten: result.forgottenTokens,
      },
      "reorg: rolled back to the common ancestor; re-reading",
    );
    const events: TokenTransfersEvent[] = [...result.removed].map(([token, removed]) => ({
      type: "reorg",
      chainId: this.chainId,
      token,
      ancestorBlock: common.blockNumber,
      removed,
    }));
    await publishTokenEvents(this.deps, events);
  }

  // ---------------------------------------------------------------------------------------------
  // Tokens whose events cannot be applied

  /**
   * The opening balances a batch of `tokens` needs (see opening.ts); undefined when a token was
   * quarantined instead (the node kept refusing them), and the batch is to be read again.
   */
  private async readOpenings(
    client: pg.Client,
    cp: Checkpoint,
    tokens: TokenRow[],
    decoded: DecodedLogs,
  ): Promise<OpeningBalance[] | undefined> {
    const openingBlocks = new Map<string, number>();
    for (const t of tokens) if (t.openingBlock !== null) openingBlocks.set(t.address, t.openingBlock);
    try {
      const openings = await readOpeningBalances(this.reader, client, this.chainId, openingBlocks, decoded);
      this.openingRefusals.clear();
      return openings;
    } catch (error) {
      if (!(error instanceof OpeningReadError)) throw error;
      const attempts = (this.openingRefusals.get(error.token) ?? 0) + 1;
      this.openingRefusals.set(error.token, attempts);
      // A refusal may be a passing one: retried (with the usual backoff) a few times first.
      if (attempts < OPENING_READ_ATTEMPTS) throw error;
      this.openingRefusals.delete(error.token);
      await this.quarantine(client, cp, [{ token: error.token, reason: error.reason }], []);
      return undefined;
    }
  }

  /**
   * After a batch failed on its own data: quarantines the tokens that caused it (true: read the
   * batch again without them) — those leaving a holder below zero, else those whose writes fail
   * on their own.
   */
  private async isolate(
    client: pg.Client,
    error: unknown,
    cp: Checkpoint,
    batch: Pick<DecodedLogs, "transfers" | "states"> & { openings: OpeningBalance[] },
    newTokens: NewToken[] = [],
  ): Promise<boolean> {
    if (!isDataError(error)) return false;
    let faults = isNegativeBalanceError(error)
      ? await findNegativeBalances(client, this.chainId, batch.transfers, batch.openings)
      : [];
    if (faults.length === 0) faults = await findFailingTokens(client, this.chainId, batch);
    if (faults.length === 0) return false;
    await this.quarantine(client, cp, faults, newTokens);
    return true;
  }

  /** Takes tokens out of indexing, with their reasons; tokens found in the failed batch are kept. */
  private async quarantine(client: pg.Client, cp: Checkpoint, faults: TokenFault[], newTokens: NewToken[]) {
    this.prefetched = undefined;
    await this.transaction(client, async () => {
      // A factory's token deployed in the failed range: stored now, so that it can be quarantined
      // (and the others are not looked for again).
      await insertTokens(client, this.chainId, newTokens);
      await quarantineTokens(client, this.chainId, faults, cp.blockNumber);
    });
    for (const fault of faults)
      this.log.warn(
        { token: fault.token, reason: fault.reason },
        "token quarantined: left out of indexing until `bun run kit indexer:reset --token` (the others go on)",
      );
    this.observeQuarantined(this.state.quarantinedTokens + faults.length);
    this.report(true);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private roles(tokens: Pick<TokenRow, "address" | "identityRegistry">[], withFactories: boolean) {
    const roles = new Map<string, "token" | "registry" | "factory">();
    for (const token of tokens) {
      roles.set(token.address, "token");
      if (token.identityRegistry) roles.set(token.identityRegistry, "registry");
    }
    if (withFactories) for (const factory of this.factories) roles.set(factory.address, "factory");
    return roles;
  }

  /** Block times the logs did not carry: from the headers read, else from headers fetched now. */
  private async fillBlockTimes(transfers: TransferLog[], headers: Map<number, BlockHeader>): Promise<void> {
    const missing = new Set<number>();
    for (const t of transfers) if (t.blockTime === null && !headers.has(t.blockNumber)) missing.add(t.blockNumber);
    const fetched = missing.size > 0 ? await this.reader.headers([...missing]) : new Map<number, BlockHeader>();
    for (const t of transfers) {
      t.blockTime ??= (headers.get(t.blockNumber) ?? fetched.get(t.blockNumber))?.timestamp ?? null;
    }
  }

  /** Consecutive headers link by parent hash, and the first links to the checkpoint. */
  private linked(headers: Map<number, BlockHeader>, cp: Checkpoint): boolean {
    const from = cp.blockNumber + 1;
    const first = headers.get(from);
    if (!first) return false;
    if (first.parentHash !== cp.blockHash && !(cp.blockNumber < 0 && cp.blockHash === ZERO_HASH)) return false;
    for (const [number, header] of headers) {
      const parent = headers.get(number - 1);
      if (parent && header.parentHash !== parent.hash) return false;
    }
    return true;
  }

  /** Every log of a block whose header was read carries that header's hash. */
  private consistent(logs: RawLog[], headers: Map<number, BlockHeader>): boolean {
    for (const log of logs) {
      const header = headers.get(Number(log.blockNumber));
      if (header && header.hash !== log.blockHash.toLowerCase()) return false;
    }
    return true;
  }

  private async transaction<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
    await client.query("begin");
    try {
      const result = await work();
      await client.query("commit");
      return result;
    } catch (error) {
      await client.query("rollback").catch(() => {});
      throw error;
    }
  }

  private async publish(transfers: TransferLog[]): Promise<void> {
    if (transfers.length === 0) return;
    const byToken = new Map<string, TransferLog[]>();
    for (const transfer of transfers) {
      const list = byToken.get(transfer.token);
      if (list) list.push(transfer);
      else byToken.set(transfer.token, [transfer]);
    }
    await publishTokenEvents(
      this.deps,
      [...byToken].map(([token, list]) => ({
        type: "transfers",
        chainId: this.chainId,
        token,
        transfers: list.map(({ txHash, logIndex, blockNumber, from, to, amount }) => ({
          txHash,
          logIndex,
          blockNumber,
          from,
          to,
          amount,
        })),
      })),
    );
  }

  private observeQuarantined(count: number): void {
    this.state.quarantinedTokens = count;
    this.metrics?.quarantinedTokens.set(count);
  }

  private observeHead(head: number): void {
    this.state.head = head;
    this.metrics?.headBlock.set(head);
    this.updateLag();
  }

  private updateLag(): void {
    const { head } = this.state;
    const indexed = this.checkpoint?.blockNumber;
    if (head === undefined || indexed === undefined) return;
    const lag = Math.max(0, head - indexed);
    this.state.indexedBlock = indexed;
    this.state.lagBlocks = lag;
    this.state.ready = lag <= this.deps.config.indexer.maxLagBlocks + this.deps.config.indexer.confirmations;
    this.metrics?.indexedBlock.set(indexed);
    this.metrics?.lagBlocks.set(lag);
  }

  private committed(started: number, blocks: number, transfers: number, states: number, head: number): void {
    this.metrics?.batches.inc();
    this.metrics?.blocks.inc(blocks);
    this.metrics?.events.inc({ kind: "transfer" }, transfers);
    this.metrics?.events.inc({ kind: "state" }, states);
    this.metrics?.batchDuration.observe((performance.now() - started) / 1000);
    this.progress.events += transfers + states;
    this.observeHead(head);
    this.reportProgress(head - (this.checkpoint?.blockNumber ?? head) > BACKFILL_BLOCKS);
  }

  /** Every PROGRESS_EVERY_MS: throughput into the gauge; and a log line while backfilling. */
  private reportProgress(backfilling: boolean): void {
    const now = performance.now();
    const seconds = (now - this.progress.at) / 1000;
    if (seconds * 1000 < PROGRESS_EVERY_MS) return;
    const block = this.checkpoint?.blockNumber ?? 0;
    const blocksPerSecond = (block - this.progress.block) / seconds;
    const eventsPerSecond = this.progress.events / seconds;
    this.state.eventsPerSecond = Math.round(eventsPerSecond);
    this.metrics?.eventsPerSecond.set(eventsPerSecond);
    if (backfilling) {
      const left = (this.state.head ?? block) - block;
      this.log.info(
        {
          block,
          head: this.state.head,
          blocksPerSecond: Math.round(blocksPerSecond),
          eventsPerSecond: Math.round(eventsPerSecond),
          etaSeconds: blocksPerSecond > 0 ? Math.round(left / blocksPerSecond) : null,
        },
        "backfilling",
      );
    }
    this.progress = { at: now, block, events: 0 };
  }
}
