// The indexer in-process against a real anvil, Postgres and Redis: a backfill equals the chain,
// following new blocks stays exact, a token configured later catches up, messages come after
// the commit, and /metrics and status report head, lag and throughput.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { DEV_ACCOUNTS, type TestChain, testChain } from "../../../test/bulk-token";
import { expectIndexedEqualsChain, NO_DEPLOYMENT_FILE, waitForHead } from "../../../test/indexer";
import { createTestEnvironment } from "../../../test/kit";
import { createOperationalApp } from "../../app";
import { loadConfig, requireResolved } from "../../config";
import { createDatabase } from "../../infra/db";
import { createLogger } from "../../infra/log";
import { closeRedis, createRedis } from "../../infra/redis";
import { closeDeps, createDeps } from "../../runtime";
import { tokenTransfersEvent } from "./events";
import { type RunningIndexer, startIndexer } from "./indexer";
import type { IndexerStatus } from "./indexer-status";

let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
let chain: TestChain;
let pool: ReturnType<typeof createDatabase>["pool"];
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  environment = await createTestEnvironment({ chain: true, env: { CHAIN_DEPLOYMENT_FILE: NO_DEPLOYMENT_FILE } });
  chain = testChain(environment.env.RPC_URL as string);
  const config = loadConfig(environment.env);
  pool = createDatabase(config, createLogger(config)).pool;
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await pool.end();
  await environment.cleanup();
});

function runIndexer(env: Record<string, string>) {
  const config = requireResolved(loadConfig({ ...environment.env, INDEXER_POLL_MS: "50", ...env }));
  const log = createLogger(config);
  const redis = createRedis(config, log);
  const registry = new Registry();
  const indexer = startIndexer({ config, redis, log }, { registry });
  const stop = async () => {
    await indexer.stop();
    await closeRedis(redis);
  };
  closers.push(stop);
  return { indexer, registry, stop, config };
}

describe("indexer", () => {
  let token: { address: string; block: number };
  let holders: string[];
  let running: { indexer: RunningIndexer; registry: Registry; stop: () => Promise<void> };
  const received: { token: string; txHash: string; logIndex: number; inDb: boolean }[] = [];
  let subscriber: Redis;

  test("a backfill equals the chain: every holder's balance, the total supply, each transfer once", async () => {
    token = await chain.deploy("Bulk", "BLK");
    await chain.churn(token.address, { seed: 7, holders: 300, transfers: 6_000, perTx: 250, txsPerBlock: 3 });
    holders = await chain.holders(token.address, 7, 300);

    // Messages are checked against the database as they arrive: each must already be committed.
    subscriber = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
    closers.push(() => closeRedis(subscriber));
    const channel = `${environment.redisKeyPrefix}token:${token.address}:transfers`;
    subscriber.on("message", async (_channel: string, message: string) => {
      const event = tokenTransfersEvent.parse(JSON.parse(message));
      if (event.type !== "transfers") return;
      const { rows } = await pool.query<{ n: string }>(
        "select count(*)::text as n from token_transfers where tx_hash = any($1::text[])",
        [[...new Set(event.transfers.map((t) => t.txHash))]],
      );
      for (const t of event.transfers)
        received.push({ token: event.token, txHash: t.txHash, logIndex: t.logIndex, inDb: Number(rows[0]?.n) > 0 });
    });
    await subscriber.subscribe(channel);

    running = runIndexer({ INDEXER_TOKENS: `${token.address}@${token.block}` });
    await waitForHead(pool, chain);
    const { transfers } = await expectIndexedEqualsChain(pool, chain, token.address, {
      fromBlock: token.block,
      holders,
    });
    expect(transfers).toBe(6_000);
    const { rows } = await pool.query("select name, symbol, decimals, kind, discovered_via from tokens");
    expect(rows).toEqual([{ name: "Bulk", symbol: "BLK", decimals: 18, kind: "erc20", discovered_via: "config" }]);
  });

  test("following new blocks stays exact (transfers, burns, pause state)", async () => {
    const mint = chain.encode("batchMint", [
      DEV_ACCOUNTS.slice(1),
      DEV_ACCOUNTS.slice(1).map((_, i) => BigInt(1_000 + i)),
    ]);
    await chain.receipt(await chain.send(token.address, mint));
    await chain.receipt(
      await chain.send(token.address, chain.encode("transfer", [DEV_ACCOUNTS[2], 7n]), DEV_ACCOUNTS[1]),
    );
    await chain.receipt(await chain.send(token.address, chain.encode("burn", [3n]), DEV_ACCOUNTS[3]));
    await chain.receipt(await chain.send(token.address, chain.encode("pause")));
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, token.address, {
      fromBlock: token.block,
      holders: [...holders, ...DEV_ACCOUNTS],
    });
    const paused = async () =>
      (await pool.query<{ paused: boolean }>("select paused from tokens where address = $1", [token.address])).rows[0]
        ?.paused;
    expect(await paused()).toBe(true);
    await chain.receipt(await chain.send(token.address, chain.encode("unpause")));
    await waitForHead(pool, chain);
    expect(await paused()).toBe(false);
  });

  test("each published transfer was committed before its message, and every inserted one is published", async () => {
    // Give the last messages a moment: publishing follows the commit.
    const deadline = Date.now() + 5_000;
    const { rows } = await pool.query<{ n: string }>("select count(*)::text as n from token_transfers");
    while (received.length < Number(rows[0]?.n) && Date.now() < deadline) await Bun.sleep(20);
    expect(received.length).toBe(Number(rows[0]?.n));
    expect(received.filter((r) => !r.inDb)).toEqual([]);
    expect(new Set(received.map((r) => `${r.txHash}:${r.logIndex}`)).size).toBe(received.length);
  });

  test("status and /metrics report head, checkpoint, lag and throughput", async () => {
    const head = await waitForHead(pool, chain);
    await Bun.sleep(100);
    const status = running.indexer.status();
    expect(status).toMatchObject({
      role: "active",
      chainId: 31337,
      head,
      indexedBlock: head,
      lagBlocks: 0,
      ready: true,
    });
    const text = await running.registry.metrics();
    expect(text).toContain("kit_indexer_active 1");
    expect(text).toContain(`kit_indexer_head_block ${head}`);
    expect(text).toContain(`kit_indexer_indexed_block ${head}`);
    expect(text).toContain("kit_indexer_lag_blocks 0");
    expect(text).toMatch(/kit_indexer_events_total\{kind="transfer"\} \d+/);
  });

  test("a token configured later catches up from its deployment block, then is followed", async () => {
    await running.stop();
    const late = await chain.deploy("Late", "LTE");
    await chain.churn(late.address, { seed: 9, holders: 50, transfers: 1_000, perTx: 250, txsPerBlock: 2 });
    await chain.mine(3);
    // The checkpoint is now past `late`'s deployment: the restarted indexer must read back for it.
    running = runIndexer({ INDEXER_TOKENS: `${token.address},${late.address}` });
    await waitForHead(pool, chain);
    // Found without a start block: the deployment block comes from a search over eth_getCode.
    const { rows } = await pool.query<{ deployment_block: string; catch_up_block: string | null }>(
      "select deployment_block, catch_up_block from tokens where address = $1",
      [late.address],
    );
    expect(rows[0]).toEqual({ deployment_block: String(late.block), catch_up_block: null });
    const lateHolders = await chain.holders(late.address, 9, 50);
    await chain.receipt(await chain.send(late.address, chain.encode("mint", [DEV_ACCOUNTS[4], 5n])));
    await waitForHead(pool, chain);
    const { transfers } = await expectIndexedEqualsChain(pool, chain, late.address, {
      fromBlock: late.block,
      holders: [...lateHolders, DEV_ACCOUNTS[4]],
    });
    expect(transfers).toBe(1_001);
    await expectIndexedEqualsChain(pool, chain, token.address, { fromBlock: token.block, holders });
  });
  test("/ready of the indexer role is 503 while it lags more than INDEXER_MAX_LAG_BLOCKS, 200 once caught up", async () => {
    await running.stop();
    await chain.mine(40);
    const config = requireResolved(
      loadConfig({
        ...environment.env,
        INDEXER_POLL_MS: "20",
        INDEXER_TOKENS: token.address,
        INDEXER_MAX_LAG_BLOCKS: "5",
        // One block per batch: the backlog lasts long enough to be seen.
        INDEXER_MAX_BLOCK_RANGE: "1",
      }),
    );
    const deps = createDeps(config, createLogger(config));
    closers.push(() => closeDeps(deps));
    const indexer = startIndexer(deps);
    closers.push(() => indexer.stop());
    const app = createOperationalApp(deps, { indexer });
    const ready = async () => {
      const response = await app.fetch(new Request("http://kit.test/ready"));
      return {
        status: response.status,
        body: (await response.json()) as { failing: string[]; indexer: IndexerStatus },
      };
    };
    let lagging: Awaited<ReturnType<typeof ready>> | undefined;
    const deadline = Date.now() + 10_000;
    while (!lagging && Date.now() < deadline) {
      const answer = await ready();
      if (answer.body.indexer.role === "active" && answer.body.indexer.lagBlocks !== undefined) lagging = answer;
      else await Bun.sleep(5);
    }
    expect(lagging?.status).toBe(503);
    // The indexer's own verdict; on a loaded machine a dependency's probe may time out beside it.
    expect(lagging?.body.failing).toContain("indexer");
    expect(lagging?.body.indexer.lagBlocks).toBeGreaterThan(5);
    expect(lagging?.body.indexer.state).toBe("behind");
    await waitForHead(pool, chain);
    let caughtUp = await ready();
    for (let i = 0; i < 100 && caughtUp.status !== 200; i++) {
      await Bun.sleep(50);
      caughtUp = await ready();
    }
    expect(caughtUp.status).toBe(200);
    expect(caughtUp.body.indexer).toMatchObject({ role: "active", state: "ok", lagBlocks: 0, ready: true });
  });
});
