// A creation killed between or inside its steps resumes without deploying twice: driven step by
// step in this process (a sender that dies right after broadcasting deployTREXSuite; a row that lost
// its deploying transaction altogether), then a real worker process killed -9 once the deployment
// is on chain. Each time: one TREXSuiteDeployed for the ISIN, two agent transactions, confirmed.
import { expect, test } from "bun:test";
import { deployToken, tokenAbi, trexFactoryAbi } from "@kit/contracts";
import { sql } from "drizzle-orm";
import { type Address, type Hex, keccak256, toHex } from "viem";
import { callApi } from "../../../test/api";
import { operationRow, startOperationsKit } from "../../../test/operations";
import { serveKit } from "../../../test/serve";
import { createUser } from "../../../test/users";
import { connectOperationsChain, type OperationsChain } from "./chain";
import { confirmSubmitted } from "./confirmer";
import { sendPending } from "./sender";

const ops = await startOperationsKit();
const { kit, dev } = ops;
const chain = await connectOperationsChain(kit.config);
const issuer = await createUser(kit, "issuer");
const client = dev.clients.publicClient;
const agentNonce = () => client.getTransactionCount({ address: chain.agent.address });

let counter = 0;
function newIsin(): string {
  const body = `DE${String(Date.now() % 1e5).padStart(5, "0")}${String(counter++).padStart(4, "0")}`;
  const digits = [...body].map((c) => (c >= "A" ? String(c.charCodeAt(0) - 55) : c)).join("");
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

async function requestCreation(): Promise<{ id: string; isin: string; token: Address }> {
  const isin = newIsin();
  const answer = await callApi(kit.app, issuer, "POST", "/tokens", {
    kind: "equity",
    name: "Crash Equity",
    symbol: "CRSH",
    decimals: 0,
    isin,
    shareClass: "A",
    votingRights: true,
    compliance: { maxBalancePerInvestor: "1000" },
  });
  expect(answer.status).toBe(202);
  return { id: answer.body.operation.id, isin, token: answer.body.operation.token };
}

/** A chain whose broadcast "kills" the sender right after the node got the transaction. */
function dyingAfterBroadcast(): OperationsChain {
  const dying = new Proxy(chain.client, {
    get(target, property, receiver) {
      if (property !== "sendRawTransaction") return Reflect.get(target, property, receiver);
      return async (args: { serializedTransaction: Hex }) => {
        await target.sendRawTransaction(args);
        throw new Error("killed");
      };
    },
  });
  return { ...chain, client: dying };
}

async function pass() {
  await sendPending(kit.deps, chain);
  for (let i = 0; i < 20 && (await confirmSubmitted(kit.deps, chain)).waiting.length > 0; i++) await Bun.sleep(25);
}

/** Sender and confirmer passes until the operation is settled (a few: one per step, one to settle). */
async function settle(id: string) {
  for (let i = 0; i < 6 && !["confirmed", "failed"].includes((await operationRow(kit, id))?.status ?? ""); i++) {
    await pass();
  }
}

/** How many suites the factory deployed for this ISIN (TREXSuiteDeployed's salt is indexed as its hash). */
async function deploymentsOf(isin: string): Promise<number> {
  const logs = await client.getContractEvents({
    address: dev.deployment.trex.factory,
    abi: trexFactoryAbi,
    eventName: "TREXSuiteDeployed",
    fromBlock: 0n,
  });
  return logs.filter((log) => log.topics[2] === keccak256(toHex(isin))).length;
}

async function expectCreated(id: string, isin: string, token: Address) {
  const row = await operationRow(kit, id);
  expect(row?.status).toBe("confirmed");
  expect(row?.steps?.done.map((d) => d.step.action)).toEqual(["deploy_suite", "unpause"]);
  expect(await deploymentsOf(isin)).toBe(1);
  expect(await client.readContract({ address: token, abi: tokenAbi, functionName: "paused" })).toBe(false);
}

test("the sender dies right after broadcasting deployTREXSuite: found mined, never sent again", async () => {
  const { id, isin, token } = await requestCreation();
  const nonce = await agentNonce();
  await expect(sendPending(kit.deps, dyingAfterBroadcast())).rejects.toThrow("killed");
  expect(await operationRow(kit, id)).toMatchObject({
    status: "signed",
    steps: { current: { action: "deploy_suite" } },
  });
  expect(await agentNonce()).toBe(nonce + 1); // on chain, though the row does not know yet
  await settle(id);
  await expectCreated(id, isin, token);
  expect(await agentNonce()).toBe(nonce + 2);
});

test("a row that lost its deploying transaction reads the factory and only unpauses", async () => {
  const { id, isin, token } = await requestCreation();
  const nonce = await agentNonce();
  await expect(sendPending(kit.deps, dyingAfterBroadcast())).rejects.toThrow("killed");
  // The worst case: the row forgets the transaction (status, nonce, hash, step) as if never sent.
  await kit.deps.db.execute(sql`update token_operations set status = 'pending', nonce = null, tx_hash = null,
    raw_transaction = null, signer = null, sent_at_block = null,
    steps = jsonb_set(steps, '{current}', 'null'::jsonb) where id = ${id}`);
  await settle(id);
  const row = await operationRow(kit, id);
  expect(row?.status).toBe("confirmed");
  expect(row?.steps?.done.map((d) => d.step.action)).toEqual(["unpause"]);
  expect(await deploymentsOf(isin)).toBe(1);
  expect(await agentNonce()).toBe(nonce + 2);
  expect(await client.readContract({ address: token, abi: tokenAbi, functionName: "paused" })).toBe(false);
});

test("the ISIN taken on the factory after the request: failed with isin_taken, nothing sent", async () => {
  const { id, isin } = await requestCreation();
  await deployToken(dev.clients, {
    owner: dev.accounts.deployer,
    factory: dev.deployment.trex.factory,
    claimIssuer: dev.deployment.claimIssuer.address,
    identityRegistryStorage: dev.deployment.identityRegistryStorage,
    kind: "equity",
    name: "Someone Else's Equity",
    symbol: "ELSE",
    decimals: 0,
    salt: isin,
  });
  const nonce = await agentNonce();
  await settle(id);
  expect(await operationRow(kit, id)).toMatchObject({ status: "failed", errorCode: "isin_taken", steps: { done: [] } });
  expect(await agentNonce()).toBe(nonce);
  const answer = await callApi(kit.app, issuer, "GET", `/token-operations/${id}`);
  expect(answer.body.error.message).toContain(`the factory already has a token for ISIN ${isin}`);
});

test("a worker process killed -9 once the suite is deployed: the next one finishes without a second deployment", async () => {
  const { id, isin, token } = await requestCreation();
  const env = { ...kit.env, OPERATIONS_SWEEP_SECONDS: "1", FX_PROVIDERS: "manual" };
  const first = await serveKit(env, { role: "worker" });
  const deadline = Date.now() + 30_000;
  while ((await deploymentsOf(isin)) < 1 && Date.now() < deadline) await Bun.sleep(1);
  first.process.kill("SIGKILL");
  await first.process.exited;
  // Usually killed before the unpause was recorded (a fast worker may have finished: still one deployment).

  const second = await serveKit(env, { role: "worker" });
  try {
    const until = Date.now() + 30_000;
    while ((await operationRow(kit, id))?.status !== "confirmed" && Date.now() < until) await Bun.sleep(50);
  } finally {
    await second.stop();
  }
  await expectCreated(id, isin, token);
}, 90_000);
