// The creation plan (creation.ts) on a dev chain: the predicted address is the one the factory
// uses, the modules are bound and configured in the deploying transaction, and a plan run again
// after the token exists sends nothing.
import { afterAll, expect, test } from "bun:test";
import { modularComplianceAbi, supplyLimitModuleAbi, tokenAbi } from "./abis";
import { boundModules, createTokenDirectly, predictTokenAddress, type TokenSuiteContext } from "./creation";
import { deployToken } from "./deploy";
import { startDevChain } from "./testing";

const chain = await startDevChain();
afterAll(() => chain.stop());
const { deployment, clients, accounts } = chain;
const ctx: TokenSuiteContext = {
  factory: deployment.trex.factory,
  implementationAuthority: deployment.trex.implementationAuthority,
  claimIssuer: deployment.claimIssuer.address,
  claimTopic: 1n,
  identityRegistryStorage: deployment.identityRegistryStorage,
  agent: accounts.deployer.address,
  modules: deployment.complianceModules,
};

test("a token lands at its predicted address, its modules bound and configured, unpaused", async () => {
  const spec = {
    name: "Kit Fund",
    symbol: "KFND",
    decimals: 6,
    salt: "LU000KITFND1",
    compliance: { blockCountries: [840], maxBalance: 1_000_000n, supplyCap: 5_000_000n, transferApproval: true },
  };
  const predicted = predictTokenAddress(ctx, spec);
  const token = await deployToken(clients, {
    owner: accounts.deployer,
    factory: ctx.factory,
    claimIssuer: ctx.claimIssuer,
    identityRegistryStorage: ctx.identityRegistryStorage,
    modules: ctx.modules,
    kind: "fund",
    unpause: true,
    ...spec,
  });
  expect(token.address).toBe(predicted);
  expect(token.identityRegistryStorage).toBe(deployment.identityRegistryStorage);
  const read = (functionName: "paused" | "compliance") =>
    clients.publicClient.readContract({ address: token.address, abi: tokenAbi, functionName });
  expect(await read("paused")).toBe(false);
  const modules = await clients.publicClient.readContract({
    address: token.compliance,
    abi: modularComplianceAbi,
    functionName: "getModules",
  });
  expect(modules).toEqual(boundModules(ctx, spec));
  expect(modules).toHaveLength(4);
  const cap = await clients.publicClient.readContract({
    address: deployment.complianceModules?.supplyLimit as `0x${string}`,
    abi: supplyLimitModuleAbi,
    functionName: "getSupplyLimit",
    args: [token.compliance],
  });
  expect(cap).toBe(5_000_000n);

  // Run again: the factory has the salt and the token is unpaused, so nothing is sent.
  const sent: string[] = [];
  const again = await createTokenDirectly(clients.publicClient, ctx, spec, async (_call, step) => {
    sent.push(step.action);
  });
  expect(again).toBe(predicted);
  expect(sent).toEqual([]);
});
