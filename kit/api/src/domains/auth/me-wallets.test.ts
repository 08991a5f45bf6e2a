// me.get's copies of a user's wallets, against real Redis and Postgres, with a second process (its
// own clients, the same database and key prefix) linking and unlinking: a copy saves the query, and
// never outlives a change it was told about, nor a subscription it lost.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { createUser, signedWalletLink } from "../../../test/users";
import { createLogger } from "../../infra/log";
import { redisReady } from "../../infra/redis";
import { closeDeps, createDeps } from "../../runtime";
import { linkWallet, unlinkWallet } from "./service";

const kit = await createTestKit();
const here = kit.deps;
const other = createDeps(kit.config, createLogger(kit.config));
beforeAll(() => redisReady(other.redis, 3_000));
afterAll(() => closeDeps(other));

/** Connections this process's pool handed out while `read` ran (each query takes one). */
async function queriesDuring(read: () => Promise<unknown>): Promise<number> {
  let acquired = 0;
  const count = () => {
    acquired += 1;
  };
  here.pool.on("acquire", count);
  try {
    await read();
  } finally {
    here.pool.off("acquire", count);
  }
  return acquired;
}

const addresses = async (userId: string) => (await here.local.meWallets.read(userId)).map((w) => w.address);

describe("copies of a user's wallets in each process", () => {
  test("read again, a user's wallets cost no query; another process's link and unlink reach the copy", async () => {
    const user = await createUser(kit);
    await eventually("copies in use", async () => {
      await here.local.meWallets.read(user.id);
      return (await queriesDuring(() => here.local.meWallets.read(user.id))) === 0;
    });
    expect(await addresses(user.id)).toEqual([]);

    const first = await signedWalletLink(kit);
    await linkWallet(other, user.id, first);
    // The process that linked reads it at once; this one when the announcement arrives.
    expect((await other.local.meWallets.read(user.id)).map((w) => w.address)).toEqual([first.address]);
    await eventually("the link seen here", async () => (await addresses(user.id)).length === 1, 2_000);

    const second = await signedWalletLink(kit);
    await linkWallet(here, user.id, second);
    expect(await addresses(user.id)).toEqual([first.address, second.address]);

    await unlinkWallet(other, user.id, first.address);
    await eventually("the unlink seen here", async () => (await addresses(user.id)).length === 1, 2_000);
    expect(await addresses(user.id)).toEqual([second.address]);
  });

  test("without its subscription a process uses no copy, so a change it was not told about still shows", async () => {
    const user = await createUser(kit);
    await eventually("copies in use", async () => {
      await here.local.meWallets.read(user.id);
      return (await queriesDuring(() => here.local.meWallets.read(user.id))) === 0;
    });
    const port = here.local.meWallets.status().subscriber?.stream?.localPort;
    expect(port).toBeGreaterThan(0);
    // The server drops the subscriber's connection (as a restart or a network cut would).
    const clients = (await here.redis.client("LIST")) as string;
    const id = clients
      .split("\n")
      .find((line) => line.includes(`:${port} `) && line.includes("name=kit-wallet-copies"))
      ?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await here.redis.client("KILL", "ID", String(id));
    await eventually("the lost subscription noticed", () => !here.local.meWallets.status().subscribed);

    // Linked while nobody here listened: read from Postgres, not from the copy.
    const link = await signedWalletLink(kit);
    await linkWallet(other, user.id, link);
    expect(await addresses(user.id)).toEqual([link.address]);

    await eventually("copies in use again", async () => {
      await here.local.meWallets.read(user.id);
      return (await queriesDuring(() => here.local.meWallets.read(user.id))) === 0;
    });
    expect(await addresses(user.id)).toEqual([link.address]);
  });
});
