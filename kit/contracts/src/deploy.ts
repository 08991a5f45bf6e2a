// Deploys the ERC-3643 (T-REX) suite with ONCHAINID, Kit's claim issuer, and the demo tokens (demo.ts).
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
import { DEMO_TOKENS, type DemoTokenSpec, seedDemoInvestors } from "./demo";
import { DEPLOYMENT_FORMAT, type Deployment, type TokenDeployment } from "./deployment";
import { KEY_PURPOSE_CLAIM, KEY_TYPE_ECDSA, KYC_CLAIM_TOPIC, keyOf } from "./identities";

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

/**
 * The whole suite on a fresh chain, in the order of T-REX's own fixture: ONCHAINID, the T-REX
 * implementations and factory, Kit's claim issuer, the compliance modules, then the demo tokens and
 * (when given) the demo investors, verified and trading.
 */
export async function deploySuite(options: DeploySuiteOptions): Promise<Deployment> {
  const clients = await connect(options.rpcUrl);
  const log = options.log ?? (() => {});
  const { deployer, claimSigner } = options;
  const fromBlock = Number(await clients.publicClient.getBlockNumber()) + 1;
  const versions = artifactVersions();
  const deploy = contractDeployer(clients, deployer);

  const onchainId = await deployOnchainId(deploy, deployer);
  log(`ONCHAINID IdFactory ${onchainId.idFactory}`);
  const trex = await deployTrex(clients, deployer, deploy, onchainId.idFactory, versions);
  log(`T-REX factory ${trex.factory}`);
  const claimIssuer = await deployClaimIssuer(clients, deploy, deployer, claimSigner);
  log(`claim issuer ${claimIssuer} (signer ${claimSigner.address})`);
  const complianceModules = await deployComplianceModules(clients, deployer);

  const specs = options.tokens ?? DEMO_TOKENS;
  const tokens: TokenDeployment[] = [];
  // The demo tokens follow tokens.create's plan (creation.ts): deployed with their modules, unpaused.
  for (const spec of specs) {
    const token = await deployToken(clients, {
      owner: deployer,
      factory: trex.factory,
      implementationAuthority: trex.implementationAuthority,
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
  const investors = await seedDemoInvestors(clients, {
    agent: deployer,
    claimSigner,
    idFactory: onchainId.idFactory,
    claimIssuer,
    tokens,
    specs,
    investors: options.investors ?? [],
    log,
  });

  return {
    format: DEPLOYMENT_FORMAT,
    chainId: clients.chain.id,
    deployedAt: new Date().toISOString(),
    artifacts: versions,
    deployer: deployer.address,
    fromBlock,
    toBlock: Number(await clients.publicClient.getBlockNumber()),
    onchainId,
    trex,
    claimTopics: { kyc: KYC_CLAIM_TOPIC.toString() },
    claimIssuer: { address: claimIssuer, signer: claimSigner.address },
    complianceModules,
    identityRegistryStorage: tokens[0]?.identityRegistryStorage ?? zeroAddress,
    tokens,
    investors,
  };
}

/** Deploys one contract of the npm artifacts from `deployer` and waits for its receipt. */
type DeployContract = (
  name: ArtifactName,
  args?: readonly unknown[],
) => Promise<{ address: Address; receipt: TransactionReceipt }>;

function contractDeployer(clients: ChainClients, deployer: Account): DeployContract {
  return async (name, args = []) => {
    const hash = await clients.wallet(deployer).deployContract({
      abi: ABIS[name] as Abi,
      bytecode: bytecode(name),
      args: args as never,
    });
    const receipt = await confirm(clients, hash, `deploying ${name}`);
    if (!receipt.contractAddress) throw new Error(`deploying ${name}: no contract address in the receipt`);
    return { address: getAddress(receipt.contractAddress), receipt };
  };
}

/** ONCHAINID: the identity implementation behind every identity proxy, and the factory of identities. */
async function deployOnchainId(deploy: DeployContract, deployer: Account): Promise<Deployment["onchainId"]> {
  const identityImplementation = (await deploy("Identity", [deployer.address, true])).address;
  const implementationAuthority = (await deploy("ImplementationAuthority", [identityImplementation])).address;
  const idFactory = (await deploy("IdFactory", [implementationAuthority])).address;
  return { identityImplementation, implementationAuthority, idFactory };
}

/** T-REX: implementations (never initialised: proxies call them), their authority, the factory. */
async function deployTrex(
  clients: ChainClients,
  deployer: Account,
  deploy: DeployContract,
  idFactory: Address,
  versions: Record<string, string>,
): Promise<Deployment["trex"]> {
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
  return {
    implementations,
    implementationAuthority: trexImplementationAuthority,
    factory: factory.address,
    factoryBlock: Number(factory.receipt.blockNumber),
    version: `${version.major}.${version.minor}.${version.patch}`,
  };
}

/** Kit's claim issuer: the deployer manages it; the claim-signer key signs (purpose CLAIM, ECDSA). */
async function deployClaimIssuer(
  clients: ChainClients,
  deploy: DeployContract,
  deployer: Account,
  claimSigner: Account,
): Promise<Address> {
  const claimIssuer = (await deploy("ClaimIssuer", [deployer.address])).address;
  await send(clients, deployer, {
    address: claimIssuer,
    abi: claimIssuerAbi,
    functionName: "addKey",
    args: [keyOf(claimSigner.address), KEY_PURPOSE_CLAIM, KEY_TYPE_ECDSA],
  });
  return claimIssuer;
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
