// A Kit wired to its own anvil (kit/contracts' snapshot: the suite, Kit's trusted ClaimIssuer, the
// demo tokens), with a worker running the on-chain eligibility jobs, and helpers to make approved
// investors with linked wallets. The scheduled jobs are left out, so a test decides what runs when.
import { afterAll, expect } from "bun:test";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DevChain, isVerified, startDevChain, writeDeployment } from "@kit/contracts";
import { eq } from "drizzle-orm";
import type { Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { JobDefinition } from "../src/deps";
import { walletAddress } from "../src/domains/auth/schema";
import type { RegistrationRow } from "../src/domains/kyc/onchain-records";
import { kycOnchainRegistrations } from "../src/domains/kyc/schema";
import { createLogger } from "../src/infra/log";
import { createMetrics } from "../src/infra/metrics";
import type { JobName } from "../src/jobs/names";
import { jobDefinitions } from "../src/jobs/registry";
import { type RunningWorker, startWorker } from "../src/jobs/worker";
import { createTestKit, type TestKit } from "./kit";
import { createDraftApplication, moveApplication } from "./kyc";

export interface OnchainKit {
  dev: DevChain;
  kit: TestKit;
  worker: RunningWorker;
  /** The identity registry Kit's tokens share. */
  identityRegistry: Address;
  /** Every line the worker and `log` wrote (JSON), for checks on what operators see. */
  logLines: Record<string, unknown>[];
  log: TestKit["deps"]["log"];
}

export async function startOnchainKit(): Promise<OnchainKit> {
  const dev = await startDevChain();
  const dir = await mkdtemp(join(tmpdir(), "kit-onchain-"));
  const deploymentFile = join(dir, "deployment.json");
  await writeDeployment(deploymentFile, dev.deployment);
  const kit = await createTestKit({ env: { RPC_URL: dev.rpcUrl, CHAIN_DEPLOYMENT_FILE: deploymentFile } });
  const logLines: Record<string, unknown>[] = [];
  const log = createLogger(
    { log: { level: "info", pretty: false } },
    {},
    {
      write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>),
    },
  );
  // Jobs run when queued, never on a schedule: a test queues what it wants.
  const definitions: JobDefinition<string>[] = jobDefinitions(kit.config)
    // The dispatcher too: the jobs kick it after recording their notifications.
    .filter((d) => d.name.startsWith("kyc.onchain.") || d.name === "notifications.dispatch")
    .map(({ everySeconds: _, ...definition }) => ({ ...definition, backoffMs: 200 }));
  const worker = await startWorker({ ...kit.deps, log }, definitions, { metrics: createMetrics() });
  afterAll(async () => {
    await worker.close();
    await dev.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const token = dev.deployment.tokens[0];
  if (!token) throw new Error("the dev deployment has no token");
  return { dev, kit, worker, identityRegistry: token.identityRegistry, logLines, log };
}

/** A fresh wallet (no gas needed: Kit's agent pays), linked to `userId`; lowercase. */
export function linkFreshWallet(kit: TestKit, userId: string): Promise<Address> {
  return linkAddress(kit, userId, privateKeyToAccount(generatePrivateKey()).address);
}

/** `address` linked to `userId` directly (no signature; nothing queued); lowercase. */
export async function linkAddress(kit: TestKit, userId: string, address: Address): Promise<Address> {
  const lowercase = address.toLowerCase() as Address;
  await kit.deps.db.insert(walletAddress).values({
    id: randomUUID(),
    userId,
    address: lowercase,
    chainId: kit.config.chain.id,
    createdAt: new Date(),
  });
  return lowercase;
}

/** An approved application (country of residence FR) for `userId`, not yet queued on chain. */
export async function approveApplication(kit: TestKit, userId: string): Promise<string> {
  const draft = await createDraftApplication(kit, { id: userId });
  await moveApplication(kit, draft.id, "approved");
  return draft.id;
}

export async function registrationOf(kit: TestKit, wallet: string): Promise<RegistrationRow | undefined> {
  const [row] = await kit.deps.db
    .select()
    .from(kycOnchainRegistrations)
    .where(eq(kycOnchainRegistrations.wallet, wallet.toLowerCase()));
  return row;
}

export async function waitForStatus(
  kit: TestKit,
  wallet: string,
  status: RegistrationRow["status"],
  timeoutMs = 20_000,
): Promise<RegistrationRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await registrationOf(kit, wallet);
    if (row?.status === status) return row;
    if (Date.now() > deadline) {
      throw new Error(`${wallet} is ${row?.status ?? "absent"} (${row?.error ?? "no error"}), not ${status}`);
    }
    await Bun.sleep(50);
  }
}

/** Approves a new application of `userId` with one fresh wallet and waits until it is verified on chain. */
export async function registeredInvestor(
  onchain: OnchainKit,
  userId: string,
): Promise<{ applicationId: string; wallet: Address; row: RegistrationRow }> {
  const { kit, dev, identityRegistry } = onchain;
  const wallet = await linkFreshWallet(kit, userId);
  const applicationId = await approveApplication(kit, userId);
  await kit.deps.jobs.enqueue("kyc.onchain.register" satisfies JobName, { applicationId });
  const row = await waitForStatus(kit, wallet, "registered");
  expect(await isVerified(dev.clients, identityRegistry, wallet)).toBe(true);
  return { applicationId, wallet, row };
}
