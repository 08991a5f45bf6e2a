// Shared by the indexer tests: an environment of their own, waiting for the checkpoint to reach
// the chain's head, and comparing every indexed table with the chain's own answers.
import { afterAll, expect } from "bun:test";
import type pg from "pg";
import { Registry } from "prom-client";
import { loadConfig, requireResolved } from "../src/config";
import { startIndexer } from "../src/domains/tokens/indexer";
import { createDatabase } from "../src/infra/db";
import { createLogger } from "../src/infra/log";
import { closeRedis, createRedis } from "../src/infra/redis";
import { type TestChain, testChain } from "./bulk-token";
import { createTestEnvironment } from "./kit";

/** Waits until the checkpoint is the chain's current head block, same hash. */
export async function waitForHead(pool: pg.Pool, chain: TestChain, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await chain.head();
    const block = await chain.client.getBlock({ blockNumber: BigInt(head) });
    const { rows } = await pool.query<{ block_number: string; block_hash: string }>(
      "select block_number, block_hash from indexer_checkpoints",
    );
    if (rows[0] && Number(rows[0].block_number) === head && rows[0].block_hash === block.hash) return head;
    if (Date.now() > deadline)
      throw new Error(`indexer did not reach head ${head} (${block.hash}); checkpoint ${JSON.stringify(rows[0])}`);
    await Bun.sleep(25);
  }
}

/**
 * The tables equal the chain for `token`: the same transfer logs (each once), each holder's balance
 * equal to balanceOf, total supply equal to totalSupply and to the sum of balances.
 */
export async function expectIndexedEqualsChain(
  pool: pg.Pool,
  chain: TestChain,
  token: string,
  options: { fromBlock: number; holders?: string[] },
): Promise<{ transfers: number; holders: number }> {
  const chainLogs = await chain.transferLogs(token, options.fromBlock);
  const { rows: indexed } = await pool.query<{ tx_hash: string; log_index: number }>(
    "select tx_hash, log_index from token_transfers where token = $1",
    [token],
  );
  const key = (l: { txHash: string; logIndex: number }) => `${l.txHash}:${l.logIndex}`;
  const indexedKeys = indexed.map((r) => key({ txHash: r.tx_hash, logIndex: r.log_index }));
  expect(new Set(indexedKeys).size).toBe(indexedKeys.length);
  expect(indexedKeys.sort()).toEqual(chainLogs.map(key).sort());

  const { rows: balances } = await pool.query<{ holder: string; balance: string }>(
    "select holder, balance from token_balances where token = $1",
    [token],
  );
  const owners = [...new Set([...balances.map((b) => b.holder), ...(options.holders ?? [])])];
  const onChain = await chain.balances(token, owners);
  const mismatches = owners
    .map((owner) => ({
      owner,
      indexed: balances.find((b) => b.holder === owner)?.balance ?? "0",
      chain: (onChain.get(owner) ?? 0n).toString(),
    }))
    .filter((m) => m.indexed !== m.chain);
  expect(mismatches).toEqual([]);

  const supply = (await chain.call<bigint>(token, "totalSupply")).toString();
  const { rows } = await pool.query<{ total_supply: string; sum: string | null }>(
    `select t.total_supply, (select sum(balance)::text from token_balances b where b.token = t.address) as sum
     from tokens t where t.address = $1`,
    [token],
  );
  expect(rows[0]?.total_supply).toBe(supply);
  expect(rows[0]?.sum ?? "0").toBe(supply);
  return { transfers: indexed.length, holders: balances.filter((b) => b.balance !== "0").length };
}

/** For tests of configured tokens: no factory from a deployment file a dev run left in .data. */
export const NO_DEPLOYMENT_FILE = "/nonexistent/kit-deployment.json";

/**
 * For an indexer test file: its own environment with an anvil and no deployment file (so only
 * what the test deploys is indexed), the chain helpers, and a pool on its database; all closed
 * after the file.
 */
export async function createIndexerTestEnvironment() {
  const environment = await createTestEnvironment({ chain: true, env: { CHAIN_DEPLOYMENT_FILE: NO_DEPLOYMENT_FILE } });
  const chain = testChain(environment.env.RPC_URL as string);
  const config = loadConfig(environment.env);
  const { pool } = createDatabase(config, createLogger(config));
  afterAll(async () => {
    await pool.end();
    await environment.cleanup();
  });
  return { environment, chain, pool };
}

/**
 * An indexer in-process on `environment` (polling every 20 ms), with its own Redis client and
 * metrics registry; `stop` ends both.
 */
export function startTestIndexer(environment: { env: Record<string, string> }, env: Record<string, string> = {}) {
  const config = requireResolved(loadConfig({ ...environment.env, INDEXER_POLL_MS: "20", ...env }));
  const log = createLogger(config);
  const redis = createRedis(config, log);
  const registry = new Registry();
  const indexer = startIndexer({ config, redis, log }, { registry });
  return {
    indexer,
    registry,
    config,
    redis,
    stop: async () => {
      await indexer.stop();
      await closeRedis(redis);
    },
  };
}
