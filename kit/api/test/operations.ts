// A Kit on its own anvil (kit/contracts' snapshot: the demo tokens, verified investors) with the
// demo tokens indexed, for tests of the token operations outbox. The outbox's worker is started
// by the test that wants one (in process, or as a child process it can kill).
import { afterAll } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DevChain, startDevChain, tokenAbi, writeDeployment } from "@kit/contracts";
import { eq } from "drizzle-orm";
import type { Address } from "viem";
import type { JobDefinition } from "../src/deps";
import { operationJobs } from "../src/domains/operations/jobs";
import { tokenOperations } from "../src/domains/operations/schema";
import type { OperationRow } from "../src/domains/operations/store";
import { createMetrics } from "../src/infra/metrics";
import { jobDefinitions } from "../src/jobs/registry";
import { type RunningWorker, startWorker } from "../src/jobs/worker";
import { callApi } from "./api";
import { createTestKit, type TestKit } from "./kit";
import { insertToken } from "./tokens";
import { createUser, type TestUser } from "./users";

export interface OperationsKit {
  dev: DevChain;
  kit: TestKit;
  /** The demo bond (18 decimals) and equity (0 decimals), indexed. */
  bond: Address;
  equity: Address;
  admin: TestUser;
}

export async function startOperationsKit(env: Record<string, string> = {}): Promise<OperationsKit> {
  const dev = await startDevChain();
  const dir = await mkdtemp(join(tmpdir(), "kit-operations-"));
  const deploymentFile = join(dir, "deployment.json");
  await writeDeployment(deploymentFile, dev.deployment);
  const kit = await createTestKit({ env: { RPC_URL: dev.rpcUrl, CHAIN_DEPLOYMENT_FILE: deploymentFile, ...env } });
  afterAll(async () => {
    await dev.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const [bond, equity] = dev.deployment.tokens;
  if (!bond || !equity) throw new Error("the dev deployment lacks the demo tokens");
  for (const token of [bond, equity]) {
    await insertToken(kit, {
      address: token.address,
      name: token.name,
      symbol: token.symbol,
      decimals: token.decimals,
    });
  }
  const admin = await createUser(kit, "admin");
  return { dev, kit, bond: bond.address, equity: equity.address, admin };
}

/**
 * The outbox's jobs in this process, the sweep left unscheduled unless asked (a test decides what
 * runs); with `eligibility`, the on-chain KYC jobs too (run when queued, never on a schedule).
 */
export async function startOperationsWorker(
  kit: TestKit,
  options: { sweep?: boolean; eligibility?: boolean } = {},
): Promise<RunningWorker> {
  const eligibility = options.eligibility
    ? jobDefinitions(kit.config)
        .filter((d) => d.name.startsWith("kyc.onchain."))
        .map(({ everySeconds: _, ...definition }) => ({ ...definition, backoffMs: 200 }))
    : [];
  // The dispatcher runs when kicked (a settled operation records its requester's notification).
  const dispatcher = jobDefinitions(kit.config)
    .filter((d) => d.name === "notifications.dispatch")
    .map(({ everySeconds: _, ...definition }) => definition);
  const definitions: JobDefinition<string>[] = [
    ...operationJobs(kit.config).map((definition) =>
      options.sweep ? definition : { ...definition, everySeconds: undefined },
    ),
    ...eligibility,
    ...dispatcher,
  ];
  const worker = await startWorker(kit.deps, definitions, { metrics: createMetrics() });
  afterAll(() => worker.close());
  return worker;
}

/** An issuer granted on `tokens` by the admin. */
export async function grantedIssuer(ops: OperationsKit, tokens: Address[]): Promise<TestUser> {
  const issuer = await createUser(ops.kit, "issuer");
  for (const token of tokens) {
    const { status, body } = await callApi(ops.kit.app, ops.admin, "POST", `/tokens/${token}/grants`, {
      userId: issuer.id,
    });
    if (status !== 200) throw new Error(`grant failed: ${status} ${JSON.stringify(body)}`);
  }
  return issuer;
}

export async function operationRow(kit: TestKit, id: string): Promise<OperationRow | undefined> {
  const [row] = await kit.deps.db.select().from(tokenOperations).where(eq(tokenOperations.id, id));
  return row;
}

/** Polls the row until its status is one of `statuses`. */
export async function waitForOperation(
  kit: TestKit,
  id: string,
  statuses: OperationRow["status"][] = ["confirmed"],
  timeoutMs = 20_000,
): Promise<OperationRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await operationRow(kit, id);
    if (row && statuses.includes(row.status)) return row;
    if (Date.now() > deadline) {
      throw new Error(`operation ${id} is ${row?.status} (${row?.error ?? "no error"}), not ${statuses.join(" or ")}`);
    }
    await Bun.sleep(25);
  }
}

export function balanceOf(dev: DevChain, token: Address, holder: Address): Promise<bigint> {
  return dev.clients.publicClient.readContract({
    address: token,
    abi: tokenAbi,
    functionName: "balanceOf",
    args: [holder],
  });
}

export function totalSupply(dev: DevChain, token: Address): Promise<bigint> {
  return dev.clients.publicClient.readContract({ address: token, abi: tokenAbi, functionName: "totalSupply" });
}
