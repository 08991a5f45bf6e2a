// Recovery of a lost wallet end to end on anvil, with the eligibility jobs running: an investor
// holds two tokens (part of it frozen) → loses the wallet → links a new one over SIWE (eligibility
// registers it with an identity of its own) → an issuer requests the recovery → another approves →
// balances, frozen amounts, frozen flag and identity are on the new wallet (read from the chain),
// the lost wallet holds nothing, and eligibility does not put the lost wallet back. Then every
// precondition as a typed 4xx before any transaction.
import { describe, expect, test } from "bun:test";
import {
  identityAbi,
  identityRegistryAbi,
  idFactoryAbi,
  KYC_CLAIM_TOPIC,
  keyOf,
  mint,
  send,
  signClaim,
  tokenAbi,
} from "@kit/contracts";
import { eq } from "drizzle-orm";
import { Registry } from "prom-client";
import { type Address, parseUnits, stringToHex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { callApi } from "../../../test/api";
import { approveApplication, linkAddress, registrationOf, waitForStatus } from "../../../test/onchain-kit";
import {
  balanceOf,
  grantedIssuer,
  operationRow,
  startOperationsKit,
  startOperationsWorker,
  waitForOperation,
} from "../../../test/operations";
import { createUser, signedWalletLink, type TestUser } from "../../../test/users";
import { kycOnchainMetrics } from "../kyc/onchain-metrics";
import { registerEligibility } from "../kyc/onchain-register";
import { reconcileRegistrations } from "../kyc/reconcile";
import { kycApplications } from "../kyc/schema";

const ops = await startOperationsKit();
const { kit, dev, bond, equity } = ops;
await startOperationsWorker(kit, { eligibility: true });
const requester = await grantedIssuer(ops, [bond, equity]);
const approver = await grantedIssuer(ops, [bond, equity]);
const client = dev.clients.publicClient;
const registry = dev.deployment.tokens[0]?.identityRegistry as Address;
const agent = dev.accounts.deployer;
const agentNonce = () => client.getTransactionCount({ address: agent.address });
const BOND = (amount: string) => parseUnits(amount, 18);

const tokenRead = <T>(token: Address, functionName: string, args: unknown[] = []) =>
  client.readContract({ address: token, abi: tokenAbi, functionName, args } as never) as Promise<T>;
const registryRead = <T>(functionName: string, args: unknown[]) =>
  client.readContract({ address: registry, abi: identityRegistryAbi, functionName, args } as never) as Promise<T>;

/** A fresh wallet linked over the real SIWE flow (the link queues eligibility, as in production). */
async function linkOverSiwe(investor: TestUser): Promise<Address> {
  const account = privateKeyToAccount(generatePrivateKey());
  const linked = await callApi(kit.app, investor, "POST", "/me/wallets", await signedWalletLink(kit, account));
  expect(linked.status).toBe(200);
  return account.address.toLowerCase() as Address;
}

/** An investor with one wallet, linked, approved and verified on chain by Kit's eligibility job. */
async function eligibleInvestor() {
  const investor = await createUser(kit, "investor");
  const wallet = await linkOverSiwe(investor);
  const applicationId = await approveApplication(kit, investor.id);
  await kit.deps.jobs.enqueue("kyc.onchain.register", { applicationId });
  await waitForStatus(kit, wallet, "registered");
  return { investor, wallet, applicationId };
}

async function operate(path: string, body: Record<string, unknown>) {
  const answer = await callApi(kit.app, requester, "POST", path, body);
  expect({ path, status: answer.status, body: answer.body }).toMatchObject({ status: 202 });
  return waitForOperation(kit, answer.body.operation.id);
}

const recover = (token: Address, body: Record<string, unknown>, who = requester) =>
  callApi(kit.app, who, "POST", `/tokens/${token}/operations/recover`, body);

async function recoverApproved(token: Address, lostWallet: string, newWallet: string) {
  const requested = await recover(token, { lostWallet, newWallet, reason: "lost phone; ticket 4711" });
  expect(requested.status).toBe(202);
  expect(requested.body.operation).toMatchObject({ kind: "recover", status: "awaiting_approval", needsApproval: true });
  const id = requested.body.operation.id as string;
  const approved = await callApi(kit.app, approver, "POST", `/token-operations/${id}/approve`, {
    reason: "identity checked on a video call",
  });
  expect(approved.status).toBe(200);
  return waitForOperation(kit, id, ["confirmed", "failed"]);
}

// The investor holds both tokens, part of them frozen, then loses the wallet and links a new one;
// being approved, eligibility registers the new wallet with an identity of its own.
const { investor, wallet: lost, applicationId } = await eligibleInvestor();
const identity = (await registryRead<Address>("identity", [lost])).toLowerCase();
await operate(`/tokens/${bond}/operations/mint`, { recipients: [{ to: lost, amount: "100" }] });
await operate(`/tokens/${bond}/operations/freeze-partial`, { wallet: lost, amount: "30" });
await operate(`/tokens/${equity}/operations/mint`, { recipients: [{ to: lost, amount: "40" }] });
await operate(`/tokens/${equity}/operations/freeze-partial`, { wallet: lost, amount: "5" });
await operate(`/tokens/${equity}/operations/freeze`, { wallet: lost });
const fresh = await linkOverSiwe(investor);
await waitForStatus(kit, fresh, "registered");
const ownIdentity = (await registryRead<Address>("identity", [fresh])).toLowerCase();

describe("an investor loses a wallet holding two tokens", () => {
  test("the first token: requested, approved by a second issuer, then recoveryAddress moves everything", async () => {
    expect(ownIdentity).not.toBe(identity);
    const nonce = await agentNonce();
    const requested = await recover(bond, { lostWallet: lost, newWallet: fresh, reason: "lost phone" });
    expect(requested.status).toBe(202);
    const id = requested.body.operation.id as string;
    expect(requested.body.operation.parameters).toMatchObject({
      lostWallet: lost,
      newWallet: fresh,
      investorOnchainId: identity,
      userId: investor.id,
    });
    const own = await callApi(kit.app, requester, "POST", `/token-operations/${id}/approve`, { reason: "mine" });
    expect(own.status).toBe(403);
    expect(await agentNonce()).toBe(nonce); // nothing is sent while it waits
    await callApi(kit.app, approver, "POST", `/token-operations/${id}/approve`, { reason: "video call done" });
    const done = await waitForOperation(kit, id, ["confirmed", "failed"]);
    expect(done).toMatchObject({ status: "confirmed", error: null });

    expect(await balanceOf(dev, bond, lost as Address)).toBe(0n);
    expect(await balanceOf(dev, bond, fresh)).toBe(BOND("100"));
    expect(await tokenRead<bigint>(bond, "getFrozenTokens", [fresh])).toBe(BOND("30"));
    expect(await tokenRead<bigint>(bond, "getFrozenTokens", [lost])).toBe(0n);
    expect((await registryRead<Address>("identity", [fresh])).toLowerCase()).toBe(identity);
    expect(await registryRead<boolean>("contains", [lost])).toBe(false);
    expect(await registryRead<boolean>("isVerified", [fresh])).toBe(true);
    expect(await registryRead<number>("investorCountry", [fresh])).toBe(250);
    // The new wallet's key was there only for recoveryAddress: Kit's agent alone manages the identity again.
    const hasKey = (who: Address) =>
      client.readContract({
        address: identity as Address,
        abi: identityAbi,
        functionName: "keyHasPurpose",
        args: [keyOf(who), 1n],
      });
    expect(await hasKey(fresh)).toBe(false);
    expect(await hasKey(agent.address)).toBe(true);
    // Four transactions: the new wallet's own registration out, key on, recoveryAddress, key off.
    expect(await agentNonce()).toBe(nonce + 4);

    const history = await callApi(kit.app, requester, "GET", `/token-operations/${id}`);
    const steps = (history.body.history as { reason: string | null; txHash: string | null }[]).filter((h) =>
      h.reason?.startsWith("step "),
    );
    expect(steps.map((h) => h.reason)).toEqual([
      "step 1 confirmed: took the new wallet's own registration out of the identity registry",
      "step 2 confirmed: added the new wallet as a management key of the investor's identity",
      "step 3 confirmed: recoveryAddress moved the balance, frozen amount and registration to the new wallet",
      "step 4 confirmed: removed the new wallet's management key from the investor's identity again",
    ]);
    expect(steps.every((h) => h.txHash?.startsWith("0x"))).toBe(true);
    expect(history.body.history[0]).toMatchObject({ to: "awaiting_approval", reason: "lost phone" });

    // Kit's records follow: the lost wallet is recovered for good, the new one has the investor's identity.
    expect(await registrationOf(kit, lost)).toMatchObject({ status: "recovered", identityAddress: identity });
    expect(await registrationOf(kit, fresh)).toMatchObject({ status: "registered", identityAddress: identity });
  });

  test("eligibility does not fight it: a registration run and reconciliation leave the lost wallet out", async () => {
    const result = await registerEligibility(kit.deps, { applicationId }, { attempt: 1, attempts: 1 });
    expect(result.registered).not.toContain(lost);
    const reconciled = await reconcileRegistrations(kit.deps, kycOnchainMetrics(new Registry(), kit.deps.db));
    expect(reconciled).toMatchObject({ drifted: 0, queued: 0 });
    expect(await registryRead<boolean>("contains", [lost])).toBe(false);
    expect(await registrationOf(kit, lost)).toMatchObject({ status: "recovered" });
  });

  test("a second token after the registration moved: holdings, frozen amount and frozen flag follow", async () => {
    const nonce = await agentNonce();
    const done = await recoverApproved(equity, lost, fresh);
    expect(done).toMatchObject({ status: "confirmed", error: null });
    expect(await balanceOf(dev, equity, lost as Address)).toBe(0n);
    expect(await balanceOf(dev, equity, fresh)).toBe(40n);
    expect(await tokenRead<bigint>(equity, "getFrozenTokens", [fresh])).toBe(5n);
    expect(await tokenRead<boolean>(equity, "isFrozen", [fresh])).toBe(true);
    // Frozen first (nothing frozen could leave between two transactions), moved, frozen amount again.
    expect(await agentNonce()).toBe(nonce + 3);
    // The new wallet is not frozen on the first token: that one's lost wallet was not.
    expect(await tokenRead<boolean>(bond, "isFrozen", [fresh])).toBe(false);
  });

  test("the lost wallet holds nothing any more: a new recovery is refused before any transaction", async () => {
    const answer = await recover(bond, { lostWallet: lost, newWallet: fresh });
    expect(answer.status).toBe(400);
    expect(answer.body.data.issues[0]).toMatchObject({ path: "lostWallet" });
    expect(answer.body.message).toContain("nothing to recover");
  });
});

// Another investor with a lost wallet holding the bond and a new wallet; a third one's wallet.
const other = await eligibleInvestor();
await operate(`/tokens/${bond}/operations/mint`, { recipients: [{ to: other.wallet, amount: "5" }] });
const otherFresh = await linkOverSiwe(other.investor);
await waitForStatus(kit, otherFresh, "registered");
const stranger = (await eligibleInvestor()).wallet;
const unlinked = privateKeyToAccount(generatePrivateKey()).address.toLowerCase();

describe("preconditions are typed 4xx before any transaction", () => {
  const { investor, wallet: lost } = other;
  const fresh = otherFresh;

  test("each refusal names the field and what to do; the agent sends nothing", async () => {
    const nonce = await agentNonce();
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ lostWallet: lost, newWallet: lost }, 400, "newWallet", "must differ"],
      [{ lostWallet: unlinked, newWallet: fresh }, 400, "lostWallet", "not linked to any Kit account"],
      [{ lostWallet: lost, newWallet: unlinked }, 400, "newWallet", "links it first"],
      [{ lostWallet: lost, newWallet: stranger }, 400, "newWallet", "another Kit account"],
      [{ lostWallet: fresh, newWallet: lost }, 400, "lostWallet", "nothing to recover"],
    ];
    for (const [body, status, field, words] of cases) {
      const answer = await recover(bond, body);
      expect({ body, status: answer.status }).toEqual({ body, status });
      expect(answer.body.data.issues[0].path).toBe(field);
      expect(answer.body.message).toContain(words);
      // Another account's wallet is refused without a word about whose it is.
      expect(answer.body.message).not.toContain(investor.email);
    }
    expect(await agentNonce()).toBe(nonce);
  });

  test("a new wallet that already holds the token, or is registered with an identity Kit did not make", async () => {
    const second = await linkOverSiwe(investor);
    await waitForStatus(kit, second, "registered");
    await operate(`/tokens/${bond}/operations/mint`, { recipients: [{ to: second, amount: "1" }] });
    const holding = await recover(bond, { lostWallet: lost, newWallet: second });
    expect(holding.status).toBe(400);
    expect(holding.body.message).toContain("already holds 1 of this token");

    // A wallet verified outside Kit's eligibility (its identity made directly, no record of Kit's).
    const foreign = privateKeyToAccount(generatePrivateKey()).address;
    await dev.verify(foreign);
    await linkAddress(kit, investor.id, foreign);
    const registered = await recover(bond, { lostWallet: lost, newWallet: foreign.toLowerCase() });
    expect(registered.status).toBe(400);
    expect(registered.body.data.issues[0].path).toBe("newWallet");
    expect(registered.body.message).toContain("identity Kit did not make for this investor");
  });

  test("one open recovery per lost wallet and token: a second request is a 409", async () => {
    const first = await recover(bond, { lostWallet: lost, newWallet: fresh });
    expect(first.status).toBe(202);
    const again = await recover(bond, { lostWallet: lost, newWallet: fresh, reason: "again" });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain(first.body.operation.id);
    const rejected = await callApi(kit.app, approver, "POST", `/token-operations/${first.body.operation.id}/reject`, {
      reason: "the investor found the wallet",
    });
    expect(rejected.body.operation.status).toBe("rejected");
    expect((await operationRow(kit, first.body.operation.id))?.txHash).toBeNull();
  });

  test("the investor's KYC approval expired: 412 with the date", async () => {
    const expiresAt = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    const { investor: late, wallet } = await eligibleInvestor();
    await operate(`/tokens/${bond}/operations/mint`, { recipients: [{ to: wallet, amount: "1" }] });
    const next = await linkOverSiwe(late);
    await waitForStatus(kit, next, "registered");
    await kit.deps.db.update(kycApplications).set({ expiresAt }).where(eq(kycApplications.userId, late.id));
    const nonce = await agentNonce();
    const answer = await recover(bond, { lostWallet: wallet, newWallet: next });
    expect(answer.status).toBe(412);
    expect(answer.body.message).toContain(`expired on ${expiresAt.toISOString().slice(0, 10)}`);
    expect(await agentNonce()).toBe(nonce);
  });

  test("an identity Kit's agent does not manage: 412 (recoveryAddress needs a key only its manager can add)", async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    await client.request({ method: "anvil_setBalance", params: [owner.address, "0xDE0B6B3A7640000"] } as never);
    const { idFactory } = dev.deployment.onchainId;
    await send(dev.clients, agent, {
      address: idFactory,
      abi: idFactoryAbi,
      functionName: "createIdentity",
      args: [owner.address, `self-managed-${owner.address}`],
    });
    const selfManaged = await client.readContract({
      address: idFactory,
      abi: idFactoryAbi,
      functionName: "getIdentity",
      args: [owner.address],
    });
    const data = stringToHex("KYC");
    const signature = await signClaim(dev.accounts.claimSigner, {
      identity: selfManaged,
      topic: KYC_CLAIM_TOPIC,
      data,
    });
    await send(dev.clients, owner, {
      address: selfManaged,
      abi: identityAbi,
      functionName: "addClaim",
      args: [KYC_CLAIM_TOPIC, 1n, dev.deployment.claimIssuer.address, signature, data, ""],
    });
    await send(dev.clients, agent, {
      address: registry,
      abi: identityRegistryAbi,
      functionName: "registerIdentity",
      args: [owner.address, selfManaged, 250],
    });
    await mint(dev.clients, agent, bond, owner.address, BOND("2"));
    const holder = await createUser(kit, "investor");
    await linkAddress(kit, holder.id, owner.address);
    await approveApplication(kit, holder.id);
    const target = await linkOverSiwe(holder);
    await waitForStatus(kit, target, "registered");
    const nonce = await agentNonce();
    const answer = await recover(bond, { lostWallet: owner.address, newWallet: target });
    expect(answer.status).toBe(412);
    expect(answer.body.message).toContain("not a management key of the investor's identity");
    expect(await agentNonce()).toBe(nonce);
    expect(selfManaged).not.toBe(zeroAddress);
  });

  test("an investor may not ask for a recovery, nor an issuer without a grant on the token", async () => {
    expect((await recover(bond, { lostWallet: lost, newWallet: fresh }, investor)).status).toBe(403);
    const ungranted = await createUser(kit, "issuer");
    const refused = await recover(bond, { lostWallet: lost, newWallet: fresh }, ungranted);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("no grant on the token");
  });
});
