// "Deploy unless already there": what `bun run dev` runs on its anvil at every start.
import type { LocalAccount } from "viem";
import { connect } from "./clients";
import { deployComplianceModules, deploySuite } from "./deploy";
import { type Deployment, DeploymentFileError, readDeployment, writeDeployment } from "./deployment";

export interface EnsureDeploymentOptions {
  rpcUrl: string;
  /** The deployment file: read when its contracts are on the chain, (re)written otherwise. */
  path: string;
  deployer: LocalAccount;
  claimSigner: LocalAccount;
  investors?: LocalAccount[];
  log?: (line: string) => void;
}

/** The deployment in `path` when it matches the chain; otherwise a new one, written to `path`. */
export async function ensureDeployment(
  options: EnsureDeploymentOptions,
): Promise<{ deployment: Deployment; deployed: boolean; ms: number }> {
  const started = performance.now();
  const existing = await readDeployment(options.path).catch((error) => {
    if (error instanceof DeploymentFileError) return undefined;
    throw error;
  });
  if (existing && (await isOnChain(options.rpcUrl, existing))) {
    if (existing.complianceModules) return { deployment: existing, deployed: false, ms: performance.now() - started };
    // A suite deployed before Kit bound compliance modules: they are added, the rest is kept.
    const complianceModules = await deployComplianceModules(await connect(options.rpcUrl), options.deployer);
    const deployment = { ...existing, complianceModules };
    await writeDeployment(options.path, deployment);
    options.log?.(`compliance modules added to the deployment in ${options.path}`);
    return { deployment, deployed: false, ms: performance.now() - started };
  }
  const deployment = await deploySuite(options);
  await writeDeployment(options.path, deployment);
  return { deployment, deployed: true, ms: performance.now() - started };
}

/** Same chain id, and code at the factory and every token (a fresh anvil has none). */
export async function isOnChain(rpcUrl: string, deployment: Deployment): Promise<boolean> {
  const { publicClient, chain } = await connect(rpcUrl);
  if (chain.id !== deployment.chainId) return false;
  const addresses = [
    deployment.trex.factory,
    deployment.claimIssuer.address,
    ...deployment.tokens.map((t) => t.address),
  ];
  const codes = await Promise.all(addresses.map((address) => publicClient.getCode({ address })));
  return codes.every((code) => code !== undefined && code !== "0x");
}
