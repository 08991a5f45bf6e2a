// Deploys the ERC-3643 (T-REX) suite with ONCHAINID, Kit's claim issuer, and the demo tokens.
// Call order after T-REX's own test fixture (test/fixtures/deploy-full-suite.fixture.ts).
import {
  type Abi,
  type Account,
  type Address,
  getAddress,
  type LocalAccount,
  parseEventLogs,
  parseUnits,
  type TransactionReceipt,
  zeroAddress,
} from "viem";
import {
  claimIssuerAbi,
  claimTopicsRegistryAbi,
  identityAbi,
  identityRegistryAbi,
  identityRegistryStorageAbi,
  idFactoryAbi,
  implementationAuthorityAbi,
  modularComplianceAbi,
  tokenAbi,
  trexFactoryAbi,
  trexImplementationAuthorityAbi,
  trustedIssuersRegistryAbi,
} from "./abis";
import { type ArtifactName, artifactVersions, bytecode } from "./artifacts";
import { type ChainClients, confirm, connect, send } from "./clients";
import { DEPLOYMENT_FORMAT, type Deployment, type InvestorDeployment, type TokenDeployment } from "./deployment";
import { KEY_PURPOSE_CLAIM, KEY_TYPE_ECDSA, keyOf, registerInvestor } from "./identities";
import { mint, transfer, unpause } from "./tokens";

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
} satisfies Record<ArtifactName, Abi>;

export interface DemoTokenSpec {
  kind: string;
  name: string;
  symbol: string;
  decimals: number;
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

  const tokens: TokenDeployment[] = [];
  for (const spec of options.tokens ?? DEMO_TOKENS) {
    const token = await deployToken(clients, {
      owner: deployer,
      factory: factory.address,
      claimIssuer,
      identityRegistryStorage: tokens[0]?.identityRegistryStorage,
      ...spec,
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

  // Tokens start paused (without a Paused event); the agent lifts it so holders can trade.
  for (const token of tokens) await unpause(clients, deployer, token.address);

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
    identityRegistryStorage,
    tokens,
    investors,
  };
}

export interface DeployTokenOptions {
  /** Owner of the token and its registries, and their agent. */
  owner: Account;
  factory: Address;
  claimIssuer: Address;
  kind: string;
  name: string;
  symbol: string;
  decimals: number;
  /** Share an existing identity registry storage (the factory must own it); a new one otherwise. */
  identityRegistryStorage?: Address;
  /** Unique per factory; defaults to the symbol. */
  salt?: string;
  /** Extra agents of the token and identity registry (the owner is always one). At most 4. */
  agents?: Address[];
  claimTopic?: bigint;
}

/** One token through `TREXFactory.deployTREXSuite` (paused, as T-REX leaves it). */
export async function deployToken(clients: ChainClients, o: DeployTokenOptions): Promise<TokenDeployment> {
  const salt = o.salt ?? o.symbol;
  const topic = o.claimTopic ?? KYC_CLAIM_TOPIC;
  const agents = [o.owner.address, ...(o.agents ?? [])];
  const receipt: TransactionReceipt = await send(clients, o.owner, {
    address: o.factory,
    abi: trexFactoryAbi,
    functionName: "deployTREXSuite",
    args: [
      salt,
      {
        owner: o.owner.address,
        name: o.name,
        symbol: o.symbol,
        decimals: o.decimals,
        irs: o.identityRegistryStorage ?? zeroAddress,
        ONCHAINID: zeroAddress,
        irAgents: agents,
        tokenAgents: agents,
        complianceModules: [],
        complianceSettings: [],
      },
      { claimTopics: [topic], issuers: [o.claimIssuer], issuerClaims: [[topic]] },
    ],
  });
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
