// The indexer on the real ERC-3643 suite (kit/contracts' snapshot: factory, demo bond and equity,
// verified investors): tokens discovered from the factory named by the deployment file, balances
// equal to balanceOf, and the token state — paused, frozen addresses, frozen amounts, identities
// registered and removed — as the chain says, a reorg that undoes a freeze included.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DevChain,
  deployToken,
  identityRegistryAbi,
  mint,
  pause,
  send,
  startDevChain,
  type TokenDeployment,
  tokenAbi,
  unpause,
  writeDeployment,
} from "@kit/contracts";
import type { Address } from "viem";
import { testChain } from "../../../test/bulk-token";
import { waitForHead } from "../../../test/indexer";
import { createTestEnvironment } from "../../../test/kit";
import { loadConfig, requireResolved } from "../../config";
import { createDatabase } from "../../infra/db";
import { createLogger } from "../../infra/log";
import { closeRedis, createRedis } from "../../infra/redis";
import { type RunningIndexer, startIndexer } from "./indexer";

let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
let dev: DevChain;
let pool: ReturnType<typeof createDatabase>["pool"];
let dir: string;
let indexer: RunningIndexer;
let stopRedis: () => Promise<void>;

beforeAll(async () => {
  [environment, dev] = await Promise.all([createTestEnvironment(), startDevChain()]);
  dir = await mkdtemp(join(tmpdir(), "kit-trex-"));
  const deploymentFile = join(dir, "deployment.json");
  await writeDeployment(deploymentFile, dev.deployment);
  const config = requireResolved(
    loadConfig({
      ...environment.env,
      RPC_URL: dev.rpcUrl,
      CHAIN_DEPLOYMENT_FILE: deploymentFile,
      INDEXER_POLL_MS: "20",
    }),
  );
  pool = createDatabase(config, createLogger(config)).pool;
  const log = createLogger(config);
  const redis = createRedis(config, log);
  stopRedis = () => closeRedis(redis);
  indexer = startIndexer({ config, redis, log });
}, 30_000);

afterAll(async () => {
  await indexer?.stop();
  await stopRedis?.();
  await pool?.end();
  await dev?.stop();
  await environment?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const chain = () => testChain(dev.rpcUrl);
const read = <T>(address: Address, functionName: string, args: unknown[] = []) =>
  dev.clients.publicClient.readContract({ address, abi: tokenAbi, functionName, args } as never) as Promise<T>;

async function holderState(token: string, holder: string) {
  const { rows } = await pool.query<{ balance: string; frozen: boolean; frozen_amount: string }>(
    "select balance, frozen, frozen_amount from token_balances where token = $1 and holder = $2",
    [token.toLowerCase(), holder.toLowerCase()],
  );
  return rows[0];
}

async function tokenRow(token: string) {
  const { rows } = await pool.query<{
    paused: boolean;
    total_supply: string;
    kind: string;
    discovered_via: string;
    identity_registry: string;
    name: string;
    symbol: string;
    decimals: number;
  }>("select * from tokens where address = $1", [token.toLowerCase()]);
  return rows[0];
}

/** Balances of every demo investor, total supply and paused equal the chain's. */
async function expectTokenEqualsChain(token: TokenDeployment | { address: Address }) {
  const row = await tokenRow(token.address);
  expect(row?.total_supply).toBe(String(await read<bigint>(token.address, "totalSupply")));
  expect(row?.paused).toBe(await read<boolean>(token.address, "paused"));
  for (const investor of dev.accounts.investors) {
    const state = await holderState(token.address, investor.address);
    expect(state?.balance ?? "0").toBe(String(await read<bigint>(token.address, "balanceOf", [investor.address])));
    expect(state?.frozen ?? false).toBe(await read<boolean>(token.address, "isFrozen", [investor.address]));
    expect(state?.frozen_amount ?? "0").toBe(
      String(await read<bigint>(token.address, "getFrozenTokens", [investor.address])),
    );
  }
}

test("T-REX tokens are discovered from the factory; balances, supply and paused equal the chain", async () => {
  await waitForHead(pool, chain());
  const { rows } = await pool.query<{ address: string }>(
    "select address from tokens where discovered_via = 'factory' order by deployment_block",
  );
  expect(rows.map((r) => r.address)).toEqual(dev.deployment.tokens.map((t) => t.address.toLowerCase()));
  for (const token of dev.deployment.tokens) {
    expect(await tokenRow(token.address)).toMatchObject({
      kind: "t-rex",
      name: token.name,
      symbol: token.symbol,
      decimals: token.decimals,
      identity_registry: token.identityRegistry.toLowerCase(),
    });
    await expectTokenEqualsChain(token);
  }
  // Every demo investor's identity, as registered.
  const { rows: identities } = await pool.query<{ wallet: string; identity: string; registered: boolean }>(
    "select wallet, identity, registered from identity_registrations where registry = $1 order by wallet",
    [(dev.deployment.tokens[0] as TokenDeployment).identityRegistry.toLowerCase()],
  );
  const expected = dev.deployment.investors
    .map((i) => ({ wallet: i.wallet.toLowerCase(), identity: i.identity.toLowerCase(), registered: true }))
    .sort((a, b) => a.wallet.localeCompare(b.wallet));
  expect(identities).toEqual(expected);
});

test("paused, frozen addresses, frozen amounts and identity removal are reflected", async () => {
  const token = dev.deployment.tokens[0] as TokenDeployment;
  const agent = dev.accounts.deployer;
  const [alice, bob] = dev.accounts.investors as unknown as [{ address: Address }, { address: Address }];
  await pause(dev.clients, agent, token.address);
  await waitForHead(pool, chain());
  expect((await tokenRow(token.address))?.paused).toBe(true);
  await unpause(dev.clients, agent, token.address);

  await send(dev.clients, agent, {
    address: token.address,
    abi: tokenAbi,
    functionName: "setAddressFrozen",
    args: [alice.address, true],
  });
  const part = (await read<bigint>(token.address, "balanceOf", [bob.address])) / 3n;
  await send(dev.clients, agent, {
    address: token.address,
    abi: tokenAbi,
    functionName: "freezePartialTokens",
    args: [bob.address, part],
  });
  await send(dev.clients, agent, {
    address: token.address,
    abi: tokenAbi,
    functionName: "unfreezePartialTokens",
    args: [bob.address, part / 2n],
  });
  await waitForHead(pool, chain());
  expect((await holderState(token.address, alice.address))?.frozen).toBe(true);
  expect((await holderState(token.address, bob.address))?.frozen_amount).toBe(String(part - part / 2n));
  await expectTokenEqualsChain(token);

  await send(dev.clients, agent, {
    address: token.identityRegistry,
    abi: identityRegistryAbi,
    functionName: "deleteIdentity",
    args: [bob.address],
  });
  await waitForHead(pool, chain());
  const { rows } = await pool.query<{ registered: boolean }>(
    "select registered from identity_registrations where registry = $1 and wallet = $2",
    [token.identityRegistry.toLowerCase(), bob.address.toLowerCase()],
  );
  expect(rows[0]?.registered).toBe(false);
});

test("a reorg that drops a freeze and an unfreeze rolls the state back", async () => {
  const token = dev.deployment.tokens[1] as TokenDeployment;
  const agent = dev.accounts.deployer;
  const carol = (dev.accounts.investors[0] as { address: Address }).address;
  await send(dev.clients, agent, {
    address: token.address,
    abi: tokenAbi,
    functionName: "setAddressFrozen",
    args: [carol, true],
  });
  await send(dev.clients, agent, {
    address: token.address,
    abi: tokenAbi,
    functionName: "freezePartialTokens",
    args: [carol, 7n],
  });
  await waitForHead(pool, chain());
  expect(await holderState(token.address, carol)).toMatchObject({ frozen: true, frozen_amount: "7" });
  // Both blocks replaced by empty ones: the freezes never happened.
  await chain().rpc("anvil_reorg", [2, []]);
  await waitForHead(pool, chain());
  expect(await holderState(token.address, carol)).toMatchObject({ frozen: false, frozen_amount: "0" });
  await expectTokenEqualsChain(token);
});

test("a token deployed through the factory while the indexer follows is picked up with its mints", async () => {
  const agent = dev.accounts.deployer;
  const deployed = await deployToken(dev.clients, {
    owner: agent,
    factory: dev.deployment.trex.factory,
    claimIssuer: dev.deployment.claimIssuer.address,
    identityRegistryStorage: dev.deployment.identityRegistryStorage,
    kind: "fund",
    name: "Kit Fund",
    symbol: "KFND",
    decimals: 6,
  });
  const investor = (dev.accounts.investors[2] as { address: Address }).address;
  await mint(dev.clients, agent, deployed.address, investor, 1_234_567n);
  await waitForHead(pool, chain());
  expect(await tokenRow(deployed.address)).toMatchObject({
    kind: "t-rex",
    discovered_via: "factory",
    symbol: "KFND",
    decimals: 6,
    paused: true,
    total_supply: "1234567",
  });
  await expectTokenEqualsChain(deployed);
});
