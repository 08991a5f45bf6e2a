// Reorgs with anvil_reorg (depth 1–5, several times), while the indexer follows the head with no
// confirmations: transfers that disappear, and reappear differently (another amount, recipient or
// block); a pause that is undone. After each, the tables equal the new chain. A reorg while no
// indexer runs is found at the next start; with confirmations, a shallower reorg is never seen.
import { expect, test } from "bun:test";
import { Registry } from "prom-client";
import { type Hex, toHex } from "viem";
import { DEV_ACCOUNTS } from "../../../test/bulk-token";
import { createIndexerTestEnvironment, expectIndexedEqualsChain, waitForHead } from "../../../test/indexer";
import { loadConfig, requireResolved } from "../../config";
import { createLogger } from "../../infra/log";
import { closeRedis, createRedis } from "../../infra/redis";
import { startIndexer } from "./indexer";

const { environment, chain, pool } = await createIndexerTestEnvironment();

/** Every stored transfer sits in a block the chain has, under that block's current hash. */
async function expectBlockHashesCurrent(token: string): Promise<void> {
  const { rows } = await pool.query<{ block_number: string; block_hash: string }>(
    "select distinct block_number, block_hash from token_transfers where token = $1",
    [token],
  );
  for (const row of rows) {
    const block = await chain.client.getBlock({ blockNumber: BigInt(row.block_number) });
    expect(row.block_hash).toBe(block.hash);
  }
}

let token: { address: string; block: number };
const accounts = [...DEV_ACCOUNTS];

function startTestIndexer(env: Record<string, string> = {}) {
  const config = requireResolved(
    loadConfig({
      ...environment.env,
      INDEXER_POLL_MS: "20",
      INDEXER_TOKENS: `${token.address}@${token.block}`,
      ...env,
    }),
  );
  const log = createLogger(config);
  const redis = createRedis(config, log);
  const registry = new Registry();
  const indexer = startIndexer({ config, redis, log }, { registry });
  return {
    indexer,
    registry,
    stop: async () => {
      await indexer.stop();
      await closeRedis(redis);
    },
  };
}

/** `blocks` blocks, each with one transfer between dev accounts; returns the last block number. */
async function transferBlocks(blocks: number, amount: bigint): Promise<number> {
  for (let b = 0; b < blocks; b++) {
    const from = accounts[b % 5] as string;
    const to = accounts[(b + 2) % 5] as string;
    await chain.receipt(await chain.send(token.address, chain.encode("transfer", [to, amount + BigInt(b)]), from));
  }
  return chain.head();
}

test("reorgs of depth 1–5 are rolled back to the common ancestor and re-read: still exact", async () => {
  token = await chain.deploy("Reorg", "ORG");
  await chain.receipt(
    await chain.send(token.address, chain.encode("batchMint", [accounts, accounts.map(() => 1_000_000n)])),
  );
  const { registry, stop } = startTestIndexer();
  let seed = 1;
  const random = (n: number) => {
    seed = (seed * 48_271) % 2_147_483_647;
    return seed % n;
  };
  const transfer = (from: number, to: number, amount: bigint) => ({
    from: accounts[from],
    to: token.address,
    data: chain.encode("transfer", [accounts[to], amount]) as Hex,
  });

  try {
    const depths = [1, 3, 5, 2, 4, 5, 1];
    for (const [round, depth] of depths.entries()) {
      // depth + 2 blocks of transfers (one or two per block), the last one pausing in round 2.
      for (let b = 0; b < depth + 2; b++) {
        const hashes: Hex[] = [];
        await chain.setAutomine(false);
        for (let k = 0; k <= random(2); k++) {
          const t = transfer(random(5), random(5), BigInt(1 + random(1_000)));
          hashes.push(await chain.send(t.to, t.data, t.from));
        }
        if (round === 2 && b === depth + 1) hashes.push(await chain.send(token.address, chain.encode("pause")));
        await chain.mine();
        await chain.setAutomine(true);
        for (const hash of hashes) await chain.receipt(hash);
      }
      await waitForHead(pool, chain);
      const paused = async () =>
        (await pool.query<{ paused: boolean }>("select paused from tokens where address = $1", [token.address])).rows[0]
          ?.paused;
      if (round === 2) expect(await paused()).toBe(true);

      // The last `depth` blocks are replaced: other transfers (other amounts, senders, recipients,
      // spread over the new blocks), so what vanished reappears differently or not at all.
      const replacements = Array.from({ length: depth + 1 }, (_, i) => {
        const t = transfer(random(5), random(5), BigInt(1 + random(5_000)));
        return [{ from: t.from, to: t.to, data: t.data, gas: toHex(200_000) }, i % depth];
      });
      if (round === 2)
        replacements.push([
          { from: accounts[0], to: token.address, data: chain.encode("unpause") as Hex, gas: toHex(200_000) },
          depth - 1,
        ]);
      const before = await chain.head();
      await chain.rpc("anvil_reorg", [depth, replacements]);
      expect(await chain.head()).toBe(before);

      await waitForHead(pool, chain);
      await expectIndexedEqualsChain(pool, chain, token.address, { fromBlock: token.block, holders: accounts });
      await expectBlockHashesCurrent(token.address);
      expect(await paused()).toBe(await chain.call<boolean>(token.address, "paused"));
    }
    // Each reorg was seen and rolled back once (none missed, none imagined).
    expect(await registry.metrics()).toContain(`kit_indexer_reorgs_total ${depths.length}`);
  } finally {
    await stop();
  }
}, 60_000);

test("a reorg that happened while no indexer ran is found at the next start", async () => {
  const first = startTestIndexer();
  await transferBlocks(3, 11n);
  await waitForHead(pool, chain);
  await first.stop();
  const replacement = {
    from: accounts[4],
    to: token.address,
    data: chain.encode("transfer", [accounts[1], 777n]) as Hex,
    gas: toHex(200_000),
  };
  await chain.rpc("anvil_reorg", [3, [[replacement, 1]]]);
  await transferBlocks(2, 5n);
  const second = startTestIndexer();
  try {
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, token.address, { fromBlock: token.block, holders: accounts });
    await expectBlockHashesCurrent(token.address);
    expect(await second.registry.metrics()).toContain("kit_indexer_reorgs_total 1");
  } finally {
    await second.stop();
  }
});

test("with INDEXER_CONFIRMATIONS=3, a reorg of 2 blocks never reaches the tables", async () => {
  const { indexer, registry, stop } = startTestIndexer({ INDEXER_CONFIRMATIONS: "3" });
  const checkpoint = async () =>
    Number(
      (await pool.query<{ block_number: string }>("select block_number from indexer_checkpoints")).rows[0]
        ?.block_number,
    );
  /** The tables equal the chain as of the checkpoint block (not the head). */
  const expectEqualsChainAt = async (block: number) => {
    const onChain = await chain.balances(token.address, accounts, block);
    const { rows } = await pool.query<{ holder: string; balance: string }>(
      "select holder, balance from token_balances where token = $1 and holder = any($2::text[])",
      [token.address, accounts],
    );
    for (const account of accounts)
      expect(rows.find((r) => r.holder === account)?.balance ?? "0").toBe(String(onChain.get(account)));
  };
  const waitFor = async (block: number) => {
    const deadline = Date.now() + 10_000;
    while ((await checkpoint()) !== block) {
      if (Date.now() > deadline) throw new Error(`checkpoint ${await checkpoint()}, expected ${block}`);
      await Bun.sleep(20);
    }
  };
  try {
    let head = await transferBlocks(5, 3n);
    await waitFor(head - 3);
    await Bun.sleep(100);
    expect(indexer.status()).toMatchObject({ lagBlocks: 3, ready: true });
    await expectEqualsChainAt(head - 3);
    const replacement = {
      from: accounts[2],
      to: token.address,
      data: chain.encode("transfer", [accounts[3], 4_242n]) as Hex,
      gas: toHex(200_000),
    };
    await chain.rpc("anvil_reorg", [2, [[replacement, 0]]]);
    head = await transferBlocks(4, 9n);
    await waitFor(head - 3);
    await expectEqualsChainAt(head - 3);
    expect(await registry.metrics()).toContain("kit_indexer_reorgs_total 0");
  } finally {
    await stop();
  }
});
