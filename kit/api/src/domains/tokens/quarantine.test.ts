// Tokens whose events do not add up on their own. One indexed from a start block after its first
// transfers (INDEXER_TOKENS=0x…@block): its holders' balances at the start come from the chain, and
// it ends exact. One that cannot be fixed (a Transfer out of a holder that never received
// anything, or amounts no uint256 supply allows): quarantined with its reason, in status and
// metrics, while the other tokens go on; an operator resets it.
import { expect, test } from "bun:test";
import { getAddress, maxUint256, zeroAddress } from "viem";
import { DEV_ACCOUNTS } from "../../../test/bulk-token";
import { eventually } from "../../../test/eventually";
import {
  createIndexerTestEnvironment,
  expectIndexedEqualsChain,
  startTestIndexer,
  waitForHead,
} from "../../../test/indexer";
import { deployRogueToken, emitTransfer } from "../../../test/rogue-token";
import { createDatabase } from "../../infra/db";
import { createLogger } from "../../infra/log";
import { resetTokenIndex } from "./index-reset";
import { getIndexerOverview } from "./indexer-status";

const { environment, chain, pool } = await createIndexerTestEnvironment();

const tokenRow = async (address: string) =>
  (
    await pool.query<{
      opening_block: string | null;
      catch_up_block: string | null;
      quarantined_at: Date | null;
      quarantine_reason: string | null;
      discovered_at: Date;
    }>(
      "select opening_block, catch_up_block, quarantined_at, quarantine_reason, discovered_at from tokens where address = $1",
      [address],
    )
  ).rows[0];

test("a token indexed from a start block after its first transfers: opening balances from the chain, then exact", async () => {
  const token = await chain.deploy("Midway", "MID");
  await chain.churn(token.address, { seed: 21, holders: 40, transfers: 400, perTx: 200, txsPerBlock: 1 });
  await chain.receipt(await chain.send(token.address, chain.encode("mint", [DEV_ACCOUNTS[1], 1_000n])));
  await chain.mine(2);
  const start = (await chain.head()) + 1;
  // From the start on, holders spend what they held before it: their first indexed transfer is
  // outgoing (and a receiver already held some).
  await chain.receipt(
    await chain.send(token.address, chain.encode("transfer", [DEV_ACCOUNTS[2], 300n]), DEV_ACCOUNTS[1]),
  );
  await chain.churn(token.address, { seed: 21, holders: 40, transfers: 400, perTx: 200, txsPerBlock: 1 });
  const holders = [...(await chain.holders(token.address, 21, 40)), DEV_ACCOUNTS[1], DEV_ACCOUNTS[2]];

  const running = startTestIndexer(environment, { INDEXER_TOKENS: `${token.address}@${start}` });
  try {
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, token.address, { fromBlock: start, holders });
    const row = await tokenRow(token.address);
    expect(row?.opening_block).toBe(String(start - 1));
    expect(row?.quarantined_at).toBeNull();

    // Followed from there on, exactly.
    await chain.receipt(
      await chain.send(token.address, chain.encode("transfer", [DEV_ACCOUNTS[3], 120n]), DEV_ACCOUNTS[2]),
    );
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, token.address, {
      fromBlock: start,
      holders: [...holders, DEV_ACCOUNTS[3]],
    });
    expect(running.indexer.status()).toMatchObject({ state: "ok", quarantinedTokens: 0 });
  } finally {
    await running.stop();
  }
}, 60_000);

test("a token whose transfers cannot add up is quarantined with its reason; the other tokens go on", async () => {
  const good = await chain.deploy("Steady", "STD");
  const rogue = await deployRogueToken(chain);
  const running = startTestIndexer(environment, {
    INDEXER_TOKENS: `${good.address}@${good.block},${rogue.address}@${rogue.block}`,
  });
  const config = running.config;
  const { db, pool: overviewPool } = createDatabase(config, createLogger(config));
  try {
    await chain.receipt(await chain.send(good.address, chain.encode("mint", [DEV_ACCOUNTS[1], 500n])));
    const badBlock = await emitTransfer(chain, rogue.address, DEV_ACCOUNTS[3], DEV_ACCOUNTS[4], 5n);
    await chain.receipt(
      await chain.send(good.address, chain.encode("transfer", [DEV_ACCOUNTS[2], 200n]), DEV_ACCOUNTS[1]),
    );
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, good.address, { fromBlock: good.block, holders: [...DEV_ACCOUNTS] });

    const row = await tokenRow(rogue.address);
    expect(row?.quarantined_at).not.toBeNull();
    expect(row?.quarantine_reason).toStartWith(`holder ${DEV_ACCOUNTS[3]} would hold -5 after block ${badBlock}`);
    // Complete up to the checkpoint before the batch it failed in; none of its transfers is stored.
    expect(Number(row?.catch_up_block)).toBeLessThan(badBlock);
    const stored = await pool.query("select 1 from token_transfers where token = $1", [rogue.address]);
    expect(stored.rowCount).toBe(0);

    // Status, metrics and admins say so; the process stays ready.
    await eventually("the status to count it", () => running.indexer.status().quarantinedTokens === 1);
    expect(running.indexer.status()).toMatchObject({ state: "ok", ready: true });
    expect(await running.registry.metrics()).toContain("kit_indexer_quarantined_tokens 1");
    const overview = await getIndexerOverview({ config, db, redis: running.redis });
    expect(overview.tokens).toMatchObject({ quarantined: 1 });
    expect(overview.attention).toContainEqual(
      expect.objectContaining({
        address: getAddress(rogue.address),
        state: "quarantined",
        indexedBlock: row?.catch_up_block,
        reason: row?.quarantine_reason,
      }),
    );

    // Later, more of both: the rogue's are ignored, the good token is followed.
    await emitTransfer(chain, rogue.address, DEV_ACCOUNTS[3], DEV_ACCOUNTS[4], 7n);
    await chain.receipt(
      await chain.send(good.address, chain.encode("transfer", [DEV_ACCOUNTS[4], 50n]), DEV_ACCOUNTS[2]),
    );
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, good.address, { fromBlock: good.block, holders: [...DEV_ACCOUNTS] });

    // An operator resets it while the indexer runs (only a quarantined token may be): it is added
    // again from INDEXER_TOKENS, catches up from its start — and, still rogue, is quarantined again.
    const client = await pool.connect();
    try {
      expect(await resetTokenIndex(client, 31337, good.address)).toEqual({ outcome: "busy" });
      expect(await resetTokenIndex(client, 31337, rogue.address)).toMatchObject({ outcome: "forgotten" });
    } finally {
      client.release();
    }
    expect(await tokenRow(rogue.address)).toBeUndefined();
    await eventually(
      "the token to be added again and quarantined again",
      async () => (await tokenRow(rogue.address))?.quarantined_at != null,
      20_000,
    );
    // Caught up in one range this time: both of its transfers out at once.
    expect((await tokenRow(rogue.address))?.quarantine_reason).toStartWith(`holder ${DEV_ACCOUNTS[3]} would hold -`);
    await expectIndexedEqualsChain(pool, chain, good.address, { fromBlock: good.block, holders: [...DEV_ACCOUNTS] });
  } finally {
    await running.stop();
    await overviewPool.end();
  }
}, 60_000);

test("a token whose amounts overflow what a uint256 supply allows is quarantined too; the others go on", async () => {
  const good = await chain.deploy("Plain", "PLN");
  const rogue = await deployRogueToken(chain);
  const running = startTestIndexer(environment, {
    INDEXER_TOKENS: `${good.address}@${good.block},${rogue.address}@${rogue.block}`,
  });
  try {
    // Nine mints of 2^256 - 1: more than numeric(78, 0), the widest a real supply needs.
    for (let i = 0; i < 9; i++) await emitTransfer(chain, rogue.address, zeroAddress, DEV_ACCOUNTS[3], maxUint256);
    await chain.receipt(await chain.send(good.address, chain.encode("mint", [DEV_ACCOUNTS[1], 42n])));
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, good.address, { fromBlock: good.block, holders: [...DEV_ACCOUNTS] });
    const row = await tokenRow(rogue.address);
    expect(row?.quarantined_at).not.toBeNull();
    expect(row?.quarantine_reason).toBe("its events cannot be stored: numeric field overflow");
  } finally {
    await running.stop();
  }
}, 60_000);
