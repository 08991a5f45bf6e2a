// eth_getLogs ranges adapt to the node: behind a proxy that refuses more than 4 blocks or 300
// logs per call (as hosted nodes do, each in its own words), and sends logs without their block
// timestamp, the indexer splits its ranges, takes times from headers, and still equals the chain.
import { expect, test } from "bun:test";
import { createIndexerTestEnvironment, expectIndexedEqualsChain, waitForHead } from "../../../test/indexer";
import { loadConfig, requireResolved } from "../../config";
import { createLogger } from "../../infra/log";
import { closeRedis, createRedis } from "../../infra/redis";
import { RangeSizer } from "./chain-reader";
import { startIndexer } from "./indexer";

const { environment, chain, pool } = await createIndexerTestEnvironment();

/** Every transfer's block_time is its block's timestamp. */
async function expectBlockTimes(token: string): Promise<void> {
  const { rows } = await pool.query<{ block_number: string; seconds: string | null }>(
    `select distinct block_number, extract(epoch from block_time)::bigint::text as seconds
     from token_transfers where token = $1`,
    [token],
  );
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    const block = await chain.client.getBlock({ blockNumber: BigInt(row.block_number) });
    expect(row.seconds).toBe(String(block.timestamp));
  }
}

test("the range sizer halves on refusals and grows while answers are small", () => {
  const sizer = new RangeSizer(10_000, 64);
  sizer.shrink();
  expect(sizer.size).toBe(32);
  sizer.observe(100, 10);
  expect(sizer.size).toBe(64);
  sizer.observe(50_000, 10);
  expect(sizer.size).toBe(32);
  for (let i = 0; i < 20; i++) sizer.observe(0, 1);
  expect(sizer.size).toBe(10_000);
  for (let i = 0; i < 20; i++) sizer.shrink();
  expect(sizer.size).toBe(1);
});

test("a node that refuses large ranges or many results: ranges split, the tables still equal the chain", async () => {
  const token = await chain.deploy("Range", "RNG");
  await chain.churn(token.address, { seed: 5, holders: 80, transfers: 3_000, perTx: 100, txsPerBlock: 2 });
  const upstream = environment.env.RPC_URL as string;
  const refusals = { range: 0, results: 0 };
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      type Call = { id: number; method: string; params: unknown[] };
      const body = (await request.json()) as Call | Call[];
      const answer = async (call: Call): Promise<unknown> => {
        const forward = async () =>
          (await fetch(upstream, {
            method: "POST",
            body: JSON.stringify(call),
            headers: { "content-type": "application/json" },
          }).then((r) => r.json())) as { result: unknown };
        if (call.method !== "eth_getLogs") return forward();
        const [filter] = call.params as [{ fromBlock: string; toBlock: string }];
        const refuse = (message: string) => ({ jsonrpc: "2.0", id: call.id, error: { code: -32005, message } });
        if (Number(filter.toBlock) - Number(filter.fromBlock) + 1 > 4) {
          refusals.range += 1;
          return refuse("block range is too large, max 4 blocks");
        }
        const result = await forward();
        // Like nodes that do not send it: block times must then come from the headers.
        for (const log of result.result as { blockTimestamp?: string }[]) delete log.blockTimestamp;
        if ((result.result as unknown[]).length > 300) {
          refusals.results += 1;
          return refuse("query returned more than 10000 results");
        }
        return result;
      };
      return Response.json(Array.isArray(body) ? await Promise.all(body.map(answer)) : await answer(body));
    },
  });
  const config = requireResolved(
    loadConfig({
      ...environment.env,
      RPC_URL: `http://127.0.0.1:${proxy.port}`,
      INDEXER_TOKENS: `${token.address}@${token.block}`,
      INDEXER_POLL_MS: "20",
    }),
  );
  const log = createLogger(config);
  const redis = createRedis(config, log);
  const indexer = startIndexer({ config, redis, log });
  try {
    await waitForHead(pool, chain);
    const { transfers } = await expectIndexedEqualsChain(pool, chain, token.address, {
      fromBlock: token.block,
      holders: await chain.holders(token.address, 5, 80),
    });
    expect(transfers).toBe(3_000);
    expect(refusals.range).toBeGreaterThan(0);
    expect(refusals.results).toBeGreaterThan(0);
    await expectBlockTimes(token.address);
  } finally {
    await indexer.stop();
    await closeRedis(redis);
    proxy.stop(true);
  }
});
