// Two indexer processes on one database: one is active, the other waits; kill -9 the active one
// and the other takes over and carries on exactly; a graceful stop hands over too.
import { expect, test } from "bun:test";
import { DEV_ACCOUNTS } from "../../../test/bulk-token";
import { createIndexerTestEnvironment, expectIndexedEqualsChain, waitForHead } from "../../../test/indexer";
import { type ServedKit, serveKit } from "../../../test/serve";

const { environment, chain, pool } = await createIndexerTestEnvironment();

async function role(kit: ServedKit): Promise<string | undefined> {
  const body = await (await fetch(`${kit.url}/ready`)).json();
  return body.indexer?.role;
}

async function waitForRole(kit: ServedKit, expected: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await role(kit)) !== expected) {
    if (Date.now() > deadline) throw new Error(`indexer on ${kit.url} is ${await role(kit)}, not ${expected}`);
    await Bun.sleep(20);
  }
}

test("one active indexer across processes; the waiting one takes over when it dies or stops", async () => {
  const token = await chain.deploy("Failover", "FOV");
  const holders = () => chain.holders(token.address, 3, 100);
  await chain.churn(token.address, { seed: 3, holders: 100, transfers: 1_000, perTx: 250, txsPerBlock: 1 });
  const env = { ...environment.env, INDEXER_TOKENS: `${token.address}@${token.block}`, INDEXER_POLL_MS: "20" };

  const first = await serveKit(env, { role: "indexer" });
  const second = await serveKit(env, { role: "indexer" });
  const third = await serveKit(env, { role: "indexer" }).catch(async (error) => {
    await first.stop();
    await second.stop();
    throw error;
  });
  try {
    await waitForRole(first, "active");
    await waitForHead(pool, chain);
    // The others wait, and say so (waiting is healthy: /ready is 200).
    expect(await role(second)).toBe("standby");
    expect(await role(third)).toBe("standby");
    expect((await fetch(`${second.url}/ready`)).status).toBe(200);
    const { rows } = await pool.query<{ n: string }>(
      `select count(*)::text as n from pg_locks where locktype = 'advisory' and granted and classid = 1263097944
         and database = (select oid from pg_database where datname = current_database())`,
    );
    expect(rows[0]?.n).toBe("1");

    // kill -9: its session ends, its lock with it; one of the others carries on.
    first.process.kill("SIGKILL");
    await first.process.exited;
    await chain.churn(token.address, { seed: 3, holders: 100, transfers: 500, perTx: 250, txsPerBlock: 1 });
    const deadline = Date.now() + 10_000;
    let active: ServedKit | undefined;
    while (!active && Date.now() < deadline) {
      for (const kit of [second, third]) if ((await role(kit)) === "active") active = kit;
      await Bun.sleep(20);
    }
    if (!active) throw new Error("no indexer took over");
    const waiting = active === second ? third : second;
    expect(await role(waiting)).toBe("standby");
    await waitForHead(pool, chain);
    await expectIndexedEqualsChain(pool, chain, token.address, {
      fromBlock: token.block,
      holders: [...(await holders()), DEV_ACCOUNTS[0]],
    });

    // A graceful stop releases the lock at once.
    expect(await active.stop()).toBe(0);
    await waitForRole(waiting, "active", 5_000);
    await chain.churn(token.address, { seed: 3, holders: 100, transfers: 250, perTx: 250, txsPerBlock: 1 });
    await waitForHead(pool, chain);
    const { transfers } = await expectIndexedEqualsChain(pool, chain, token.address, {
      fromBlock: token.block,
      holders: [...(await holders()), DEV_ACCOUNTS[0]],
    });
    expect(transfers).toBe(1_750);
  } finally {
    await Promise.all([first.stop(), second.stop(), third.stop()]);
  }
}, 60_000);
