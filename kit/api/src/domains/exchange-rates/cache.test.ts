// Each process's copies of the rates cache, against real Redis and Postgres, with a second process
// (its own clients, the same database and key prefix) changing rates: a copy saves the Redis trip,
// and never outlives a change it was told about, nor a subscription it lost.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventually } from "../../../test/eventually";
import { startProviderStub } from "../../../test/fx-providers";
import { createTestKit } from "../../../test/kit";
import { redisCommandsDuring } from "../../../test/redis-commands";
import { createLogger } from "../../infra/log";
import { redisReady } from "../../infra/redis";
import { closeDeps, createDeps } from "../../runtime";
import { refreshRates } from "./refresh";
import { convert, setManualRate } from "./service";

const stub = await startProviderStub();
const kit = await createTestKit({ env: stub.env });
const here = kit.deps;
const other = createDeps(kit.config, createLogger(kit.config));
beforeAll(async () => {
  await redisReady(other.redis, 3_000);
  await refreshRates(here);
});
afterAll(() => closeDeps(other));

const admin = async () => {
  const { rows } = await here.pool.query<{ id: string }>(
    `insert into "user" (id, name, email, email_verified, role, created_at, updated_at)
     values (gen_random_uuid()::text, 'FX admin', 'fx-admin-' || gen_random_uuid() || '@example.com', true, 'admin', now(), now())
     returning id`,
  );
  return rows[0]?.id ?? "";
};

const eurToUsd = (deps: typeof here) => convert(deps, { from: "EUR", to: "USD", amount: "100" });

describe("copies of cached rates in each process", () => {
  test("a pair read again costs no Redis trip; another process's change reaches it once announced", async () => {
    await eurToUsd(here);
    await eventually(
      "a copy of EUR:USD",
      async () => (await redisCommandsDuring(here.redis, () => eurToUsd(here))).length === 0,
    );
    expect(await eurToUsd(here)).toMatchObject({ result: "108.43", provider: "ecb" });

    const actor = await admin();
    await setManualRate(other, { userId: actor }, { base: "EUR", quote: "USD", rate: "1.2" });
    // The process that made the change reads it at once; this one when the announcement arrives.
    expect(await eurToUsd(other)).toMatchObject({ result: "120.00", provider: "manual" });
    const changedAt = Date.now();
    await eventually("the manual rate here", async () => (await eurToUsd(here))?.provider === "manual", 2_000);
    expect(Date.now() - changedAt).toBeLessThan(1_000);
    expect(await eurToUsd(here)).toMatchObject({ result: "120.00", rate: "1.2" });
  });

  test("without its subscription a process uses no copy, so a change it was not told about still shows", async () => {
    await eventually(
      "copies in use",
      async () => (await redisCommandsDuring(here.redis, () => eurToUsd(here))).length === 0,
    );
    const subscriber = here.local.fxCopies.status().subscriber;
    const port = subscriber?.stream?.localPort;
    expect(port).toBeGreaterThan(0);
    // The server drops the subscriber's connection (as a restart or a network cut would).
    const clients = (await here.redis.client("LIST")) as string;
    const id = clients
      .split("\n")
      .find((line) => line.includes(`:${port} `) && line.includes("name=kit-fx-cache"))
      ?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await here.redis.client("KILL", "ID", String(id));
    await eventually("the lost subscription noticed", () => !here.local.fxCopies.status().subscribed);

    // Published while nobody here listened.
    await setManualRate(other, { userId: await admin() }, { base: "EUR", quote: "USD", rate: "1.3" });
    expect(await eurToUsd(here)).toMatchObject({ result: "130.00", rate: "1.3" });
    expect((await redisCommandsDuring(here.redis, () => eurToUsd(here))).length).toBeGreaterThan(0);

    // Subscribed again (ioredis reconnects; a read asks again), copies serve once more.
    await eventually(
      "copies in use again",
      async () => (await redisCommandsDuring(here.redis, () => eurToUsd(here))).length === 0,
    );
    expect(here.local.fxCopies.status().subscribed).toBe(true);
    expect(await eurToUsd(here)).toMatchObject({ result: "130.00" });
  });
});
