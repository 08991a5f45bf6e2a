// kill -9 of the real worker process (`main.ts --role worker`) at random points while it sends 30
// mints, 3 times, then a worker that finishes: on chain exactly what was requested, the agent's
// nonces contiguous (no gap, none twice), every operation confirmed.
import { expect, test } from "bun:test";
import { and, eq, ne, sql } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { grantedIssuer, startOperationsKit, totalSupply } from "../../../test/operations";
import { serveKit } from "../../../test/serve";
import { tokenOperations } from "./schema";

const ops = await startOperationsKit();
const { kit, dev, equity } = ops;
const issuer = await grantedIssuer(ops, [equity]);
const [alice] = dev.accounts.investors.map((a) => a.address);
const env = { ...kit.env, OPERATIONS_SWEEP_SECONDS: "1", FX_PROVIDERS: "manual" };

async function count(status?: "confirmed") {
  const [row] = await kit.deps.db
    .select({ n: sql<number>`count(*)::int` })
    .from(tokenOperations)
    .where(
      and(
        eq(tokenOperations.token, equity.toLowerCase()),
        status ? eq(tokenOperations.status, status) : ne(tokenOperations.status, "pending"),
      ),
    );
  return row?.n ?? 0;
}

test("kill -9 of the worker at 3 random points of 30 mints: exact supply, contiguous nonces, all confirmed", async () => {
  const supply = await totalSupply(dev, equity);
  const startNonce = await dev.clients.publicClient.getTransactionCount({ address: dev.accounts.deployer.address });
  const amounts = Array.from({ length: 30 }, (_, i) => BigInt(i + 1));
  const answers = await Promise.all(
    amounts.map((amount, i) =>
      callApi(kit.app, issuer, "POST", `/tokens/${equity}/operations/mint`, {
        recipients: [{ to: alice, amount: amount.toString() }],
        idempotencyKey: `crash-${i}`,
      }),
    ),
  );
  expect(answers.map((a) => a.status)).toEqual(amounts.map(() => 202));

  const killedAfter: number[] = [];
  for (const target of [4, 12, 20].map((n) => n + Math.floor(Math.random() * 6))) {
    const worker = await serveKit(env, { role: "worker" });
    const deadline = Date.now() + 20_000;
    while ((await count()) < target && Date.now() < deadline) await Bun.sleep(1);
    await Bun.sleep(Math.random() * 20);
    worker.process.kill("SIGKILL");
    await worker.process.exited;
    killedAfter.push(await count());
  }
  expect(killedAfter.every((n) => n < 30)).toBe(true);

  const worker = await serveKit(env, { role: "worker" });
  try {
    const deadline = Date.now() + 40_000;
    while ((await count("confirmed")) < 30 && Date.now() < deadline) await Bun.sleep(50);
  } finally {
    await worker.stop();
  }
  const rows = await kit.deps.db.select().from(tokenOperations).where(eq(tokenOperations.token, equity.toLowerCase()));
  expect(rows.map((r) => r.status)).toEqual(rows.map(() => "confirmed"));
  expect(await totalSupply(dev, equity)).toBe(supply + amounts.reduce((a, b) => a + b, 0n));
  const nonces = rows.map((r) => r.nonce as number).sort((a, b) => a - b);
  expect(nonces).toEqual(amounts.map((_, i) => startNonce + i));
  const chainNonce = await dev.clients.publicClient.getTransactionCount({ address: dev.accounts.deployer.address });
  expect(chainNonce).toBe(startNonce + 30);
}, 90_000);
