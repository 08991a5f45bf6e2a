// Eligibility and token servicing share Kit's agent, and so its nonce. Two "workers" (two sets of
// clients: their own Postgres pool, Redis and chain signer, as two processes have) register
// investors and send mints at the same time, on anvil: every transaction goes through the one
// sender of the agent (the outbox's advisory lock), so there is no nonce clash (each nonce used by
// one transaction Kit recorded), no nonce gap (the agent's nonces run without a hole from before to
// after), and each transaction is confirmed exactly once. Before eligibility moved onto the outbox,
// its jobs signed with their own nonce counter per process, and the two raced for the same nonces.
import { afterAll, describe, expect, test } from "bun:test";
import { isVerified, type TokenDeployment, tokenAbi } from "@kit/contracts";
import { inArray } from "drizzle-orm";
import type { Address, Hex } from "viem";
import { createApplicant } from "../../../test/kyc";
import { approveApplication, linkFreshWallet, startOnchainKit, waitForStatus } from "../../../test/onchain-kit";
import { createUser } from "../../../test/users";
import { closeDeps, createDeps } from "../../runtime";
import { connectOperationsChain } from "../operations/chain";
import { tokenOperations } from "../operations/schema";
import { awaitOperations } from "../operations/system";
import { recordRegistration, recordRevocation } from "./onchain-outbox";
import { registerEligibility } from "./onchain-register";

const onchain = await startOnchainKit();
const { dev, kit, identityRegistry } = onchain;
const [bond] = dev.deployment.tokens as [TokenDeployment];
// The second worker: clients of its own, on the same database, Redis and chain.
const other = createDeps(kit.config, onchain.log);
afterAll(() => closeDeps(other));

const job = { attempt: 1, attempts: 1 };
const agent = dev.accounts.deployer.address;
const nonceOf = () => dev.clients.publicClient.getTransactionCount({ address: agent, blockTag: "latest" });

async function approvedInvestor() {
  const applicant = await createApplicant(kit);
  const wallet = await linkFreshWallet(kit, applicant.id);
  const applicationId = await approveApplication(kit, applicant.id);
  return { applicationId, wallet, userId: applicant.id };
}

/** Mints to a verified demo holder, recorded as an issuer's operations (pending: ready to send). */
async function pendingMints(count: number, requestedBy: string): Promise<string[]> {
  const to = (dev.accounts.investors[0] as { address: Address }).address.toLowerCase();
  const rows = await kit.deps.db
    .insert(tokenOperations)
    .values(
      Array.from({ length: count }, () => ({
        chainId: dev.deployment.chainId,
        token: bond.address.toLowerCase(),
        kind: "mint" as const,
        parameters: { recipients: [{ to, amount: "1000" }] },
        requestedBy,
        requestHash: crypto.randomUUID(),
        status: "pending" as const,
      })),
    )
    .returning({ id: tokenOperations.id });
  return rows.map((row) => row.id);
}

/** Every transaction Kit recorded for these operations (a multi-step one: each confirmed step's). */
async function recordedTransactions(ids: string[]) {
  const rows = await kit.deps.db.select().from(tokenOperations).where(inArray(tokenOperations.id, ids));
  return {
    rows,
    transactions: rows.flatMap((row) =>
      row.steps
        ? row.steps.done.map((d) => ({ nonce: d.nonce, txHash: d.txHash }))
        : row.txHash && row.nonce !== null
          ? [{ nonce: row.nonce, txHash: row.txHash }]
          : [],
    ),
  };
}

describe("one sender per signer address", () => {
  test("two workers register investors and mint at once: no nonce clash, no gap, each transaction confirmed once", async () => {
    const issuer = await createUser(kit, "issuer");
    const investors = await Promise.all(Array.from({ length: 6 }, () => approvedInvestor()));
    const mints = await pendingMints(12, issuer.id);
    const before = await nonceOf();

    // As the outbox's jobs connect: any sender may plan an eligibility step, so each has the claim signer.
    const chainFor = (deps: typeof other) => connectOperationsChain(deps.config);
    const [one, two] = [kit.deps, other];
    const results = await Promise.all([
      // Each worker registers half of the investors and drives the mints' sending, all at once.
      ...investors.map(({ applicationId }, i) => registerEligibility(i % 2 ? one : two, { applicationId }, job)),
      awaitOperations(one, await chainFor(one), mints.slice(0, 6)),
      awaitOperations(two, await chainFor(two), mints.slice(6)),
    ]);
    expect(results).toHaveLength(investors.length + 2);

    for (const { wallet } of investors) {
      await waitForStatus(kit, wallet, "registered");
      expect(await isVerified(dev.clients, identityRegistry, wallet)).toBe(true);
    }
    const holder = (dev.accounts.investors[0] as { address: Address }).address;
    expect(
      await dev.clients.publicClient.readContract({
        address: bond.address,
        abi: tokenAbi,
        functionName: "balanceOf",
        args: [holder],
      }),
    ).toBeGreaterThanOrEqual(12_000n);

    const eligibility = await kit.deps.db
      .select({ id: tokenOperations.id })
      .from(tokenOperations)
      .where(inArray(tokenOperations.kind, ["identity_register"]));
    const { rows, transactions } = await recordedTransactions([...mints, ...eligibility.map((e) => e.id)]);
    expect(rows.every((row) => row.status === "confirmed")).toBe(true);
    // Identity, claim and registration per investor, and the mints.
    expect(transactions).toHaveLength(investors.length * 3 + mints.length);

    const after = await nonceOf();
    const nonces = transactions.map((t) => t.nonce).sort((a, b) => a - b);
    // No clash: each nonce once. No gap: every nonce from before to after is one of Kit's recorded transactions.
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(nonces).toEqual(Array.from({ length: after - before }, (_, i) => before + i));
    // Each mined once, successfully, at the nonce Kit recorded.
    for (const { nonce, txHash } of transactions) {
      const [receipt, sent] = await Promise.all([
        dev.clients.publicClient.getTransactionReceipt({ hash: txHash as Hex }),
        dev.clients.publicClient.getTransaction({ hash: txHash as Hex }),
      ]);
      expect(receipt.status).toBe("success");
      expect(sent.nonce).toBe(nonce);
    }
  }, 60_000);

  test("a revocation recorded behind a registration of the same wallet waits for it, then wins", async () => {
    const { wallet, userId, applicationId } = await approvedInvestor();
    const register = await recordRegistration(kit.deps, { wallet, userId, applicationId, country: 250 });
    const revoke = await recordRevocation(kit.deps, { wallet, userId, identity: null, cause: "test" });
    // One pass of the outbox over both: the revocation is planned only after the registration settled.
    const rows = await awaitOperations(kit.deps, await connectOperationsChain(kit.config), [register.id, revoke.id]);
    const [registered, revoked] = [register, revoke].map((o) => rows.find((r) => r.id === o.id));
    expect(registered?.status).toBe("confirmed");
    expect(registered?.steps?.done.map((d) => d.step.action)).toEqual([
      "create_identity",
      "add_claim",
      "register_identity",
    ]);
    expect(revoked?.status).toBe("confirmed");
    expect(revoked?.steps?.done.map((d) => d.step.action)).toEqual(["remove_claim"]);
    expect(await isVerified(dev.clients, identityRegistry, wallet)).toBe(false);
  });
});
