import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaseError, ContractFunctionRevertedError, parseUnits, zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { identityRegistryAbi, tokenAbi, trexFactoryAbi } from "./abis";
import { startAnvil } from "./anvil";
import { bulkTransfer } from "./bulk";
import { anvilAccount, type ChainClients, connect } from "./clients";
import { DEMO_TOKENS } from "./demo";
import { readDeployment } from "./deployment";
import { ensureDeployment } from "./ensure";
import { isVerified, KYC_CLAIM_TOPIC, registerInvestor } from "./identities";
import { type DevChain, startDevChain } from "./testing";
import { transfer } from "./tokens";

let chain: DevChain;
beforeAll(async () => {
  chain = await startDevChain();
});
afterAll(() => chain?.stop());

const read = (clients: ChainClients, address: `0x${string}`, functionName: string, args: unknown[] = []) =>
  clients.publicClient.readContract({ address, abi: tokenAbi, functionName, args } as never) as Promise<unknown>;

describe("the deployed suite", () => {
  test("the demo tokens exist with their name, symbol, decimals and supply", async () => {
    const { deployment, clients } = chain;
    expect(deployment.tokens.map((t) => t.symbol)).toEqual(["KB30", "KEQ"]);
    for (const [i, token] of deployment.tokens.entries()) {
      const spec = DEMO_TOKENS[i];
      if (!spec) throw new Error("no spec");
      expect(await read(clients, token.address, "name")).toBe(spec.name);
      expect(await read(clients, token.address, "symbol")).toBe(spec.symbol);
      expect(Number(await read(clients, token.address, "decimals"))).toBe(spec.decimals);
      const minted = spec.mints.reduce((sum, m) => sum + parseUnits(m.amount, spec.decimals), 0n);
      expect(await read(clients, token.address, "totalSupply")).toBe(minted);
      expect(await read(clients, token.address, "paused")).toBe(false);
      expect(await read(clients, token.address, "identityRegistry")).toBe(token.identityRegistry);
    }
  });

  test("the factory announced each token in TREXSuiteDeployed from its deployment block", async () => {
    const { deployment, clients } = chain;
    const events = await clients.publicClient.getContractEvents({
      address: deployment.trex.factory,
      abi: trexFactoryAbi,
      eventName: "TREXSuiteDeployed",
      fromBlock: BigInt(deployment.trex.factoryBlock),
    });
    expect(events.map((e) => e.args._token)).toEqual(deployment.tokens.map((t) => t.address));
    expect(events.map((e) => Number(e.blockNumber))).toEqual(deployment.tokens.map((t) => t.deploymentBlock));
  });

  test("the demo investors are verified for every token, with balances matching the demo history", async () => {
    const { deployment, clients } = chain;
    expect(deployment.investors).toHaveLength(4);
    for (const token of deployment.tokens) {
      for (const investor of deployment.investors) {
        expect(await isVerified(clients, token.identityRegistry, investor.wallet)).toBe(true);
        const identity = await clients.publicClient.readContract({
          address: token.identityRegistry,
          abi: identityRegistryAbi,
          functionName: "identity",
          args: [investor.wallet],
        });
        expect(identity).toBe(investor.identity);
      }
    }
    const bond = deployment.tokens[0];
    const [a, b, c, d] = deployment.investors;
    if (!bond || !a || !b || !c || !d) throw new Error("demo incomplete");
    const units = (v: string) => parseUnits(v, 18);
    expect(await read(clients, bond.address, "balanceOf", [a.wallet])).toBe(units("900"));
    expect(await read(clients, bond.address, "balanceOf", [b.wallet])).toBe(units("574.5"));
    expect(await read(clients, bond.address, "balanceOf", [c.wallet])).toBe(units("265.375"));
    expect(await read(clients, bond.address, "balanceOf", [d.wallet])).toBe(units("10.125"));
  });

  test("a transfer to an unverified wallet reverts; registering the wallet makes it possible", async () => {
    const { deployment, clients, accounts } = chain;
    const bond = deployment.tokens[0];
    const [sender] = accounts.investors;
    const [outsider] = accounts.others;
    if (!bond || !sender || !outsider) throw new Error("demo incomplete");
    expect(await isVerified(clients, bond.identityRegistry, outsider.address)).toBe(false);

    const error = await transfer(clients, sender, bond.address, outsider.address, 1n).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BaseError);
    const revert = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
    expect((revert as ContractFunctionRevertedError | null)?.reason).toBe("Transfer not possible");

    const registration = {
      agent: accounts.deployer,
      claimSigner: accounts.claimSigner,
      idFactory: deployment.onchainId.idFactory,
      claimIssuer: deployment.claimIssuer.address,
      identityRegistry: bond.identityRegistry,
      topic: KYC_CLAIM_TOPIC,
      wallet: outsider.address,
      country: 250,
    };
    const first = await registerInvestor(clients, registration);
    expect(first.steps).toEqual(["identity", "claim", "registration"]);
    expect(first.identity).not.toBe(zeroAddress);
    // Again: nothing left to do, same identity.
    const again = await registerInvestor(clients, registration);
    expect(again).toEqual({ ...first, steps: [] });

    // One shared registry storage: verified for the equity too.
    const equity = deployment.tokens[1];
    if (!equity) throw new Error("demo incomplete");
    expect(await isVerified(clients, equity.identityRegistry, outsider.address)).toBe(true);
    await transfer(clients, sender, bond.address, outsider.address, 1n);
    expect(await read(clients, bond.address, "balanceOf", [outsider.address])).toBe(1n);
  });
});

describe("startDevChain", () => {
  test("gives a fresh, independent chain per call, fast", async () => {
    const started = performance.now();
    const [one, two] = await Promise.all([startDevChain(), startDevChain()]);
    const ms = performance.now() - started;
    try {
      expect(ms).toBeLessThan(2_000);
      const bond = one.deployment.tokens[0];
      const [sender, receiver] = one.accounts.investors;
      if (!bond || !sender || !receiver) throw new Error("demo incomplete");
      const before = await read(two.clients, bond.address, "balanceOf", [receiver.address]);
      await transfer(one.clients, sender, bond.address, receiver.address, 7n);
      expect(await read(one.clients, bond.address, "balanceOf", [receiver.address])).toBe((before as bigint) + 7n);
      expect(await read(two.clients, bond.address, "balanceOf", [receiver.address])).toBe(before);
      expect(await two.clients.publicClient.getBlockNumber()).toBe(BigInt(two.deployment.toBlock));
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });
});

describe("bulkTransfer", () => {
  test("packs thousands of Transfer events into a few blocks, all of them successful", async () => {
    const { deployment, clients, accounts } = chain;
    const bond = deployment.tokens[0];
    const [holder] = accounts.investors;
    if (!bond || !holder) throw new Error("demo incomplete");
    const recipients = [2, 3, 4, 5].map((n) => privateKeyToAccount(`0x${n.toString(16).padStart(64, "a")}`).address);
    for (const wallet of recipients) await chain.verify(wallet);
    const result = await bulkTransfer(clients, holder, {
      token: bond.address,
      recipients,
      events: 2_000,
      perTransaction: 100,
    });
    expect(result.transactions).toBe(20);
    expect(Number(result.toBlock - result.fromBlock) + 1).toBeLessThanOrEqual(2);
    const logs = await clients.publicClient.getContractEvents({
      address: bond.address,
      abi: tokenAbi,
      eventName: "Transfer",
      fromBlock: result.fromBlock,
      toBlock: result.toBlock,
    });
    expect(logs).toHaveLength(2_000);
    for (const wallet of recipients) expect(await read(clients, bond.address, "balanceOf", [wallet])).toBe(500n);
    // Automine is back on: a plain transfer is mined at once.
    await transfer(clients, holder, bond.address, recipients[0] as `0x${string}`, 1n);
  });
});

describe("ensureDeployment", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kit-contracts-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test("deploys on an empty chain, reuses the file while the contracts exist, redeploys on a new chain", async () => {
    const path = join(dir, "deployment.json");
    const accounts = {
      deployer: anvilAccount(0),
      claimSigner: anvilAccount(1),
      investors: [2, 3, 4, 5].map(anvilAccount),
    };
    const first = await startAnvil();
    try {
      const deployed = await ensureDeployment({ rpcUrl: first.rpcUrl, path, ...accounts });
      expect(deployed.deployed).toBe(true);
      expect(deployed.ms).toBeLessThan(10_000);
      expect(await readDeployment(path)).toEqual(deployed.deployment);
      const reused = await ensureDeployment({ rpcUrl: first.rpcUrl, path, ...accounts });
      expect(reused.deployed).toBe(false);
      expect(reused.deployment).toEqual(deployed.deployment);
    } finally {
      await first.stop();
    }
    const second = await startAnvil();
    try {
      const again = await ensureDeployment({ rpcUrl: second.rpcUrl, path, ...accounts });
      expect(again.deployed).toBe(true);
      const clients = await connect(second.rpcUrl);
      const bond = again.deployment.tokens[0];
      if (!bond) throw new Error("no bond");
      expect(await read(clients, bond.address, "symbol")).toBe("KB30");
    } finally {
      await second.stop();
    }
  });
});
