// kill -9 of the real worker process (`main.ts --role worker`) at random points while it registers 6
// investors (identity, claim, registration: 18 transactions through the outbox), twice, then a worker
// that finishes: every wallet verified with one identity, each step sent exactly once, the agent's
// nonces contiguous. A job killed half-way is finished by the outbox's sweep, and kyc's row follows
// from the outbox's announcement.
import { expect, test } from "bun:test";
import { idFactoryAbi, isVerified } from "@kit/contracts";
import { inArray, sql } from "drizzle-orm";
import type { Address } from "viem";
import { createApplicant } from "../../../test/kyc";
import { approveApplication, linkFreshWallet, startOnchainKit, waitForStatus } from "../../../test/onchain-kit";
import { serveKit } from "../../../test/serve";
import { createJobQueue } from "../../jobs/queue";
import { tokenOperations } from "../operations/schema";

const onchain = await startOnchainKit();
const { dev, kit, identityRegistry } = onchain;
// The child workers have a queue of their own: this file's in-process worker cannot take their jobs.
const prefix = `${kit.env.REDIS_KEY_PREFIX}crash:`;
const env = { ...kit.env, REDIS_KEY_PREFIX: prefix, OPERATIONS_SWEEP_SECONDS: "1", FX_PROVIDERS: "manual" };
const agent = dev.accounts.deployer.address;
const nonce = () => dev.clients.publicClient.getTransactionCount({ address: agent, blockTag: "latest" });

async function identitiesLinkedTo(wallet: Address): Promise<number> {
  const events = await dev.clients.publicClient.getContractEvents({
    address: dev.deployment.onchainId.idFactory,
    abi: idFactoryAbi,
    eventName: "WalletLinked",
    fromBlock: 0n,
  });
  return events.filter((e) => e.args.wallet?.toLowerCase() === wallet.toLowerCase()).length;
}

test("kill -9 of the worker twice during 6 registrations: each step sent once, contiguous nonces, all verified", async () => {
  const investors = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const applicant = await createApplicant(kit);
      const wallet = await linkFreshWallet(kit, applicant.id);
      return { wallet, applicationId: await approveApplication(kit, applicant.id) };
    }),
  );
  const start = await nonce();
  const queue = createJobQueue({ ...kit.config, redis: { ...kit.config.redis, keyPrefix: prefix } }, kit.deps.log);
  try {
    for (const { applicationId } of investors) {
      // A new queue connects in the background: retry until it takes the job.
      for (let i = 0; ; i++) {
        const queued = await queue.enqueue("kyc.onchain.register", { applicationId }).then(
          () => true,
          () => false,
        );
        if (queued) break;
        if (i > 100) throw new Error("could not queue");
        await Bun.sleep(50);
      }
    }
  } finally {
    await queue.close();
  }

  for (const target of [3, 10].map((n) => n + Math.floor(Math.random() * 4))) {
    const worker = await serveKit(env, { role: "worker" });
    const deadline = Date.now() + 20_000;
    while ((await nonce()) - start < target && Date.now() < deadline) await Bun.sleep(1);
    await Bun.sleep(Math.random() * 20);
    worker.process.kill("SIGKILL");
    await worker.process.exited;
  }
  expect((await nonce()) - start).toBeLessThan(18);

  const worker = await serveKit(env, { role: "worker" });
  try {
    for (const { wallet } of investors) await waitForStatus(kit, wallet, "registered", 60_000);
  } finally {
    await worker.stop();
  }

  for (const { wallet } of investors) {
    expect(await isVerified(dev.clients, identityRegistry, wallet)).toBe(true);
    expect(await identitiesLinkedTo(wallet)).toBe(1);
  }
  const rows = await kit.deps.db
    .select()
    .from(tokenOperations)
    .where(
      inArray(
        sql`${tokenOperations.parameters}->>'wallet'`,
        investors.map((i) => i.wallet),
      ),
    );
  expect(rows.every((row) => row.status === "confirmed")).toBe(true);
  const nonces = rows.flatMap((row) => row.steps?.done.map((d) => d.nonce) ?? []).sort((a, b) => a - b);
  // Identity, claim and registration per wallet, each sent once, at the agent's next nonces.
  expect(nonces).toEqual(Array.from({ length: 18 }, (_, i) => start + i));
  expect(await nonce()).toBe(start + 18);
}, 150_000);
