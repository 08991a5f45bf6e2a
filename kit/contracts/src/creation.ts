// Creating a token: the plan both `tokens.create` (Kit's operations outbox, kit/api) and the demo
// tokens of `deploySuite` follow. The plan is a pure function of what the chain shows, so a
// creation resumed after a crash never repeats a step whose effect is there:
//   deploy_suite — TREXFactory.deployTREXSuite (token, registries, compliance; the compliance
//                  modules bound and configured in the same transaction), unless the factory
//                  already has a token for the salt (`getToken(salt)`);
//   unpause      — T-REX leaves a new token paused; the agent lifts it.
// Every Kit token shares one identity registry storage (a wallet verified once may hold every Kit
// token), requires Kit's KYC claim topic from Kit's claim issuer, and has Kit's chain agent as its
// owner and agent.
import {
  type Address,
  type Chain,
  type Client,
  concatHex,
  encodeAbiParameters,
  encodeFunctionData,
  getContractAddress,
  type Hex,
  keccak256,
  type Transport,
  toHex,
  zeroAddress,
} from "viem";
import { readContract } from "viem/actions";
import {
  countryAllowModuleAbi,
  countryRestrictModuleAbi,
  maxBalanceModuleAbi,
  supplyLimitModuleAbi,
  tokenAbi,
  trexFactoryAbi,
} from "./abis";
import { bytecode } from "./artifacts";

/** Kit's compliance module instances (one each, shared by every token's compliance). */
export interface ComplianceModules {
  countryAllow: Address;
  countryRestrict: Address;
  maxBalance: Address;
  supplyLimit: Address;
  conditionalTransfer: Address;
}

/** What every Kit token is created against: the suite of the deployment file. */
export interface TokenSuiteContext {
  factory: Address;
  /** The T-REX implementation authority the factory deploys proxies of. */
  implementationAuthority: Address;
  claimIssuer: Address;
  claimTopic: bigint;
  /** The shared storage; the zero address makes the factory create one for this token. */
  identityRegistryStorage: Address;
  /** Kit's chain agent: owner and agent of the token and its identity registry. */
  agent: Address;
  modules?: ComplianceModules;
}

/** Compliance rules, bound as T-REX modules. Countries are ISO 3166-1 numeric; amounts smallest units. */
export interface ComplianceSpec {
  /** Only receivers registered with one of these countries (CountryAllowModule). */
  allowCountries?: number[];
  /** No receiver registered with one of these countries (CountryRestrictModule). */
  blockCountries?: number[];
  /** At most this much per investor identity (MaxBalanceModule). */
  maxBalance?: bigint;
  /** Total supply at most this much (SupplyLimitModule). */
  supplyCap?: bigint;
  /** Every transfer (and mint) approved first by the agent (ConditionalTransferModule). */
  transferApproval?: boolean;
}

export interface TokenCreationSpec {
  name: string;
  symbol: string;
  decimals: number;
  /** Unique per factory: the ISIN, or the symbol. */
  salt: string;
  compliance?: ComplianceSpec;
}

export type CreationStep = { action: "deploy_suite" } | { action: "unpause"; token: Address };

export interface CreationFacts {
  /** The factory's token for the salt (null: none yet). */
  token: Address | null;
  paused: boolean;
}

export type CreationPlan = { send: CreationStep } | { end: "created"; token: Address };

export function nextCreationStep(facts: CreationFacts): CreationPlan {
  if (!facts.token) return { send: { action: "deploy_suite" } };
  if (facts.paused) return { send: { action: "unpause", token: facts.token } };
  return { end: "created", token: facts.token };
}

type Reader = Client<Transport, Chain | undefined>;

export async function readCreationFacts(client: Reader, ctx: TokenSuiteContext, salt: string): Promise<CreationFacts> {
  const token = await readContract(client, {
    address: ctx.factory,
    abi: trexFactoryAbi,
    functionName: "getToken",
    args: [salt],
  });
  if (token === zeroAddress) return { token: null, paused: true };
  const paused = await readContract(client, { address: token, abi: tokenAbi, functionName: "paused" });
  return { token, paused };
}

/** A step's transaction. */
export function creationCall(
  ctx: TokenSuiteContext,
  spec: TokenCreationSpec,
  step: CreationStep,
): { to: Address; data: Hex; functionName: string } {
  if (step.action === "unpause") {
    return {
      to: step.token,
      functionName: "unpause",
      data: encodeFunctionData({ abi: tokenAbi, functionName: "unpause" }),
    };
  }
  return {
    to: ctx.factory,
    functionName: "deployTREXSuite",
    data: encodeFunctionData({ abi: trexFactoryAbi, functionName: "deployTREXSuite", args: suiteArguments(ctx, spec) }),
  };
}

/** A step in words, for an operation's history. */
export function describeCreationStep(step: CreationStep): string {
  return step.action === "deploy_suite"
    ? "deployTREXSuite deployed the token, its identity registry and compliance, with its modules bound"
    : "unpaused the token: holders may transfer";
}

function suiteArguments(ctx: TokenSuiteContext, spec: TokenCreationSpec) {
  const { modules, settings } = complianceActions(ctx, spec.compliance ?? {});
  const agents = [ctx.agent];
  return [
    spec.salt,
    {
      owner: ctx.agent,
      name: spec.name,
      symbol: spec.symbol,
      decimals: spec.decimals,
      irs: ctx.identityRegistryStorage,
      ONCHAINID: zeroAddress,
      irAgents: agents,
      tokenAgents: agents,
      complianceModules: modules,
      complianceSettings: settings,
    },
    { claimTopics: [ctx.claimTopic], issuers: [ctx.claimIssuer], issuerClaims: [[ctx.claimTopic]] },
  ] as const;
}

/**
 * The modules to bind and the call configuring each (the factory calls settings[i] on modules[i]
 * through the compliance, which owns the module state). The transfer-approval module takes no
 * setting, so it comes last: settings may be shorter than modules, never out of step.
 */
function complianceActions(ctx: TokenSuiteContext, c: ComplianceSpec): { modules: Address[]; settings: Hex[] } {
  const modules: Address[] = [];
  const settings: Hex[] = [];
  const wanted =
    (c.allowCountries?.length ?? 0) > 0 ||
    (c.blockCountries?.length ?? 0) > 0 ||
    c.maxBalance !== undefined ||
    c.supplyCap !== undefined ||
    c.transferApproval === true;
  if (!wanted) return { modules, settings };
  const m = ctx.modules;
  if (!m) throw new Error("the deployment has no compliance modules: run `bun run chain:deploy` to add them");
  if (c.allowCountries?.length) {
    modules.push(m.countryAllow);
    settings.push(
      encodeFunctionData({
        abi: countryAllowModuleAbi,
        functionName: "batchAllowCountries",
        args: [c.allowCountries],
      }),
    );
  }
  if (c.blockCountries?.length) {
    modules.push(m.countryRestrict);
    settings.push(
      encodeFunctionData({
        abi: countryRestrictModuleAbi,
        functionName: "batchRestrictCountries",
        args: [c.blockCountries],
      }),
    );
  }
  if (c.maxBalance !== undefined) {
    // Bound while the supply is 0 (in the deploying transaction), so no balance needs presetting.
    modules.push(m.maxBalance);
    settings.push(
      encodeFunctionData({ abi: maxBalanceModuleAbi, functionName: "setMaxBalance", args: [c.maxBalance] }),
    );
  }
  if (c.supplyCap !== undefined) {
    modules.push(m.supplyLimit);
    settings.push(
      encodeFunctionData({ abi: supplyLimitModuleAbi, functionName: "setSupplyLimit", args: [c.supplyCap] }),
    );
  }
  if (c.transferApproval) modules.push(m.conditionalTransfer);
  return { modules, settings };
}

/** The module addresses a spec binds, by name (what the compliance's getModules() will list). */
export function boundModules(ctx: TokenSuiteContext, spec: TokenCreationSpec): Address[] {
  return complianceActions(ctx, spec.compliance ?? {}).modules;
}

/**
 * The token's address before it exists: the factory deploys every proxy with CREATE2 from
 * keccak256(salt), so the address follows from the salt, the implementation authority, the shared
 * storage, name, symbol and decimals. Known at request time, so the operation names its token from
 * the start (and a different address after deployment would be a bug: the operation checks).
 */
export function predictTokenAddress(ctx: TokenSuiteContext, spec: TokenCreationSpec): Address {
  if (ctx.identityRegistryStorage === zeroAddress) {
    throw new Error("predicting a token's address needs the shared identity registry storage");
  }
  const salt = keccak256(toHex(spec.salt));
  const at = (name: Parameters<typeof bytecode>[0], types: { type: string }[], values: unknown[]) =>
    getContractAddress({
      opcode: "CREATE2",
      from: ctx.factory,
      salt,
      bytecode: concatHex([bytecode(name), encodeAbiParameters(types, values)]),
    });
  const ia = ctx.implementationAuthority;
  const tir = at("TrustedIssuersRegistryProxy", [{ type: "address" }], [ia]);
  const ctr = at("ClaimTopicsRegistryProxy", [{ type: "address" }], [ia]);
  const mc = at("ModularComplianceProxy", [{ type: "address" }], [ia]);
  const ir = at(
    "IdentityRegistryProxy",
    [{ type: "address" }, { type: "address" }, { type: "address" }, { type: "address" }],
    [ia, tir, ctr, ctx.identityRegistryStorage],
  );
  return at(
    "TokenProxy",
    [
      { type: "address" },
      { type: "address" },
      { type: "address" },
      { type: "string" },
      { type: "string" },
      { type: "uint8" },
      { type: "address" },
    ],
    [ia, ir, mc, spec.name, spec.symbol, spec.decimals, zeroAddress],
  );
}

/**
 * Runs the plan directly, each step sent and confirmed by `sendStep` (deploySuite's demo tokens;
 * Kit's outbox sends the same steps as an operation, kit/api operations/create-steps.ts). Answers
 * the token's address.
 */
export async function createTokenDirectly(
  client: Reader,
  ctx: TokenSuiteContext,
  spec: TokenCreationSpec,
  sendStep: (call: { to: Address; data: Hex }, step: CreationStep) => Promise<void>,
  options: { leavePaused?: boolean } = {},
): Promise<Address> {
  for (let round = 0; round < 4; round++) {
    const plan = nextCreationStep(await readCreationFacts(client, ctx, spec.salt));
    if ("end" in plan) return plan.token;
    if (plan.send.action === "unpause" && options.leavePaused) return plan.send.token;
    await sendStep(creationCall(ctx, spec, plan.send), plan.send);
  }
  throw new Error(`creating ${spec.symbol}: the plan did not settle`);
}
