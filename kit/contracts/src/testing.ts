// A fresh chain with Kit's suite deployed, for tests and benches, in well under a second.
//
//   import { startDevChain } from "@kit/contracts";
//   const chain = await startDevChain();          // own anvil, from the cached snapshot
//   afterAll(() => chain.stop());
//   chain.rpcUrl, chain.deployment.tokens[0].address, chain.accounts.investors[0], chain.clients
//
// The first call in a checkout deploys the suite once (~1 s) on a throwaway anvil and keeps its
// state (`--dump-state`) on disk, keyed by the artifact versions, the anvil version and this
// package's deployment code; every call then starts a new anvil from that state (`--load-state`):
// same addresses, same blocks and logs, and nothing shared between calls.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Address, LocalAccount } from "viem";
import { type Anvil, startAnvil } from "./anvil";
import { artifactVersions } from "./artifacts";
import { anvilAccount, type ChainClients, connect } from "./clients";
import { DEMO_TOKENS } from "./demo";
import { deploySuite } from "./deploy";
import { type Deployment, parseDeployment } from "./deployment";
import { KYC_CLAIM_TOPIC, type RegisteredInvestor, registerInvestor } from "./identities";

export interface DevChainAccounts {
  /** anvil account 0: owner of everything, agent of the tokens and registries. */
  deployer: LocalAccount;
  /** anvil account 1: the claim issuer's signing key. */
  claimSigner: LocalAccount;
  /** anvil accounts 2–5: the demo investors, verified and holding tokens. */
  investors: LocalAccount[];
  /** anvil accounts 6–9: funded with ether, not registered anywhere (unverified wallets). */
  others: LocalAccount[];
}

export interface DevChain extends Anvil {
  deployment: Deployment;
  clients: ChainClients;
  accounts: DevChainAccounts;
  /** Makes a wallet verified for every Kit token (identity + KYC claim + registration); idempotent. */
  verify(wallet: Address, country?: number): Promise<RegisteredInvestor>;
}

export function devChainAccounts(): DevChainAccounts {
  return {
    deployer: anvilAccount(0),
    claimSigner: anvilAccount(1),
    investors: [2, 3, 4, 5].map(anvilAccount),
    others: [6, 7, 8, 9].map(anvilAccount),
  };
}

export interface StartDevChainOptions {
  /** More anvil flags, e.g. `["--disable-block-gas-limit"]`. */
  args?: string[];
  /** Where snapshots are kept (default: kit/contracts/node_modules/.cache/kit-contracts). */
  cacheDir?: string;
}

/** A new anvil holding the deployed suite, the demo tokens and investors (see the file comment). */
export async function startDevChain(options: StartDevChainOptions = {}): Promise<DevChain> {
  const snapshot = await ensureSnapshot(options.cacheDir ?? defaultCacheDir());
  const anvil = await startAnvil({ loadState: snapshot.stateFile, args: options.args });
  try {
    const { deployment } = snapshot;
    const clients = await connect(anvil.rpcUrl);
    const accounts = devChainAccounts();
    const verify = (wallet: Address, country = 250) =>
      registerInvestor(clients, {
        agent: accounts.deployer,
        claimSigner: accounts.claimSigner,
        idFactory: deployment.onchainId.idFactory,
        claimIssuer: deployment.claimIssuer.address,
        identityRegistry: (deployment.tokens[0] as { identityRegistry: Address }).identityRegistry,
        topic: KYC_CLAIM_TOPIC,
        wallet,
        country,
      });
    return { ...anvil, deployment, clients, accounts, verify };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

function defaultCacheDir(): string {
  return join(import.meta.dir, "..", "node_modules", ".cache", "kit-contracts");
}

/** What the snapshot depends on: a change to any of it makes a new one. */
async function snapshotKey(): Promise<string> {
  const hash = createHash("sha256");
  const require = createRequire(import.meta.url);
  hash.update(JSON.stringify(artifactVersions()));
  hash.update((require("@foundry-rs/anvil/package.json") as { version: string }).version);
  hash.update(JSON.stringify(DEMO_TOKENS));
  for (const file of [
    "deploy.ts",
    "identities.ts",
    "tokens.ts",
    "clients.ts",
    "deployment.ts",
    "artifacts.ts",
    "testing.ts",
  ]) {
    hash.update(await readFile(join(import.meta.dir, file)));
  }
  return hash.digest("hex").slice(0, 16);
}

let pending: Promise<{ stateFile: string; deployment: Deployment }> | undefined;

function ensureSnapshot(cacheDir: string) {
  pending ??= loadOrBuildSnapshot(cacheDir).catch((error) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function loadOrBuildSnapshot(cacheDir: string): Promise<{ stateFile: string; deployment: Deployment }> {
  const key = await snapshotKey();
  const stateFile = join(cacheDir, `${key}.state.json`);
  const deploymentFile = join(cacheDir, `${key}.deployment.json`);
  if (existsSync(stateFile) && existsSync(deploymentFile)) {
    try {
      return { stateFile, deployment: parseDeployment(JSON.parse(await readFile(deploymentFile, "utf8"))) };
    } catch {
      // a damaged cache entry: build it again
    }
  }

  await mkdir(cacheDir, { recursive: true });
  // Test files run in parallel processes: each builds under its own names, the last rename wins.
  const unique = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const temporaryState = join(cacheDir, `${key}.${unique}.state.tmp`);
  const builder = await startAnvil({ args: ["--dump-state", temporaryState] });
  let deployment: Deployment;
  try {
    const accounts = devChainAccounts();
    deployment = await deploySuite({
      rpcUrl: builder.rpcUrl,
      deployer: accounts.deployer,
      claimSigner: accounts.claimSigner,
      investors: accounts.investors,
    });
  } finally {
    await builder.stop(); // SIGTERM: anvil writes the --dump-state file on its way out
  }
  if (!existsSync(temporaryState)) throw new Error("anvil did not write its state on exit");
  const temporaryDeployment = join(cacheDir, `${key}.${unique}.deployment.tmp`);
  await writeFile(temporaryDeployment, JSON.stringify(deployment));
  await rename(temporaryState, stateFile);
  await rename(temporaryDeployment, deploymentFile);
  // Snapshots of older code or versions are never used again (~2 MB each).
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(key) && /\.(state|deployment)\.json$/.test(name))
      await rm(join(cacheDir, name), { force: true });
  }
  return { stateFile, deployment };
}
