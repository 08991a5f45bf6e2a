// Deploys the ERC-3643 (T-REX) suite with ONCHAINID, Kit's claim issuer, and the demo tokens.
// Call order after T-REX's own test fixture (test/fixtures/deploy-full-suite.fixture.ts).
import {
  type Abi,
  type Account,
  type Address,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  type Hash,
  type Hex,
  type LocalAccount,
  parseEventLogs,
  parseUnits,
  type TransactionReceipt,
  zeroAddress,
} from "viem";
import {
  claimIssuerAbi,
  claimTopicsRegistryAbi,
  claimTopicsRegistryProxyAbi,
  conditionalTransferModuleAbi,
  countryAllowModuleAbi,
  countryRestrictModuleAbi,
  identityAbi,
  identityRegistryAbi,
  identityRegistryProxyAbi,
  identityRegistryStorageAbi,
  idFactoryAbi,
  implementationAuthorityAbi,
  maxBalanceModuleAbi,
  modularComplianceAbi,
  modularComplianceProxyAbi,
  moduleProxyAbi,
  supplyLimitModuleAbi,
  tokenAbi,
  tokenProxyAbi,
  trexFactoryAbi,
  trexImplementationAuthorityAbi,
  trustedIssuersRegistryAbi,
  trustedIssuersRegistryProxyAbi,
} from "./abis";
import { type ArtifactName, artifactVersions, bytecode } from "./artifacts";
import { type ChainClients, confirm, connect, send } from "./clients";
import {
  type ComplianceModules,
  type ComplianceSpec,
  type CreationStep,
  createTokenDirectly,
  type TokenSuiteContext,
} from "./creation";
import { DEPLOYMENT_FORMAT, type Deployment, type InvestorDeployment, type TokenDeployment } from "./deployment";
import { KEY_PURPOSE_CLAIM, KEY_TYPE_ECDSA, keyOf, registerInvestor } from "./identities";
import { mint, transfer } from "./tokens";

/** The KYC claim topic every Kit token requires (ERC-735 topics are free-form uint256). */
export const KYC_CLAIM_TOPIC = 1n;

const ABIS = {
  Token: tokenAbi,
  IdentityRegistry: identityRegistryAbi,
  IdentityRegistryStorage: identityRegistryStorageAbi,
  ClaimTopicsRegistry: claimTopicsRegistryAbi,
  TrustedIssuersRegistry: trustedIssuersRegistryAbi,
  ModularCompliance: modularComplianceAbi,
  TREXImplementationAuthority: trexImplementationAuthorityAbi,
  TREXFactory: trexFactoryAbi,
  Identity: identityAbi,
  ImplementationAuthority: implementationAuthorityAbi,
  IdFactory: idFactoryAbi,
  ClaimIssuer: claimIssuerAbi,
  CountryAllowModule: countryAllowModuleAbi,
  CountryRestrictModule: countryRestrictModuleAbi,
  MaxBalanceModule: maxBalanceModuleAbi,
  SupplyLimitModule: supplyLimitModuleAbi,
  ConditionalTransferModule: conditionalTransferModuleAbi,
  ModuleProxy: moduleProxyAbi,
  TokenProxy: tokenProxyAbi,
  IdentityRegistryProxy: identityRegistryProxyAbi,
  ModularComplianceProxy: modularComplianceProxyAbi,
  TrustedIssuersRegistryProxy: trustedIssuersRegistryProxyAbi,
  ClaimTopicsRegistryProxy: claimTopicsRegistryProxyAbi,
} satisfies Record<ArtifactName, Abi>;

export interface DemoTokenSpec {
  kind: string;
  name: string;
  symbol: string;
  decimals: number;
  /** ISO 6166; the factory salt (as `tokens.create` uses it). */
  isin?: string;
  compliance?: ComplianceSpec;
  /** The kind's terms, as `tokens.create` records them in the metadata document. */
  terms?: Record<string, string | boolean>;
  /** Minted to the demo investors by index, in whole units. */
  mints: { investor: number; amount: string }[];
  /** Then transferred between them (sent by the `from` investor's own wallet). */
  transfers: { from: number; to: number; amount: string }[];
}

/**
 * The demo: a bond in fractional units (18 decimals, like most EVM tokens: exercises exact decimal
 * formatting) and an equity in whole shares (0 decimals).
 */
export const DEMO_TOKENS: DemoTokenSpec[] = [
  {
    kind: "bond",
    name: "Kit Bond 2030",
    symbol: "KB30",
    decimals: 18,
    isin: "XS2030000009",
    terms: {
      kind: "bond",
      faceValue: "100",
      currency: "EUR",
      maturityDate: "2030-12-31",
      couponRate: "3.25",
      couponFrequency: "annual",
    },
    mints: [
      { investor: 0, amount: "1000" },
      { investor: 1, amount: "500" },
      { investor: 2, amount: "250" },
    ],
    transfers: [
      { from: 0, to: 1, amount: "100" },
      { from: 1, to: 2, amount: "25.5" },
      { from: 2, to: 3, amount: "10.125" },
    ],
  },
  {
    kind: "equity",
    name: "Kit Equity",
    symbol: "KEQ",
    decimals: 0,
    isin: "BE000KITEQ05",
    terms: { kind: "equity", shareClass: "A", votingRights: true },
    mints: [
      { investor: 0, amount: "10000" },
      { investor: 3, amount: "5000" },
    ],
    transfers: [
      { from: 0, to: 2, amount: "1200" },
      { from: 3, to: 1, amount: "300" },
    ],
  },
];

/** ISO 3166-1 numeric: Belgium, France, Germany, Netherlands, Luxembourg. */
const DEMO_COUNTRIES = [56, 250, 276, 528, 442];

export interface DeploySuiteOptions {
  rpcUrl: string;
  /** Owns the factories and tokens, and is agent of the tokens and identity registries. */
  deployer: LocalAccount;
  /** Kit's claim-signer key: the signing key of the trusted ClaimIssuer. */
  claimSigner: LocalAccount;
  /** Demo holders: verified, minted to, and sending transfers (they need gas). None: no holders. */
  investors?: LocalAccount[];
  /** Tokens to deploy (default: the demo bond and equity). */
  tokens?: DemoTokenSpec[];
  /** Progress lines (never secrets). */
  log?: (line: string) => void;
}

export async function deploySuite(options: DeploySuiteOptions): Promise<Deployment> {
  const clients = await connect(options.rpcUrl);
  const log = options.log ?? (() => {});
  const { deployer, claimSigner } = options;
  const fromBlock = Number(await clients.publicClient.getBlockNumber()) + 1;
  const versions = artifactVersions();

  const deploy = async (name: ArtifactName, args: readonly unknown[] = []) => {
    const hash = await clients.wallet(deployer).deployContract({
      abi: ABIS[name] as Abi,
      bytecode: bytecode(name),
      args: args as never,
    });
    const receipt = await confirm(clients, hash, `deploying ${name}`);
    if (!receipt.contractAddress) throw new Error(`deploying ${name}: no contract address in the receipt`);
    return { address: getAddress(receipt.contractAddress), receipt };
  };

  // ONCHAINID: the identity implementation behind every identity proxy, and the factory of identities.
  const identityImplementation = (await deploy("Identity", [deployer.address, true])).address;
  const implementationAuthority = (await deploy("ImplementationAuthority", [identityImplementation])).address;
  const idFactory = (await deploy("IdFactory", [implementationAuthority])).address;
  log(`ONCHAINID IdFactory ${idFactory}`);

  // T-REX: implementations (never initialised: proxies call them), their authority, the factory.
  const implementations = {
    token: (await deploy("Token")).address,
    claimTopicsRegistry: (await deploy("ClaimTopicsRegistry")).address,
    identityRegistry: (await deploy("IdentityRegistry")).address,
    identityRegistryStorage: (await deploy("IdentityRegistryStorage")).address,
    trustedIssuersRegistry: (await deploy("TrustedIssuersRegistry")).address,
    modularCompliance: (await deploy("ModularCompliance")).address,
  };
  const trexImplementationAuthority = (await deploy("TREXImplementationAuthority", [true, zeroAddress, zeroAddress]))
    .address;
  const [major, minor, patch] = (versions["@tokenysolutions/t-rex"] ?? "4.1.6").split(".").map(Number);
  const version = { major: major ?? 4, minor: minor ?? 1, patch: patch ?? 6 };
  await send(clients, deployer, {
    address: trexImplementationAuthority,
    abi: trexImplementationAuthorityAbi,
    functionName: "addAndUseTREXVersion",
    args: [
      version,
      {
        tokenImplementation: implementations.token,
        ctrImplementation: implementations.claimTopicsRegistry,
        irImplementation: implementations.identityRegistry,
        irsImplementation: implementations.identityRegistryStorage,
        tirImplementation: implementations.trustedIssuersRegistry,
        mcImplementation: implementations.modularCompliance,
      },
    ],
  });
  // Reverts unless the authority already has a complete version: hence after addAndUseTREXVersion.
  const factory = await deploy("TREXFactory", [trexImplementationAuthority, idFactory]);
  await send(clients, deployer, {
    address: idFactory,
    abi: idFactoryAbi,
    functionName: "addTokenFactory",
    args: [factory.address],
  });
  log(`T-REX factory ${factory.address}`);

  // Kit's claim issuer: the deployer manages it; the claim-signer key signs (purpose CLAIM, ECDSA).
  const claimIssuer = (await deploy("ClaimIssuer", [deployer.address])).address;
  await send(clients, deployer, {
    address: claimIssuer,
    abi: claimIssuerAbi,
    functionName: "addKey",
    args: [keyOf(claimSigner.address), KEY_PURPOSE_CLAIM, KEY_TYPE_ECDSA],
  });
  log(`claim issuer ${claimIssuer} (signer ${claimSigner.address})`);
  const complianceModules = await deployComplianceModules(clients, deployer);

  // The demo tokens follow tokens.create's plan (creation.ts): deployed with their modules, unpaused.
  const tokens: TokenDeployment[] = [];
  for (const spec of options.tokens ?? DEMO_TOKENS) {
    const token = await deployToken(clients, {
      owner: deployer,
      factory: factory.address,
      implementationAuthority: trexImplementationAuthority,
      claimIssuer,
      identityRegistryStorage: tokens[0]?.identityRegistryStorage,
      modules: complianceModules,
      unpause: true,
      ...spec,
      salt: spec.isin ?? spec.symbol,
    });
    tokens.push(token);
    log(`token ${token.symbol} ${token.address} (${token.name}, ${token.decimals} decimals)`);
  }
  const identityRegistryStorage = tokens[0]?.identityRegistryStorage ?? zeroAddress;

  const investors: InvestorDeployment[] = [];
  const firstToken = tokens[0];
  for (const [index, account] of (options.investors ?? []).entries()) {
    if (!firstToken) break;
    // The registry storage is shared, so registering through the first token covers all of them.
    const { wallet, identity, country } = await registerInvestor(clients, {
      agent: deployer,
      claimSigner,
      idFactory,
      claimIssuer,
      identityRegistry: firstToken.identityRegistry,
      topic: KYC_CLAIM_TOPIC,
      wallet: account.address,
      country: DEMO_COUNTRIES[index % DEMO_COUNTRIES.length] ?? 56,
    });
    investors.push({ wallet, identity, country });
  }

  const demoInvestors = options.investors ?? [];
  for (const [i, token] of tokens.entries()) {
    const spec = (options.tokens ?? DEMO_TOKENS)[i];
    if (!spec || demoInvestors.length === 0) continue;
    const units = (amount: string) => parseUnits(amount, token.decimals);
    for (const m of spec.mints) {
      const to = demoInvestors[m.investor];
      if (to) await mint(clients, deployer, token.address, to.address, units(m.amount));
    }
    for (const t of spec.transfers) {
      const from = demoInvestors[t.from];
      const to = demoInvestors[t.to];
      if (from && to) await transfer(clients, from, token.address, to.address, units(t.amount));
    }
  }
  if (demoInvestors.length > 0) log(`${investors.length} investors verified, minted to, and trading`);

  return {
    format: DEPLOYMENT_FORMAT,
    chainId: clients.chain.id,
    deployedAt: new Date().toISOString(),
    artifacts: versions,
    deployer: deployer.address,
    fromBlock,
    toBlock: Number(await clients.publicClient.getBlockNumber()),
    onchainId: { identityImplementation, implementationAuthority, idFactory },
    trex: {
      implementations,
      implementationAuthority: trexImplementationAuthority,
      factory: factory.address,
      factoryBlock: Number(factory.receipt.blockNumber),
      version: `${version.major}.${version.minor}.${version.patch}`,
    },
    claimTopics: { kyc: KYC_CLAIM_TOPIC.toString() },
    claimIssuer: { address: claimIssuer, signer: claimSigner.address },
    complianceModules,
    identityRegistryStorage,
    tokens,
    investors,
  };
}

export interface DeployTokenOptions {
  /** Owner of the token and its registries, and their agent. */
  owner: Account;
  factory: Address;
  /** The factory's T-REX implementation authority (read from the factory when left out). */
  implementationAuthority?: Address;
  claimIssuer: Address;
  kind: string;
  name: string;
  symbol: string;
  decimals: number;
  /** Share an existing identity registry storage (the factory must own it); a new one otherwise. */
  identityRegistryStorage?: Address;
  /** Unique per factory; defaults to the symbol. */
  salt?: string;
  claimTopic?: bigint;
  compliance?: ComplianceSpec;
  modules?: ComplianceModules;
  /** Lift T-REX's initial pause (the creation plan's last step); default: leave it paused. */
  unpause?: boolean;
}

/**
 * One token through `TREXFactory.deployTREXSuite`, following the creation plan (creation.ts) that
 * `tokens.create` sends through Kit's outbox: the same arguments, steps and checks.
 */
export async function deployToken(clients: ChainClients, o: DeployTokenOptions): Promise<TokenDeployment> {
  const salt = o.salt ?? o.symbol;
  const ctx: TokenSuiteContext = {
    factory: o.factory,
    implementationAuthority:
      o.implementationAuthority ??
      (await clients.publicClient.readContract({
        address: o.factory,
        abi: trexFactoryAbi,
        functionName: "getImplementationAuthority",
      })),
    claimIssuer: o.claimIssuer,
    claimTopic: o.claimTopic ?? KYC_CLAIM_TOPIC,
    identityRegistryStorage: o.identityRegistryStorage ?? zeroAddress,
    agent: o.owner.address,
    modules: o.modules,
  };
  const spec = { name: o.name, symbol: o.symbol, decimals: o.decimals, salt, compliance: o.compliance };
  let receipt: TransactionReceipt | undefined;
  const sendStep = async (call: { to: Address; data: Hex }, step: CreationStep) => {
    const hash = await clients.wallet(o.owner).sendTransaction({ to: call.to, data: call.data, chain: clients.chain });
    const mined = await confirm(clients, hash, `${step.action} (${salt})`);
    if (step.action === "deploy_suite") receipt = mined;
  };
  await createTokenDirectly(clients.publicClient, ctx, spec, sendStep, { leavePaused: !o.unpause });
  if (!receipt) throw new Error(`deployTREXSuite(${salt}): the factory already had a token for this salt`);
  const [event] = parseEventLogs({ abi: trexFactoryAbi, eventName: "TREXSuiteDeployed", logs: receipt.logs });
  if (!event) throw new Error(`deployTREXSuite(${salt}): no TREXSuiteDeployed event`);
  const onchainId = await clients.publicClient.readContract({
    address: event.args._token,
    abi: tokenAbi,
    functionName: "onchainID",
  });
  return {
    kind: o.kind,
    address: event.args._token,
    name: o.name,
    symbol: o.symbol,
    decimals: o.decimals,
    salt,
    identityRegistry: event.args._ir,
    identityRegistryStorage: event.args._irs,
    trustedIssuersRegistry: event.args._tir,
    claimTopicsRegistry: event.args._ctr,
    compliance: event.args._mc,
    onchainId,
    deploymentBlock: Number(receipt.blockNumber),
    deploymentTransaction: receipt.transactionHash,
  };
}

const MODULES = {
  countryAllow: "CountryAllowModule",
  countryRestrict: "CountryRestrictModule",
  maxBalance: "MaxBalanceModule",
  supplyLimit: "SupplyLimitModule",
  conditionalTransfer: "ConditionalTransferModule",
} as const satisfies Record<keyof ComplianceModules, ArtifactName>;

/**
 * One instance of each compliance module Kit binds, behind a ModuleProxy initialised in its
 * constructor (the implementations are upgradeable: nobody else can initialise the proxy first).
 * The ten transactions go out at once with consecutive nonces (each proxy's implementation address
 * follows from its nonce), then are confirmed together: this keeps `bun run dev`'s deployment fast.
 */
export async function deployComplianceModules(clients: ChainClients, deployer: Account): Promise<ComplianceModules> {
  const wallet = clients.wallet(deployer);
  const initialize = encodeFunctionData({ abi: countryAllowModuleAbi, functionName: "initialize" });
  let nonce = await clients.publicClient.getTransactionCount({ address: deployer.address, blockTag: "pending" });
  const sent: { hash: Hash; what: string }[] = [];
  const modules: Partial<ComplianceModules> = {};
  for (const [key, name] of Object.entries(MODULES) as [keyof ComplianceModules, ArtifactName][]) {
    const implementation = getContractAddress({ from: deployer.address, nonce: BigInt(nonce) });
    sent.push({
      what: name,
      hash: await wallet.deployContract({
        abi: ABIS[name] as Abi,
        bytecode: bytecode(name),
        chain: clients.chain,
        nonce: nonce++,
      }),
    });
    modules[key] = getContractAddress({ from: deployer.address, nonce: BigInt(nonce) });
    sent.push({
      what: `${name} proxy`,
      hash: await wallet.deployContract({
        abi: moduleProxyAbi,
        bytecode: bytecode("ModuleProxy"),
        args: [implementation, initialize],
        chain: clients.chain,
        nonce: nonce++,
      }),
    });
  }
  await Promise.all(sent.map(({ hash, what }) => confirm(clients, hash, `deploying ${what}`)));
  return modules as ComplianceModules;
}
