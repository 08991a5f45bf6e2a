// kill -9 of the real indexer process (`main.ts --role indexer`) at random points of a backfill of
// 12,000 transfers, 20 times: the tables still equal the chain, nothing lost, nothing twice.
import { expect, test } from "bun:test";
import { DEV_ACCOUNTS } from "../../../test/bulk-token";
import { createIndexerTestEnvironment, expectIndexedEqualsChain, waitForHead } from "../../../test/indexer";
import { serveKit } from "../../../test/serve";

const { environment, chain, pool } = await createIndexerTestEnvironment();

async function checkpoint(): Promise<number> {
  const { rows } = await pool.query<{ block_number: string }>("select block_number from indexer_checkpoints");
  return rows[0] ? Number(rows[0].block_number) : -1;
}

test("kill -9 at 20 random points of a 12,000-transfer backfill: still exact, no duplicates", async () => {
  const token = await chain.deploy("Crash", "CRS");
  // 120 blocks of 100 transfers, read one block per batch: 120 commits to be killed between (or in).
  await chain.churn(token.address, { seed: 11, holders: 400, transfers: 12_000, perTx: 100, txsPerBlock: 1 });
  const head = await chain.head();
  const env = {
    ...environment.env,
    INDEXER_TOKENS: `${token.address}@${token.block}`,
    INDEXER_POLL_MS: "20",
    INDEXER_MAX_BLOCK_RANGE: "1",
  };

  // 20 kill points spread over the first 5/6 of the backfill, each at a random block, plus a random
  // delay so that some land inside a transaction or between commit and publish.
  const span = head - token.block;
  const targets = Array.from({ length: 20 }, (_, i) =>
    Math.floor(token.block + (span * (i + Math.random())) / 24),
  ).sort((a, b) => a - b);
  const killedAt: number[] = [];
  for (const target of targets) {
    const kit = await serveKit(env, { role: "indexer" });
    const deadline = Date.now() + 20_000;
    while ((await checkpoint()) < target && Date.now() < deadline) await Bun.sleep(2);
    await Bun.sleep(Math.random() * 15);
    kit.process.kill("SIGKILL");
    await kit.process.exited;
    killedAt.push(await checkpoint());
  }
  // Every kill landed before the end of the backfill.
  expect(killedAt.filter((block) => block < head).length).toBe(20);

  const kit = await serveKit(env, { role: "indexer" });
  try {
    await waitForHead(pool, chain, 60_000);
    const holders = [...(await chain.holders(token.address, 11, 400)), DEV_ACCOUNTS[0]];
    const { transfers } = await expectIndexedEqualsChain(pool, chain, token.address, {
      fromBlock: token.block,
      holders,
    });
    expect(transfers).toBe(12_000);
    const ready = await (await fetch(`${kit.url}/ready`)).json();
    expect(ready.indexer).toMatchObject({ role: "active", lagBlocks: 0, ready: true });
  } finally {
    await kit.stop();
  }
}, 240_000);
