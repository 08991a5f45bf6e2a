// A recovery killed between its steps resumes without a second send: first driven step by step in
// this process (a sender that "dies" after broadcasting the second step, before recording it; then
// one that dies after storing the third, before broadcasting it), then a real worker process
// killed -9 as soon as its first step is confirmed. Each time: as many agent transactions as
// steps, the recovery confirmed, the chain moved.
import { describe, expect, test } from "bun:test";
import {
  identityAbi,
  identityRegistryAbi,
  KYC_CLAIM_TOPIC,
  keyOf,
  mint,
  registerInvestor,
  send,
  tokenAbi,
} from "@kit/contracts";
import { sql } from "drizzle-orm";
import { type Address, type Hex, parseUnits } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { callApi } from "../../../test/api";
import { approveApplication, linkAddress, registrationOf } from "../../../test/onchain-kit";
import { balanceOf, grantedIssuer, operationRow, startOperationsKit } from "../../../test/operations";
import { serveKit } from "../../../test/serve";
import { createUser } from "../../../test/users";
import { claimDataFor, withWalletLock } from "../kyc/onchain-records";
import { connectOperationsChain, type OperationsChain } from "./chain";
import { confirmSubmitted } from "./confirmer";
import { sendPending } from "./sender";

const ops = await startOperationsKit();
const { kit, dev, bond } = ops;
const chain = await connectOperationsChain(kit.config);
const [requester, approver] = [await grantedIssuer(ops, [bond]), await grantedIssuer(ops, [bond])];
const client = dev.clients.publicClient;
const registry = dev.deployment.tokens[0]?.identityRegistry as Address;
const agentNonce = () => client.getTransactionCount({ address: chain.agent.address });
const held = parseUnits("12", 18);
const frozen = parseUnits("2", 18);

/**
 * An approved investor whose lost wallet is verified as Kit's eligibility would have done it
 * (identity managed by Kit's agent, Kit's claim for the approval: reconciliation finds nothing to
 * repair) and holds the bond, part of it frozen.
 */
async function investorWithLostWallet() {
  const investor = await createUser(kit, "investor");
  const lost = privateKeyToAccount(generatePrivateKey()).address.toLowerCase() as Address;
  const fresh = privateKeyToAccount(generatePrivateKey()).address.toLowerCase() as Address;
  const applicationId = await approveApplication(kit, investor.id);
  await registerInvestor(dev.clients, {
    agent: dev.accounts.deployer,
    claimSigner: dev.accounts.claimSigner,
    idFactory: dev.deployment.onchainId.idFactory,
    claimIssuer: dev.deployment.claimIssuer.address,
    identityRegistry: registry,
    topic: KYC_CLAIM_TOPIC,
    wallet: lost,
    country: 250,
    claimData: claimDataFor(applicationId),
  });
  await mint(dev.clients, dev.accounts.deployer, bond, lost, held);
  await send(dev.clients, dev.accounts.deployer, {
    address: bond,
    abi: tokenAbi,
    functionName: "freezePartialTokens",
    args: [lost, frozen],
  });
  for (const wallet of [lost, fresh]) await linkAddress(kit, investor.id, wallet);
  return { lost, fresh };
}

/** Requested by one issuer, approved by another: pending, nothing sent yet. */
async function approvedRecovery(lost: Address, fresh: Address): Promise<string> {
  const requested = await callApi(kit.app, requester, "POST", `/tokens/${bond}/operations/recover`, {
    lostWallet: lost,
    newWallet: fresh,
  });
  expect(requested.status).toBe(202);
  const id = requested.body.operation.id as string;
  const approved = await callApi(kit.app, approver, "POST", `/token-operations/${id}/approve`, { reason: "checked" });
  expect(approved.status).toBe(200);
  return id;
}

/** A chain whose broadcast "kills" the sender: before the node gets the transaction, or after. */
function dyingAt(moment: "before" | "after"): OperationsChain {
  const dying = new Proxy(chain.client, {
    get(target, property, receiver) {
      if (property !== "sendRawTransaction") return Reflect.get(target, property, receiver);
      return async (args: { serializedTransaction: Hex }) => {
        if (moment === "after") await target.sendRawTransaction(args);
        throw new Error("killed");
      };
    },
  });
  return { ...chain, client: dying };
}

/** One sender pass and confirmation passes until its transactions are settled (anvil mines at once). */
async function pass(sender: OperationsChain = chain) {
  await sendPending(kit.deps, sender);
  for (let i = 0; i < 20 && (await confirmSubmitted(kit.deps, chain)).waiting.length > 0; i++) await Bun.sleep(25);
}

async function expectRecovered(lost: Address, fresh: Address) {
  expect(await balanceOf(dev, bond, lost)).toBe(0n);
  expect(await balanceOf(dev, bond, fresh)).toBe(held);
  expect(
    await client.readContract({ address: bond, abi: tokenAbi, functionName: "getFrozenTokens", args: [fresh] }),
  ).toBe(frozen);
  expect(
    await client.readContract({ address: registry, abi: identityRegistryAbi, functionName: "contains", args: [lost] }),
  ).toBe(false);
}

describe("killed between steps, in this process", () => {
  test("dies after broadcasting step 2 and after storing step 3: three transactions in all, recovered", async () => {
    const { lost, fresh } = await investorWithLostWallet();
    const id = await approvedRecovery(lost, fresh);
    const nonce = await agentNonce();

    await pass(); // step 1: the new wallet's key on the identity
    expect((await operationRow(kit, id))?.steps?.done.map((d) => d.step.action)).toEqual(["add_key"]);

    await expect(sendPending(kit.deps, dyingAt("after"))).rejects.toThrow("killed");
    const broadcast = await operationRow(kit, id);
    expect(broadcast).toMatchObject({ status: "signed", steps: { current: { action: "recovery_address" } } });
    expect(await agentNonce()).toBe(nonce + 2); // on chain, though the row does not know yet

    await pass(); // the restarted sender finds it mined: recorded, not sent again
    expect((await operationRow(kit, id))?.steps?.done.map((d) => d.step.action)).toEqual([
      "add_key",
      "recovery_address",
    ]);
    expect(await agentNonce()).toBe(nonce + 2);

    await expect(sendPending(kit.deps, dyingAt("before"))).rejects.toThrow("killed");
    const stored = await operationRow(kit, id);
    expect(stored).toMatchObject({ status: "signed", steps: { current: { action: "remove_key" } } });
    expect(await agentNonce()).toBe(nonce + 2); // stored, never reached the node

    await pass(); // the same bytes go out once, then the plan finds nothing left
    await pass();
    const done = await operationRow(kit, id);
    expect(done).toMatchObject({ status: "confirmed", nonce: stored?.nonce, txHash: stored?.txHash });
    expect(await agentNonce()).toBe(nonce + 3);
    await expectRecovered(lost, fresh);
  });
});

test("a recovery that cannot finish takes its key back off and hands the wallets back to eligibility", async () => {
  const { lost, fresh } = await investorWithLostWallet();
  const id = await approvedRecovery(lost, fresh);
  await pass(); // step 1: the key is on the identity
  const identity = (await operationRow(kit, id))?.parameters.investorOnchainId as Address;
  const hasKey = () =>
    client.readContract({
      address: identity,
      abi: identityAbi,
      functionName: "keyHasPurpose",
      args: [keyOf(fresh), 1n],
    });
  expect(await hasKey()).toBe(true);
  // Meanwhile an agent burns everything the lost wallet held: recoveryAddress would revert.
  await send(dev.clients, dev.accounts.deployer, {
    address: bond,
    abi: tokenAbi,
    functionName: "burn",
    args: [lost, held],
  });
  await pass();
  await pass();
  const failed = await operationRow(kit, id);
  expect(failed).toMatchObject({ status: "failed", errorCode: "nothing_to_recover" });
  expect(failed?.steps?.done.map((d) => d.step.action)).toEqual(["add_key", "remove_key"]);
  expect(await hasKey()).toBe(false);
  expect(
    await client.readContract({ address: registry, abi: identityRegistryAbi, functionName: "contains", args: [lost] }),
  ).toBe(true);
  // Both rows are eligibility's again (a registration was queued; it reads the chain first).
  expect((await registrationOf(kit, lost))?.status).toBe("pending");
  expect((await registrationOf(kit, fresh))?.status).toBe("pending");
});

test("an eligibility job holding a wallet puts the recovery off; other operations go out meanwhile", async () => {
  const { lost, fresh } = await investorWithLostWallet();
  const id = await approvedRecovery(lost, fresh);
  const [holder] = dev.accounts.investors;
  const mint = await callApi(kit.app, requester, "POST", `/tokens/${bond}/operations/mint`, {
    recipients: [{ to: holder?.address, amount: "1" }],
  });
  let release = () => {};
  const busy = withWalletLock(kit.deps.db, chain.chainId, fresh, () => new Promise<void>((r) => (release = r)));
  try {
    await Bun.sleep(50); // the lock is taken
    const summary = await sendPending(kit.deps, chain);
    expect(summary).toMatchObject({ deferred: 1, sent: 1 });
    expect(await operationRow(kit, id)).toMatchObject({ status: "pending", steps: null });
    expect((await operationRow(kit, mint.body.operation.id))?.status).not.toBe("pending");
  } finally {
    release();
    await busy;
  }
  for (let i = 0; i < 5 && (await operationRow(kit, id))?.status !== "confirmed"; i++) await pass();
  expect((await operationRow(kit, id))?.status).toBe("confirmed");
  await expectRecovered(lost, fresh);
}, 30_000);

test("a worker process killed -9 right after a step confirmed: the next one resumes without a second send", async () => {
  const { lost, fresh } = await investorWithLostWallet();
  const id = await approvedRecovery(lost, fresh);
  const fromBlock = await client.getBlockNumber({ cacheTime: 0 });
  const env = { ...kit.env, OPERATIONS_SWEEP_SECONDS: "1", FX_PROVIDERS: "manual" };
  const stepsConfirmed = async () => {
    const { rows } = await kit.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from token_operation_history where operation_id = ${id} and reason like 'step %'`,
    );
    return rows[0]?.n ?? 0;
  };

  const first = await serveKit(env, { role: "worker" });
  const deadline = Date.now() + 30_000;
  while ((await stepsConfirmed()) < 1 && Date.now() < deadline) await Bun.sleep(1);
  first.process.kill("SIGKILL");
  await first.process.exited;
  const atKill = await operationRow(kit, id);
  expect(atKill?.status).not.toBe("confirmed");

  const second = await serveKit(env, { role: "worker" });
  try {
    const until = Date.now() + 30_000;
    while ((await operationRow(kit, id))?.status !== "confirmed" && Date.now() < until) await Bun.sleep(50);
  } finally {
    await second.stop();
  }
  const done = await operationRow(kit, id);
  expect(done?.status).toBe("confirmed");
  expect(done?.steps?.done.map((d) => d.step.action)).toEqual(["add_key", "recovery_address", "remove_key"]);
  // Each of the recovery's calls reached the chain once, in order (the worker also runs the
  // eligibility jobs an earlier test queued: their transactions are for other wallets).
  const identity = done?.parameters.investorOnchainId as Address;
  const sent = await agentTransactionsSince(fromBlock);
  const calls = sent.filter(
    (tx) => tx.to === identity || (tx.to === bond.toLowerCase() && tx.input.includes(fresh.slice(2))),
  );
  expect(calls.map((tx) => tx.hash)).toEqual(done?.steps?.done.map((d) => d.txHash) ?? []);
  await expectRecovered(lost, fresh);
}, 90_000);

/** The agent's mined transactions after `fromBlock`, in order. */
async function agentTransactionsSince(fromBlock: bigint) {
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const found: { hash: string; to: string; input: string }[] = [];
  for (let n = fromBlock + 1n; n <= head; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== chain.agent.address.toLowerCase()) continue;
      found.push({ hash: tx.hash.toLowerCase(), to: (tx.to ?? "").toLowerCase(), input: tx.input.toLowerCase() });
    }
  }
  return found;
}
