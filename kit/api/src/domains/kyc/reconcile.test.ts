// Reconciliation against a real chain: someone with a management key removes Kit's claim, an agent
// deletes the registry entry, Kit's claim comes back after a revocation. Each is found, flagged
// (row, metric, a warning without secrets) and repaired by the eligibility jobs.
import { describe, expect, test } from "bun:test";
import {
  anvilAccount,
  claimIdOf,
  identityAbi,
  identityRegistryAbi,
  isVerified,
  KYC_CLAIM_TOPIC,
  send,
  signClaim,
} from "@kit/contracts";
import { eq, sql } from "drizzle-orm";
import { Registry } from "prom-client";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createApplicant, moveApplication } from "../../../test/kyc";
import {
  approveApplication,
  linkFreshWallet,
  registeredInvestor,
  registrationOf,
  startOnchainKit,
  waitForStatus,
} from "../../../test/onchain-kit";
import { walletAddress } from "../auth/schema";
import { kycOnchainMetrics } from "./onchain-metrics";
import { claimDataFor } from "./onchain-records";
import { reconcileRegistrations } from "./reconcile";
import { kycApplications, kycOnchainRegistrations } from "./schema";

const onchain = await startOnchainKit();
const { dev, kit, identityRegistry } = onchain;
const claimIssuer = dev.deployment.claimIssuer.address;
const claimId = claimIdOf(claimIssuer, KYC_CLAIM_TOPIC);
const agent = dev.accounts.deployer;

const registry = new Registry();
const metrics = kycOnchainMetrics(registry, kit.deps.db);
const reconcile = () => reconcileRegistrations({ ...kit.deps, log: onchain.log }, metrics);
const drift = async (kind: string) => (await metrics.drift.get()).values.find((v) => v.labels.kind === kind)?.value;
/** anvil's well-known keys 0 (Kit's agent here) and 1 (Kit's claim signer). */
const ANVIL_KEYS = [
  "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
];
const verified = (wallet: Address) => isVerified(dev.clients, identityRegistry, wallet);

describe("kyc.onchain.reconcile", () => {
  test("a claim removed behind Kit's back is found, flagged and registered again", async () => {
    const applicant = await createApplicant(kit);
    const { wallet, row } = await registeredInvestor(onchain, applicant.id);
    const identity = row.identityAddress as Address;

    // The agent is a management key of the identities Kit creates: it can remove the claim unasked.
    await send(dev.clients, agent, {
      address: identity,
      abi: identityAbi,
      functionName: "removeClaim",
      args: [claimId],
    });
    expect(await verified(wallet)).toBe(false);

    const result = await reconcile();
    expect(result).toMatchObject({ drifted: 1, queued: 1 });
    expect(await drift("claim_missing")).toBe(1);
    const warning = onchain.logLines.find((l) => l.wallet === wallet && l.drift === "claim_missing");
    expect(warning).toMatchObject({ level: 40, repair: "kyc.onchain.register", applicationId: row.applicationId });
    expect(String(warning?.msg)).toContain("Kit's KYC claim is missing");

    const repaired = await waitForStatus(kit, wallet, "registered");
    expect(await verified(wallet)).toBe(true);
    expect(repaired.identityAddress).toBe(row.identityAddress); // the same identity, a new claim
    expect(repaired.lastTxHash).not.toBe(row.lastTxHash);
    expect(repaired.error).toBeNull();

    // Nothing left to find; and no log line carries a key, a signature or a raw RPC payload.
    expect((await reconcile()).drifted).toBe(0);
    const logged = JSON.stringify(onchain.logLines);
    for (const [index, key] of ANVIL_KEYS.entries()) {
      expect(privateKeyToAccount(`0x${key}`).address).toBe(anvilAccount(index).address);
      expect(logged).not.toContain(key);
    }
    expect(logged).not.toMatch(/0x[0-9a-f]{130}/i);
  }, 30_000);

  test("a wallet deleted from the identity registry is found and registered again", async () => {
    const applicant = await createApplicant(kit);
    const { wallet } = await registeredInvestor(onchain, applicant.id);
    await send(dev.clients, agent, {
      address: identityRegistry,
      abi: identityRegistryAbi,
      functionName: "deleteIdentity",
      args: [wallet],
    });
    expect(await verified(wallet)).toBe(false);

    expect((await reconcile()).drifted).toBe(1);
    expect(await drift("not_verified")).toBe(1);
    await waitForStatus(kit, wallet, "registered");
    expect(await verified(wallet)).toBe(true);
  }, 30_000);

  test("Kit's claim back on a revoked wallet is flagged and revoked again", async () => {
    const applicant = await createApplicant(kit);
    const { wallet, applicationId, row } = await registeredInvestor(onchain, applicant.id);
    await moveApplication(kit, applicationId, "revoked");
    await kit.deps.jobs.enqueue("kyc.onchain.revoke", { applicationId });
    await waitForStatus(kit, wallet, "revoked");
    expect(await verified(wallet)).toBe(false);

    // The old signed claim, added again with the agent's management key.
    const identity = row.identityAddress as Address;
    const data = claimDataFor(applicationId);
    const signature = await signClaim(dev.accounts.claimSigner, { identity, topic: KYC_CLAIM_TOPIC, data });
    await send(dev.clients, agent, {
      address: identity,
      abi: identityAbi,
      functionName: "addClaim",
      args: [KYC_CLAIM_TOPIC, 1n, claimIssuer, signature, data, ""],
    });
    expect(await verified(wallet)).toBe(true);

    expect((await reconcile()).drifted).toBe(1);
    expect(await drift("claim_after_revoke")).toBe(1);
    await waitForStatus(kit, wallet, "revoked");
    expect(await verified(wallet)).toBe(false);
  }, 30_000);

  test("a wallet unlinked whose revocation was lost is found, flagged and revoked", async () => {
    const applicant = await createApplicant(kit);
    const { wallet } = await registeredInvestor(onchain, applicant.id);
    // Unlinked without the revocation that me.wallets.unlink queues (an enqueue lost to Redis).
    await kit.deps.db.delete(walletAddress).where(sql`lower(${walletAddress.address}) = ${wallet}`);
    // A change this recent may still have its job on the way: not yet drift.
    expect((await reconcile()).drifted).toBe(0);

    await kit.deps.db
      .update(kycOnchainRegistrations)
      .set({ updatedAt: new Date(Date.now() - 20 * 60_000) })
      .where(eq(kycOnchainRegistrations.wallet, wallet));
    expect(await reconcile()).toMatchObject({ drifted: 1, queued: 1 });
    expect(await drift("wallet_unlinked")).toBe(1);
    const row = await waitForStatus(kit, wallet, "revoked");
    expect(row.identityAddress).not.toBeNull();
    expect(await verified(wallet)).toBe(false);
  }, 30_000);

  test("/metrics of the worker shows the registrations by status and the drift, once the job ran", async () => {
    await kit.deps.jobs.enqueue("kyc.onchain.reconcile", {});
    const deadline = Date.now() + 10_000;
    let text = "";
    while (!text.includes("kit_kyc_onchain_registrations") && Date.now() < deadline) {
      await Bun.sleep(50);
      text = await onchain.worker.metrics.registry.metrics();
    }
    // Four wallets so far: two registered, two revoked (counted from the table on each scrape).
    expect(text).toMatch(/kit_kyc_onchain_registrations\{status="registered"\} 2/);
    expect(text).toMatch(/kit_kyc_onchain_registrations\{status="revoked"\} 2/);
    expect(text).toMatch(/kit_kyc_onchain_registrations\{status="failed"\} 0/);
    expect(text).toMatch(/kit_kyc_onchain_drift_total\{kind="claim_missing"\} 0/);
  }, 15_000);

  test("an approval whose job was lost (no row for its wallet) is found and registered", async () => {
    const applicant = await createApplicant(kit);
    const wallet = await linkFreshWallet(kit, applicant.id);
    // Approved without the job (the fixture queues nothing): as if Redis was gone at the commit.
    const applicationId = await approveApplication(kit, applicant.id);
    expect(await registrationOf(kit, wallet)).toBeUndefined();

    // Within the grace period the job may still be on its way: nothing to find yet.
    expect(await reconcile()).toMatchObject({ queued: 0 });
    await kit.deps.db
      .update(kycApplications)
      .set({ decidedAt: sql`now() - interval '20 minutes'` })
      .where(eq(kycApplications.id, applicationId));

    const before = (await drift("job_lost")) ?? 0;
    expect(await reconcile()).toMatchObject({ drifted: 1, queued: 1 });
    expect(await drift("job_lost")).toBe(before + 1);
    expect(onchain.logLines.some((line) => line.drift === "job_lost" && line.applicationId === applicationId)).toBe(
      true,
    );
    await waitForStatus(kit, wallet, "registered");
    expect(await verified(wallet)).toBe(true);
    // Once its row exists, the approval is no longer looked for.
    expect(await reconcile()).toMatchObject({ drifted: 0, queued: 0 });
  });
});
