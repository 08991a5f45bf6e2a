// Sanctions and fraud freezes, on a real anvil with the T-REX suite and a BullMQ worker: a revocation
// for sanctions freezes every wallet of the investor on every Kit token, so that a wallet holding
// tokens can no longer send them to a verified wallet (removing the claim alone does not stop that);
// an "other" revocation freezes nothing; the jobs run twice (or after a crash half-way) send nothing
// more; a wallet linked later is frozen too; reconciliation keeps the freezes; an admin lifts them
// with a reason, and only the freezes Kit made are undone.
import { describe, expect, test } from "bun:test";
import { mint, send, type TokenDeployment, tokenAbi, transfer } from "@kit/contracts";
import { and, eq, sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { type Address, type LocalAccount, parseUnits } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createApplicant, moveApplication } from "../../../test/kyc";
import {
  approveApplication,
  linkAddress,
  linkFreshWallet,
  registrationOf,
  startOnchainKit,
  waitForStatus,
} from "../../../test/onchain-kit";
import { createUser, signedWalletLink } from "../../../test/users";
import { walletAddress } from "../auth/schema";
import { linkWallet } from "../auth/service";
import type { ReviewDetail } from "./contract-review";
import type { Freezes } from "./contract-shapes";
import { liftFreeze } from "./freeze-cases";
import { reconcileFreezes } from "./freeze-reconcile";
import { revokeAndFreeze, syncWalletFreezes } from "./freezes";
import { kycOnchainMetrics } from "./onchain-metrics";
import { reconcileRegistrations } from "./reconcile";
import { kycFreezes, kycWalletFreezes } from "./schema";

const onchain = await startOnchainKit();
const { dev, kit } = onchain;
const deps = { ...kit.deps, log: onchain.log };
const [bond, equity] = dev.deployment.tokens as [TokenDeployment, TokenDeployment];
const tokens = [bond.address, equity.address];
const agent = dev.accounts.deployer;
/** A demo holder: verified on every Kit token, so a transfer to it fails only for the sender's sake. */
const verifiedRecipient = dev.accounts.investors[0] as LocalAccount;
const [holderA, holderB, holderC, holderD] = dev.accounts.others as [
  LocalAccount,
  LocalAccount,
  LocalAccount,
  LocalAccount,
];
const units = (amount: string) => parseUnits(amount, bond.decimals);
const [reviewer, admin] = await Promise.all([createUser(kit, "kyc_reviewer"), createUser(kit, "admin")]);

const metrics = kycOnchainMetrics(new Registry(), kit.deps.db);
const reconcile = async () => ({
  registrations: await reconcileRegistrations(deps, metrics),
  freezes: await reconcileFreezes(deps, metrics),
});

function isFrozen(token: Address, wallet: Address): Promise<boolean> {
  return dev.clients.publicClient.readContract({
    address: token,
    abi: tokenAbi,
    functionName: "isFrozen",
    args: [wallet],
  });
}

const agentNonce = () => dev.clients.publicClient.getTransactionCount({ address: agent.address });

function setFrozen(token: Address, wallet: Address, frozen: boolean) {
  return send(dev.clients, agent, {
    address: token,
    abi: tokenAbi,
    functionName: "setAddressFrozen",
    args: [wallet, frozen],
  });
}

async function freezeRows(wallet: string) {
  return kit.deps.db
    .select()
    .from(kycWalletFreezes)
    .where(eq(kycWalletFreezes.wallet, wallet.toLowerCase()))
    .orderBy(kycWalletFreezes.token);
}

/** Until every Kit token has a row for `wallet` in `status` (bounded). */
async function waitForFreezes(wallet: string, status: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await freezeRows(wallet);
    if (rows.length === tokens.length && rows.every((row) => row.status === status)) return rows;
    if (Date.now() > deadline) {
      throw new Error(
        `${wallet}: ${rows.map((r) => `${r.status} (${r.error ?? "no error"})`).join(", ") || "no rows"}`,
      );
    }
    await Bun.sleep(50);
  }
}

function post(who: { cookie: string }, path: string, body: unknown) {
  return kit.request(`/api${path}`, {
    method: "POST",
    headers: { cookie: who.cookie, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function reviewDetail(applicationId: string): Promise<ReviewDetail> {
  const response = await kit.request(`/api/kyc/review/${applicationId}`, { headers: { cookie: reviewer.cookie } });
  expect(response.status).toBe(200);
  return (await response.json()) as ReviewDetail;
}

/** An approved investor whose wallets (the funded `holder` first) are verified on chain, the holder with 10 bond units. */
async function fundedInvestor(holder: LocalAccount, extraWallets = 0) {
  const applicant = await createApplicant(kit);
  const wallets = [await linkAddress(kit, applicant.id, holder.address)];
  for (let i = 0; i < extraWallets; i++) wallets.push(await linkFreshWallet(kit, applicant.id));
  const applicationId = await approveApplication(kit, applicant.id);
  await kit.deps.jobs.enqueue("kyc.onchain.register", { applicationId });
  for (const wallet of wallets) await waitForStatus(kit, wallet, "registered");
  await mint(dev.clients, agent, bond.address, holder.address, units("10"));
  return { userId: applicant.id, applicationId, wallets };
}

const job = { attempt: 1, attempts: 1 };

describe("a sanctions revocation", () => {
  let investor: Awaited<ReturnType<typeof fundedInvestor>>;

  test("freezes every wallet of the investor on every Kit token: the holder can no longer send to a verified wallet", async () => {
    investor = await fundedInvestor(holderA, 1);
    // Before: holding tokens and verified, it sends.
    await transfer(dev.clients, holderA, bond.address, verifiedRecipient.address, units("1"));

    const revoked = await post(reviewer, `/kyc/review/${investor.applicationId}/revoke`, {
      reason: "Sanctions list match",
      category: "sanctions",
    });
    expect(revoked.status).toBe(200);

    for (const wallet of investor.wallets) {
      const rows = await waitForFreezes(wallet, "frozen");
      expect(rows.map((row) => row.token)).toEqual(tokens.map((t) => t.toLowerCase()).sort());
      for (const row of rows) {
        expect(row).toMatchObject({ userId: investor.userId, frozenBefore: false, error: null });
        expect(row.lastTxHash).toMatch(/^0x[0-9a-f]{64}$/);
        expect(row.frozenAt).toBeInstanceOf(Date);
      }
      for (const token of tokens) expect(await isFrozen(token, wallet)).toBe(true);
      await waitForStatus(kit, wallet, "revoked");
    }
    // Not verified any more, and frozen: its tokens stay where they are.
    await expect(transfer(dev.clients, holderA, bond.address, verifiedRecipient.address, units("1"))).rejects.toThrow();

    // Reviewers see the case and each wallet's freeze per token.
    const detail = await reviewDetail(investor.applicationId);
    expect(detail.freezes.cases).toEqual([
      {
        applicationId: investor.applicationId,
        category: "sanctions",
        frozenBy: reviewer.id,
        createdAt: expect.any(String),
        liftedAt: null,
        liftedBy: null,
        liftReason: null,
      },
    ]);
    expect(detail.freezes.wallets).toHaveLength(investor.wallets.length * tokens.length);
    expect(detail.freezes.wallets.every((w) => w.status === "frozen" && w.lastTxHash !== null)).toBe(true);
  });

  test("the job run again, or after a crash between broadcast and record, sends nothing and changes nothing", async () => {
    const nonce = await agentNonce();
    const before = await freezeRows(holderA.address);

    const again = await revokeAndFreeze(deps, { applicationId: investor.applicationId }, job);
    expect(again.freezes).toEqual({ frozen: [], unfrozen: [], unchanged: investor.wallets.length * tokens.length });
    expect(again.revoked).toEqual([]);

    // As a worker killed after its transaction went through leaves it: the row still pending.
    await kit.deps.db
      .update(kycWalletFreezes)
      .set({ status: "pending", frozenAt: null })
      .where(eq(kycWalletFreezes.wallet, holderA.address.toLowerCase()));
    const resumed = await syncWalletFreezes(deps, investor.userId, job);
    expect(resumed.frozen).toEqual([]);
    expect(await agentNonce()).toBe(nonce);

    const after = await freezeRows(holderA.address);
    expect(after.map((r) => [r.status, r.frozenBefore, r.lastTxHash])).toEqual(
      before.map((r) => ["frozen", false, r.lastTxHash]),
    );
  });

  test("a wallet the frozen investor links later is frozen too", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const { message, signature } = await signedWalletLink(kit, account);
    await linkWallet(kit.deps, investor.userId, { message, signature });
    await waitForFreezes(account.address, "frozen");
    for (const token of tokens) expect(await isFrozen(token, account.address)).toBe(true);
    // Not approved: nothing is registered for it.
    expect(await registrationOf(kit, account.address)).toBeUndefined();
    investor.wallets.push(account.address.toLowerCase() as Address);
  });

  test("reconciliation keeps the freezes, and freezes again a wallet unfrozen behind Kit's back", async () => {
    const first = await reconcile();
    expect(first.freezes).toMatchObject({ drifted: 0, queued: 0 });
    for (const token of tokens) expect(await isFrozen(token, holderA.address)).toBe(true);
    expect((await freezeRows(holderA.address)).every((row) => row.status === "frozen")).toBe(true);

    // Another agent of the token lifts the freeze by hand.
    await setFrozen(bond.address, holderA.address, false);
    const second = await reconcile();
    expect(second.freezes).toMatchObject({ drifted: 1, queued: 1 });
    expect((await metrics.drift.get()).values.find((v) => v.labels.kind === "freeze_missing")?.value).toBe(1);
    await waitForFreezes(holderA.address, "frozen");
    expect(await isFrozen(bond.address, holderA.address)).toBe(true);
  });

  test("only an admin lifts it, with a reason; then Kit's freezes are undone and the holder can send", async () => {
    const path = `/kyc/onchain/freezes/${investor.applicationId}/lift`;
    expect((await post(reviewer, path, { reason: "cleared" })).status).toBe(403);
    const noReason = await post(admin, path, {});
    expect(noReason.status).toBe(400);
    expect((await freezeRows(holderA.address)).every((row) => row.status === "frozen")).toBe(true);

    const lifted = await post(admin, path, { reason: "False positive: another person of the same name" });
    expect(lifted.status).toBe(200);
    const body = (await lifted.json()) as Freezes;
    expect(body.cases[0]).toMatchObject({
      applicationId: investor.applicationId,
      liftedBy: admin.id,
      liftReason: "False positive: another person of the same name",
      liftedAt: expect.any(String),
    });

    for (const wallet of investor.wallets) {
      const rows = await waitForFreezes(wallet, "unfrozen");
      expect(rows.every((row) => row.unfrozenAt instanceof Date && row.error === null)).toBe(true);
      for (const token of tokens) expect(await isFrozen(token, wallet)).toBe(false);
    }
    // Sending needs no verification of the sender: unfrozen, the holder sends again.
    await transfer(dev.clients, holderA, bond.address, verifiedRecipient.address, units("1"));

    // Once is all: a second lift is a conflict; reconciliation finds nothing to redo.
    const twice = await post(admin, path, { reason: "again" });
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as { code: string }).code).toBe("CONFLICT");
    expect((await reconcile()).freezes).toMatchObject({ drifted: 0, queued: 0 });
  });

  test("a case is kept as it was lifted: the database refuses any other change and any deletion", async () => {
    const refusal = (statement: ReturnType<typeof sql>) =>
      kit.deps.db.execute(statement).then(
        () => undefined,
        (error: { cause?: { code?: string } }) => error.cause?.code,
      );
    const where = sql`application_id = ${investor.applicationId}`;
    expect(await refusal(sql`update kyc_freezes set lift_reason = 'edited' where ${where}`)).toBe("42501");
    expect(
      await refusal(sql`update kyc_freezes set lifted_at = null, lifted_by = null, lift_reason = null where ${where}`),
    ).toBe("42501");
    expect(await refusal(sql`delete from kyc_freezes where ${where}`)).toBe("42501");
    const [kept] = await kit.deps.db
      .select()
      .from(kycFreezes)
      .where(eq(kycFreezes.applicationId, investor.applicationId));
    expect(kept?.liftReason).toBe("False positive: another person of the same name");
  });
});

describe("other revocations and edge cases", () => {
  test('an "other" revocation (the default) freezes nothing: the holder still sends', async () => {
    const investor = await fundedInvestor(holderB);
    const revoked = await post(reviewer, `/kyc/review/${investor.applicationId}/revoke`, {
      reason: "Expired passport",
    });
    expect(revoked.status).toBe(200);
    await waitForStatus(kit, holderB.address, "revoked");
    // Revoked, and settled: the same job run once more changes nothing either.
    expect((await revokeAndFreeze(deps, { applicationId: investor.applicationId }, job)).freezes).toEqual({
      frozen: [],
      unfrozen: [],
      unchanged: 0,
    });
    expect(await freezeRows(holderB.address)).toEqual([]);
    for (const token of tokens) expect(await isFrozen(token, holderB.address)).toBe(false);
    await transfer(dev.clients, holderB, bond.address, verifiedRecipient.address, units("1"));
    expect((await reviewDetail(investor.applicationId)).freezes).toEqual({ cases: [], wallets: [] });

    const badCategory = await post(reviewer, `/kyc/review/${investor.applicationId}/revoke`, {
      reason: "x",
      category: "terrorism",
    });
    expect(badCategory.status).toBe(400);
  });

  test("a wallet its issuer froze before stays frozen when Kit's freeze is lifted", async () => {
    const investor = await fundedInvestor(holderC);
    await setFrozen(bond.address, holderC.address, true);
    expect(
      (await post(reviewer, `/kyc/review/${investor.applicationId}/revoke`, { reason: "Fraud", category: "fraud" }))
        .status,
    ).toBe(200);
    const rows = await waitForFreezes(holderC.address, "frozen");
    expect(Object.fromEntries(rows.map((r) => [r.token, r.frozenBefore]))).toEqual({
      [bond.address.toLowerCase()]: true,
      [equity.address.toLowerCase()]: false,
    });

    const path = `/kyc/onchain/freezes/${investor.applicationId}/lift`;
    expect((await post(admin, path, { reason: "Investigation closed" })).status).toBe(200);
    await waitForFreezes(holderC.address, "unfrozen");
    expect(await isFrozen(bond.address, holderC.address)).toBe(true);
    expect(await isFrozen(equity.address, holderC.address)).toBe(false);
  });

  test("a token that does not list Kit's agent is not Kit's to freeze: left to its issuer, with a warning", async () => {
    const agentRole = (functionName: "addAgent" | "removeAgent") =>
      send(dev.clients, agent, { address: equity.address, abi: tokenAbi, functionName, args: [agent.address] });
    await agentRole("removeAgent");
    try {
      const investor = await fundedInvestor(holderD);
      const revoked = await post(reviewer, `/kyc/review/${investor.applicationId}/revoke`, {
        reason: "Sanctions list match",
        category: "sanctions",
      });
      expect(revoked.status).toBe(200);
      await waitForStatus(kit, holderD.address, "revoked");
      const rows = await freezeRows(holderD.address);
      expect(rows.map((row) => [row.token, row.status])).toEqual([[bond.address.toLowerCase(), "frozen"]]);
      expect(await isFrozen(equity.address, holderD.address)).toBe(false);
      expect(
        onchain.logLines.some(
          (line) => line.token === equity.address.toLowerCase() && String(line.msg).includes("not an agent"),
        ),
      ).toBe(true);
    } finally {
      await agentRole("addAgent");
    }
  });

  test("reconciliation finds a case whose freezing job was lost, and a lift whose unfreezing job was lost", async () => {
    // A revocation committed with its case, then Redis gone before the job was queued; 20 minutes on.
    const applicant = await createApplicant(kit);
    const wallet = await linkFreshWallet(kit, applicant.id);
    const applicationId = await approveApplication(kit, applicant.id);
    await moveApplication(kit, applicationId, "revoked");
    const longAgo = new Date(Date.now() - 20 * 60_000);
    await kit.deps.db.update(walletAddress).set({ createdAt: longAgo }).where(eq(walletAddress.address, wallet));
    await kit.deps.db.insert(kycFreezes).values({
      applicationId,
      userId: applicant.id,
      category: "sanctions",
      frozenBy: reviewer.id,
      createdAt: longAgo,
    });

    expect((await reconcile()).freezes).toMatchObject({ drifted: 1, queued: 1 });
    await waitForFreezes(wallet, "frozen");
    for (const token of tokens) expect(await isFrozen(token, wallet)).toBe(true);
    expect((await reconcile()).freezes).toMatchObject({ drifted: 0, queued: 0 });

    // Lifted while the queue is away: the lift stands, the wallets wait as `pending`.
    const caller = { id: admin.id, email: admin.email, name: "admin", role: "admin" as const, emailVerified: true };
    await liftFreeze(
      { db: kit.deps.db, log: onchain.log },
      { ...caller, createdAt: new Date() },
      {
        applicationId,
        reason: "Cleared by compliance",
      },
    );
    expect((await freezeRows(wallet)).map((row) => row.status)).toEqual(["pending", "pending"]);
    expect((await reconcile()).freezes).toMatchObject({ drifted: 0 }); // within the grace period
    await kit.deps.db.update(kycWalletFreezes).set({ updatedAt: longAgo }).where(eq(kycWalletFreezes.wallet, wallet));
    expect((await reconcile()).freezes).toMatchObject({ drifted: 2, queued: 2 });
    await waitForFreezes(wallet, "unfrozen");
    for (const token of tokens) expect(await isFrozen(token, wallet)).toBe(false);
  });

  test("lifting needs kyc: lift_freeze: an admin's key for re-queuing on-chain jobs (manage_onchain) may not", async () => {
    const keyWith = async (permissions: Record<string, string[]>) =>
      (await kit.deps.auth.api.createApiKey({ body: { userId: admin.id, permissions } })).key;
    const lift = async (key: string) =>
      kit.request(`/api/kyc/onchain/freezes/${crypto.randomUUID()}/lift`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ reason: "ops" }),
      });
    const operations = await lift(await keyWith({ kyc: ["manage_onchain"] }));
    expect(operations.status).toBe(403);
    expect(((await operations.json()) as { message: string }).message).toContain("kyc: lift_freeze");
    // Allowed through: the service itself answers (no case for a random application).
    expect((await lift(await keyWith({ kyc: ["lift_freeze"] }))).status).toBe(404);
  });

  test("nobody lifts a freeze on their own account; an application without a case is a 404", async () => {
    const own = await approveApplication(kit, admin.id);
    expect((await post(reviewer, `/kyc/review/${own}/revoke`, { reason: "Fraud", category: "fraud" })).status).toBe(
      200,
    );
    const refused = await post(admin, `/kyc/onchain/freezes/${own}/lift`, { reason: "mine" });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain("another admin");
    const [open] = await kit.deps.db
      .select()
      .from(kycFreezes)
      .where(and(eq(kycFreezes.applicationId, own), sql`${kycFreezes.liftedAt} is null`));
    expect(open).toBeDefined();

    const applicant = await createApplicant(kit);
    const other = await approveApplication(kit, applicant.id);
    await moveApplication(kit, other, "revoked");
    expect((await post(admin, `/kyc/onchain/freezes/${other}/lift`, { reason: "none" })).status).toBe(404);
  });
});
