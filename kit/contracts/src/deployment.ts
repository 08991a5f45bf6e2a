// The deployment file: what `deploySuite` put on a chain, written as JSON for the api and indexer.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type Address, getAddress, type Hex } from "viem";
import type { ComplianceModules } from "./creation";

export const DEPLOYMENT_FORMAT = 1;

export interface TokenDeployment {
  /** "bond" and "equity" for the demo tokens. */
  kind: string;
  address: Address;
  name: string;
  symbol: string;
  decimals: number;
  /** The salt given to `TREXFactory.deployTREXSuite` (unique per factory). */
  salt: string;
  identityRegistry: Address;
  identityRegistryStorage: Address;
  trustedIssuersRegistry: Address;
  claimTopicsRegistry: Address;
  compliance: Address;
  /** The token's own ONCHAINID, created by the factory. */
  onchainId: Address;
  deploymentBlock: number;
  deploymentTransaction: Hex;
}

export interface InvestorDeployment {
  wallet: Address;
  /** The wallet's ONCHAINID identity (holding the KYC claim). */
  identity: Address;
  /** ISO 3166-1 numeric country code, as registered in the identity registry. */
  country: number;
}

export interface Deployment {
  format: typeof DEPLOYMENT_FORMAT;
  chainId: number;
  deployedAt: string;
  /** Versions of the npm packages whose artifacts were deployed. */
  artifacts: Record<string, string>;
  /** Owner of the factories and of the tokens; agent of the tokens and their identity registries. */
  deployer: Address;
  /** First and last block this deployment wrote to: an indexer starts at `fromBlock`. */
  fromBlock: number;
  toBlock: number;
  onchainId: {
    identityImplementation: Address;
    implementationAuthority: Address;
    idFactory: Address;
  };
  trex: {
    implementations: {
      token: Address;
      identityRegistry: Address;
      identityRegistryStorage: Address;
      claimTopicsRegistry: Address;
      trustedIssuersRegistry: Address;
      modularCompliance: Address;
    };
    implementationAuthority: Address;
    factory: Address;
    /** Block of the factory's deployment: `TREXSuiteDeployed` events start there. */
    factoryBlock: number;
    /** The version registered in the implementation authority. */
    version: string;
  };
  /** Claim topics required by Kit's tokens, as decimal strings (uint256). */
  claimTopics: { kyc: string };
  claimIssuer: {
    /** The ONCHAINID ClaimIssuer contract, trusted for the KYC topic by every Kit token. */
    address: Address;
    /** The address whose signature makes a claim valid (the claim-signer key). */
    signer: Address;
  };
  /** One identity registry storage shared by every Kit token: a wallet registered once may hold them all. */
  identityRegistryStorage: Address;
  /**
   * Kit's compliance module instances, bound by the tokens that want them (`tokens.create`).
   * Absent from files written before they existed: `bun run chain:deploy` adds them.
   */
  complianceModules?: ComplianceModules;
  tokens: TokenDeployment[];
  investors: InvestorDeployment[];
}

export class DeploymentFileError extends Error {
  override name = "DeploymentFileError";
}

/** Reads and checks a deployment file; throws DeploymentFileError naming the file when it is unusable. */
export async function readDeployment(path: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DeploymentFileError(
      code === "ENOENT"
        ? `no deployment file at ${path}: run \`bun run chain:deploy\` (or \`bun run dev\`, which deploys on its anvil)`
        : `cannot read the deployment file ${path}: ${(error as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DeploymentFileError(`the deployment file ${path} is not JSON`);
  }
  return parseDeployment(value, path);
}

export function parseDeployment(value: unknown, source = "deployment"): Deployment {
  const d = value as Partial<Deployment> | null;
  if (!d || typeof d !== "object" || d.format !== DEPLOYMENT_FORMAT) {
    throw new DeploymentFileError(`${source}: not a Kit deployment (format ${DEPLOYMENT_FORMAT})`);
  }
  const problems: string[] = [];
  if (!Number.isSafeInteger(d.chainId)) problems.push("chainId");
  if (!isAddress(d.trex?.factory)) problems.push("trex.factory");
  if (!isAddress(d.onchainId?.idFactory)) problems.push("onchainId.idFactory");
  if (!isAddress(d.claimIssuer?.address)) problems.push("claimIssuer.address");
  if (!Array.isArray(d.tokens) || d.tokens.some((t) => !isAddress(t?.address))) problems.push("tokens");
  if (!Array.isArray(d.investors)) problems.push("investors");
  if (problems.length > 0) throw new DeploymentFileError(`${source}: missing or invalid ${problems.join(", ")}`);
  return d as Deployment;
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export async function writeDeployment(path: string, deployment: Deployment): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(deployment, null, 2)}\n`);
  await rename(temporary, path);
}

function isAddress(value: unknown): value is Address {
  if (typeof value !== "string") return false;
  try {
    return getAddress(value) === value;
  } catch {
    return false;
  }
}
