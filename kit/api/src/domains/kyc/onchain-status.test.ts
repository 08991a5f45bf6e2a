// What people see of the on-chain side, over HTTP: the applicant's and the reviewer's per-wallet
// status with its transaction hash, and the admin's retry of a registration that gave up.
import { describe, expect, test } from "bun:test";
import { isVerified } from "@kit/contracts";
import { eq } from "drizzle-orm";
import { type Address, getAddress } from "viem";
import {
  approveApplication,
  linkFreshWallet,
  registeredInvestor,
  registrationOf,
  startOnchainKit,
  waitForStatus,
} from "../../../test/onchain-kit";
import { createUser } from "../../../test/users";
import type { OnchainRegistration } from "./contract-shapes";
import { kycApplications, kycOnchainRegistrations } from "./schema";

const onchain = await startOnchainKit();
const { dev, kit, identityRegistry } = onchain;
const [investor, reviewer, admin] = await Promise.all([
  createUser(kit, "investor"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "admin"),
]);

const call = (who: { cookie: string }, method: string, path: string) =>
  kit.request(`/api${path}`, { method, headers: { cookie: who.cookie } });
const retry = (who: { cookie: string }, wallet: string) => call(who, "POST", `/kyc/onchain/${wallet}/retry`);

/** A wallet of the investor whose registration "gave up" (as the job leaves it after its last try). */
async function failedRegistration(userId: string, applicationId: string): Promise<Address> {
  const wallet = await linkFreshWallet(kit, userId);
  await kit.deps.db.insert(kycOnchainRegistrations).values({
    applicationId,
    userId,
    wallet,
    chainId: kit.config.chain.id,
    country: 250,
    status: "failed",
    error: "HTTP request failed. URL: http://10.0.0.7:8545 (node unreachable)",
    attempts: 6,
  });
  return wallet;
}

describe("on-chain status and retry", () => {
  let applicationId: string;
  let registered: Address;
  let failed: Address;

  test("the applicant and the reviewer see each wallet's status with its transaction hash", async () => {
    ({ applicationId, wallet: registered } = await registeredInvestor(onchain, investor.id));
    failed = await failedRegistration(investor.id, applicationId);

    const own = (await (await call(investor, "GET", "/kyc/application")).json()) as {
      id: string;
      onchain: OnchainRegistration[];
    };
    expect(own.id).toBe(applicationId);
    const row = await registrationOf(kit, registered);
    expect(own.onchain).toEqual([
      {
        wallet: getAddress(registered),
        status: "registered",
        identity: getAddress(row?.identityAddress ?? ""),
        claimId: row?.claimId ?? "",
        lastTxHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
        error: null,
        updatedAt: expect.any(String),
      },
      expect.objectContaining({ wallet: getAddress(failed), status: "failed", lastTxHash: null }),
    ]);
    const receipt = await dev.clients.publicClient.getTransactionReceipt({
      hash: own.onchain[0]?.lastTxHash as `0x${string}`,
    });
    expect(receipt.status).toBe("success");
    // The applicant gets a sentence, not the node's address.
    expect(own.onchain[1]?.error).not.toContain("10.0.0.7");

    const detail = (await (await call(reviewer, "GET", `/kyc/review/${applicationId}`)).json()) as {
      onchain: OnchainRegistration[];
    };
    expect(detail.onchain.map((r) => [r.wallet, r.status, r.lastTxHash])).toEqual(
      own.onchain.map((r) => [r.wallet, r.status, r.lastTxHash]),
    );
    expect(detail.onchain[1]?.error).toContain("node unreachable");
  }, 30_000);

  test("investors and reviewers may not retry; nothing changes", async () => {
    for (const who of [investor, reviewer]) {
      const response = await retry(who, failed);
      expect(response.status).toBe(403);
      expect(((await response.json()) as { message: string }).message).toContain("kyc: manage_onchain");
    }
    expect((await registrationOf(kit, failed))?.status).toBe("failed");
  });

  test("an admin's retry of a failed registration queues it, and the wallet is then registered", async () => {
    const response = await retry(admin, getAddress(failed));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ wallet: getAddress(failed), status: "pending" });

    const row = await waitForStatus(kit, failed, "registered");
    expect(row.error).toBeNull();
    expect(row.lastTxHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await isVerified(dev.clients, identityRegistry, failed)).toBe(true);
  }, 30_000);

  test("a registration that is not failed cannot be retried (409); an unknown wallet is 404", async () => {
    const conflict = await retry(admin, registered);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { message: string }).message).toBe(
      `The on-chain registration of ${getAddress(registered)} is registered, not failed: the wallet is verified on chain; there is nothing to retry.`,
    );
    const unknown = await retry(admin, "0x000000000000000000000000000000000000dead");
    expect(unknown.status).toBe(404);
  });

  test("a failed revocation is retried as a revocation once the owner is no longer approved", async () => {
    const applicant = await createUser(kit, "investor");
    const approval = await approveApplication(kit, applicant.id);
    const wallet = await failedRegistration(applicant.id, approval);
    // The approval ended: the failure is now one of taking eligibility back.
    await kit.deps.db
      .update(kycApplications)
      .set({ expiresAt: new Date(Date.now() - 1_000) })
      .where(eq(kycApplications.id, approval));
    expect((await retry(admin, wallet)).status).toBe(200);
    await waitForStatus(kit, wallet, "revoked");
    const [row] = await kit.deps.db
      .select()
      .from(kycOnchainRegistrations)
      .where(eq(kycOnchainRegistrations.wallet, wallet));
    expect(row?.revokedAt).toBeInstanceOf(Date);
  }, 30_000);
});
