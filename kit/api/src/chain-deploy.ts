// `bun run chain:deploy [--force]`: deploys Kit's ERC-3643 suite (kit/contracts) on RPC_URL and
// writes CHAIN_DEPLOYMENT_FILE. Without --force, a deployment whose contracts are on the chain is kept.
// On anvil: dev keys unless set, plus demo investors with holdings and transfers. Elsewhere:
// CHAIN_AGENT_PRIVATE_KEY and CLAIM_SIGNER_PRIVATE_KEY are required, and no demo holders are made.
import { parseArgs } from "node:util";
import { connect, deploySuite, ensureDeployment, isAnvil, writeDeployment } from "@kit/contracts";
import { ConfigError, loadConfig } from "./config";
import { chainAccounts, demoInvestors } from "./infra/chain-accounts";

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const { values } = parseArgs({ options: { force: { type: "boolean", default: false } }, strict: true });

try {
  const config = loadConfig();
  const rpcUrl = config.chain.rpcUrl;
  if (!rpcUrl) fail("RPC_URL: must be set (`bun run dev` starts an anvil and deploys on it by itself)");
  const clients = await connect(rpcUrl).catch((error: Error) =>
    fail(`the node at RPC_URL did not answer: ${error.message.split("\n")[0]}`),
  );
  if (clients.chain.id !== config.chain.id) {
    fail(`RPC_URL is chain ${clients.chain.id} but CHAIN_ID is ${config.chain.id}: set CHAIN_ID=${clients.chain.id}`);
  }
  const onAnvil = await isAnvil(clients.publicClient);
  const { agent, claimSigner } = chainAccounts(config, onAnvil);
  const options = {
    rpcUrl,
    deployer: agent,
    claimSigner,
    investors: onAnvil ? demoInvestors() : [],
    log: (line: string) => process.stdout.write(`  ${line}\n`),
  };
  const path = config.chain.deploymentFile;
  process.stdout.write(`Deploying Kit's token suite on chain ${clients.chain.id} as ${agent.address}\n`);
  const started = performance.now();
  const { deployment, deployed } = values.force
    ? { deployment: await deploySuite(options), deployed: true }
    : await ensureDeployment({ ...options, path });
  if (values.force) await writeDeployment(path, deployment);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    deployed
      ? `Deployed in ${seconds} s (blocks ${deployment.fromBlock}–${deployment.toBlock}); wrote ${path}\n`
      : `Already deployed on this chain (${path}); --force deploys a new suite\n`,
  );
  for (const token of deployment.tokens) {
    process.stdout.write(`  ${token.symbol.padEnd(6)} ${token.address}  ${token.name}, ${token.decimals} decimals\n`);
  }
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  fail(`chain:deploy failed: ${(error as Error).message.split("\n")[0]}`);
}
