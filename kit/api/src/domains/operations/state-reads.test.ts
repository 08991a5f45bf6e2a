// The token state reads against the real indexer on anvil: pauses and freezes sent on chain are
// indexed (with their block time) and served to the token's issuers and admins; a wallet's frozen
// state to its owner too. An issuer without a grant, and an investor asking about another wallet,
// are refused.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pause, send, startDevChain, tokenAbi, unpause, writeDeployment } from "@kit/contracts";
import { callApi } from "../../../test/api";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { createUser, signedWalletLink } from "../../../test/users";
import { linkWallet } from "../auth/service";
import { startIndexer } from "../tokens/indexer";

const dev = await startDevChain();
const dir = await mkdtemp(join(tmpdir(), "kit-state-reads-"));
const deploymentFile = join(dir, "deployment.json");
await writeDeployment(deploymentFile, dev.deployment);
const kit = await createTestKit({
  env: { RPC_URL: dev.rpcUrl, CHAIN_DEPLOYMENT_FILE: deploymentFile, INDEXER_POLL_MS: "20" },
});
const indexer = startIndexer({ config: kit.config, redis: kit.deps.redis, log: kit.deps.log });
afterAll(async () => {
  await indexer.stop();
  await dev.stop();
  await rm(dir, { recursive: true, force: true });
});

const [bond, equity] = dev.deployment.tokens.map((t) => t.address);
const [aliceAccount, bobAccount] = dev.accounts.investors;
if (!bond || !equity || !aliceAccount || !bobAccount) throw new Error("dev deployment incomplete");
const alice = aliceAccount.address;
const bob = bobAccount.address;
const agent = dev.accounts.deployer;

const admin = await createUser(kit, "admin");
const issuer = await createUser(kit, "issuer");
const ungranted = await createUser(kit, "issuer");
const aliceUser = await createUser(kit, "investor");
const stranger = await createUser(kit, "investor");
{
  const link = await signedWalletLink(kit, aliceAccount);
  await linkWallet(kit.deps, aliceUser.id, { message: link.message, signature: link.signature });
  const grant = await callApi(kit.app, admin, "POST", `/tokens/${bond}/grants`, { userId: issuer.id });
  if (grant.status !== 200) throw new Error(`grant failed: ${JSON.stringify(grant.body)}`);
}

// On chain, as the tokens' agent: a pause and an unpause, alice frozen, part of bob's balance frozen.
await pause(dev.clients, agent, bond);
await unpause(dev.clients, agent, bond);
await send(dev.clients, agent, { address: bond, abi: tokenAbi, functionName: "setAddressFrozen", args: [alice, true] });
await send(dev.clients, agent, {
  address: bond,
  abi: tokenAbi,
  functionName: "freezePartialTokens",
  args: [bob, 1_000_000_000_000_000_000n],
});
await send(dev.clients, agent, {
  address: equity,
  abi: tokenAbi,
  functionName: "setAddressFrozen",
  args: [alice, true],
});

const get = (who: typeof admin, path: string) => callApi(kit.app, who, "GET", path);
await eventually(
  "the freezes indexed",
  async () => (await get(admin, `/tokens/${bond}/frozen-holders`)).body?.items?.length === 2,
  20_000,
);

describe("a token's state, for its issuers and admins", () => {
  test("stateHistory: the pause, unpause and freezes, newest first, each with its block's time, paged", async () => {
    const first = await get(issuer, `/tokens/${bond}/state-history?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: { kind: string }) => e.kind)).toEqual(["tokens_frozen", "address_frozen"]);
    expect(first.body.items[0]).toMatchObject({ wallet: bob, amount: { raw: "1000000000000000000", formatted: "1" } });
    expect(first.body.items[1]).toMatchObject({ wallet: alice, amount: null });
    for (const event of first.body.items) {
      const block = await dev.clients.publicClient.getBlock({ blockNumber: BigInt(event.blockNumber) });
      expect(Date.parse(event.blockTime) / 1000).toBe(Number(block.timestamp));
      const receipt = await dev.clients.publicClient.getTransactionReceipt({ hash: event.transactionHash });
      expect(receipt.blockNumber).toBe(block.number);
    }
    expect(first.body.nextCursor).toBeString();
    const second = await get(issuer, `/tokens/${bond}/state-history?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.items.map((e: { kind: string }) => e.kind)).toEqual(["unpaused", "paused"]);
    expect(second.body.items[0].wallet).toBeNull();
  });

  test("frozenHolders: who is frozen whole or in part", async () => {
    const { status, body } = await get(issuer, `/tokens/${bond}/frozen-holders`);
    expect(status).toBe(200);
    const byAddress = Object.fromEntries(body.items.map((h: { address: string }) => [h.address, h]));
    expect(byAddress[alice]).toMatchObject({ frozen: true, frozenAmount: { raw: "0" } });
    expect(byAddress[bob]).toMatchObject({ frozen: false, frozenAmount: { formatted: "1" } });
    expect(body.nextCursor).toBeNull();
  });

  test("registrations: the verified investors' wallets with their identities, by wallet, paged", async () => {
    const first = await get(issuer, `/tokens/${bond}/registrations?limit=1`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ registered: true });
    expect(first.body.items[0].identity).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const all = await get(admin, `/tokens/${bond}/registrations?limit=100`);
    const wallets = all.body.items.map((r: { wallet: string }) => r.wallet);
    for (const investor of dev.accounts.investors) expect(wallets).toContain(investor.address);
    expect(wallets).toEqual([...wallets].sort((a: string, b: string) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
  });

  test("an issuer without a grant on the token gets 403 on all three; an admin any token", async () => {
    for (const path of ["state-history", "frozen-holders", "registrations"]) {
      const refused = await get(ungranted, `/tokens/${bond}/${path}`);
      expect(refused.status).toBe(403);
      expect(refused.body.message).toContain("no grant");
      expect((await get(issuer, `/tokens/${equity}/${path}`)).status).toBe(403);
      expect((await get(admin, `/tokens/${equity}/${path}`)).status).toBe(200);
    }
  });

  test("a bad cursor is a 400, an unknown token a 404", async () => {
    expect((await get(issuer, `/tokens/${bond}/state-history?cursor=nope`)).status).toBe(400);
    expect((await get(admin, `/tokens/0x${"1".repeat(40)}/frozen-holders`)).status).toBe(404);
  });
});

describe("a wallet's frozen state per token", () => {
  test("its owner sees every token; an admin too", async () => {
    for (const who of [aliceUser, admin]) {
      const { status, body } = await get(who, `/wallets/${alice}/frozen-state`);
      expect(status).toBe(200);
      expect(body.items.map((i: { token: string }) => i.token).sort()).toEqual([bond, equity].sort());
      for (const item of body.items) expect(item.frozen).toBe(true);
    }
  });

  test("an issuer sees only the tokens granted to them", async () => {
    const { status, body } = await get(issuer, `/wallets/${alice}/frozen-state`);
    expect(status).toBe(200);
    expect(body.items.map((i: { token: string }) => i.token)).toEqual([bond]);
    expect((await get(ungranted, `/wallets/${alice}/frozen-state`)).body.items).toEqual([]);
  });

  test("an investor asking about someone else's wallet gets 403", async () => {
    const { status, body } = await get(stranger, `/wallets/${alice}/frozen-state`);
    expect(status).toBe(403);
    expect(body.message).toContain("your own wallets");
  });
});
