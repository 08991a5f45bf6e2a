// From approval to on-chain eligibility, on a real anvil with the T-REX suite, Postgres, Redis and a
// BullMQ worker: approve → verified wallets that can receive a mint and a transfer; revoke and
// expiry → Kit's claim removed; a new wallet of an approved investor; the node going away in the
// middle of a job; a worker killed -9 between identity creation and registration.
//
// Kit reaches the node through a small proxy, so a test can make it unreachable at a chosen moment
// (after a transaction went through, before its receipt is read) and count the transactions sent.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DevChain,
  identityRegistryAbi,
  idFactoryAbi,
  isVerified,
  mint,
  startDevChain,
  type TokenDeployment,
  tokenAbi,
  transfer,
} from "@kit/contracts";
import { eq } from "drizzle-orm";
import { type Address, getAddress, type LocalAccount, parseUnits } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createSubmittedApplication, moveApplication } from "../../../test/kyc";
import { serveKit } from "../../../test/serve";
import { createUser, signedWalletLink, type TestUser } from "../../../test/users";
import { countryNumericCode } from "../../country-codes";
import type { Deps } from "../../deps";
import { createJobQueue } from "../../jobs/queue";
import { jobDefinitions } from "../../jobs/registry";
import { startWorker } from "../../jobs/worker";
import { linkWallet, unlinkWallet } from "../auth/service";
import { claimDataFor, shortError } from "./onchain-records";
import { expireApprovals } from "./review";
import { kycApplications, kycOnchainRegistrations, kycWalletFreezes } from "./schema";

// ---------------------------------------------------------------------------------------------
// The chain, behind a proxy Kit talks to.

const chain: DevChain = await startDevChain();

interface RpcProxy {
  url: string;
  /** While true, every call answers 503 (the node is unreachable). */
  down: boolean;
  /** eth_sendRawTransaction calls that reached the node. */
  sent: number;
  /** Runs after each forwarded call, with its methods. */
  after?: (methods: string[]) => void | Promise<void>;
  stop(): void;
}

function startRpcProxy(target: string): RpcProxy {
  const proxy: RpcProxy = {
    url: "",
    down: false,
    sent: 0,
    stop: () => server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (proxy.down) return new Response("node unavailable", { status: 503 });
      const body = await request.text();
      const parsed = JSON.parse(body) as { method: string } | { method: string }[];
      const methods = (Array.isArray(parsed) ? parsed : [parsed]).map((call) => call.method);
      const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await answer.text();
      proxy.sent += methods.filter((m) => m === "eth_sendRawTransaction").length;
      await proxy.after?.(methods);
      return new Response(text, { status: answer.status, headers: { "content-type": "application/json" } });
    },
  });
  proxy.url = `http://127.0.0.1:${server.port}`;
  return proxy;
}

const proxy = startRpcProxy(chain.rpcUrl);
const deploymentFile = join(tmpdir(), `kit-onchain-${process.pid}-${Date.now()}.json`);
await writeFile(deploymentFile, JSON.stringify(chain.deployment));

const kit = await createTestKit({ env: { RPC_URL: proxy.url, CHAIN_DEPLOYMENT_FILE: deploymentFile } });
const { db } = kit.deps;

// Retries in milliseconds rather than seconds (same jobs, same code; only the policy differs).
const definitions = jobDefinitions(kit.config)
  .filter((d) => d.name === "kyc.onchain.register" || d.name === "kyc.onchain.revoke")
  .map((d) => ({ ...d, attempts: 4, backoffMs: 50 }));
const jobs = createJobQueue(kit.config, kit.deps.log, definitions);
const deps: Deps = { ...kit.deps, jobs };
const worker = await startWorker(deps, definitions);

afterAll(async () => {
  await worker.close();
  await jobs.close();
  proxy.stop();
  await chain.stop();
});

const [bond, equity] = chain.deployment.tokens as [TokenDeployment, TokenDeployment];
const { deployer, investors, others } = chain.accounts;
const demoHolder = investors[0] as LocalAccount;
const units = (amount: string) => parseUnits(amount, bond.decimals);

// ---------------------------------------------------------------------------------------------
// Helpers

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

async function registration(wallet: string) {
  const [row] = await db
    .select()
    .from(kycOnchainRegistrations)
    .where(eq(kycOnchainRegistrations.wallet, wallet.toLowerCase()));
  return row;
}

const withStatus = (wallet: string, status: string) => async () => {
  const row = await registration(wallet);
  return row?.status === status ? row : undefined;
};

/** Links `account` to `userId` the way `me.wallets.link` does (SIWE message signed by the wallet). */
async function link(userId: string, account: LocalAccount) {
  const { message, signature } = await signedWalletLink(kit, account);
  return linkWallet(deps, userId, { message, signature });
}

const randomWallet = () => privateKeyToAccount(generatePrivateKey());

function identityOf(wallet: Address): Promise<Address> {
  return chain.clients.publicClient.readContract({
    address: chain.deployment.onchainId.idFactory,
    abi: idFactoryAbi,
    functionName: "getIdentity",
    args: [wallet],
  });
}

/** Identities the IdFactory ever linked to the wallet (a second one would show up here). */
async function identitiesLinkedTo(wallet: Address): Promise<number> {
  const events = await chain.clients.publicClient.getContractEvents({
    address: chain.deployment.onchainId.idFactory,
    abi: idFactoryAbi,
    eventName: "WalletLinked",
    fromBlock: 0n,
  });
  return events.filter((e) => e.args.wallet?.toLowerCase() === wallet.toLowerCase()).length;
}

/** Queues a job and waits until this file's worker finished it (its last success moved). */
async function runToCompletion(name: "kyc.onchain.register" | "kyc.onchain.revoke", data: Record<string, unknown>) {
  const before = (await worker.status())[name]?.lastSuccessAt ?? null;
  await Bun.sleep(5); // success times have millisecond resolution
  await jobs.enqueue(name, data);
  return until(`${name} finished`, async () => {
    const now = (await worker.status())[name]?.lastSuccessAt ?? null;
    return now !== before ? now : undefined;
  });
}

const verified = (wallet: Address) => isVerified(chain.clients, bond.identityRegistry, wallet);

let reviewer: TestUser | undefined;
async function reviewerSession(): Promise<TestUser> {
  reviewer ??= await createUser(kit, "kyc_reviewer");
  return reviewer;
}

/** Claim and decide through the reviewer's HTTP procedures (the real path, with its enqueue). */
async function reviewerCall(path: string, body?: unknown) {
  const who = await reviewerSession();
  const response = await kit.request(`/api${path}`, {
    method: "POST",
    headers: { cookie: who.cookie, "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function approveThroughReview(applicationId: string) {
  await reviewerCall(`/kyc/review/${applicationId}/claim`);
  await reviewerCall(`/kyc/review/${applicationId}/decision`, { decision: "approve" });
}

/** Approved directly (fixtures): no job is queued, so a test queues it when it chooses. */
async function approvedApplicant(wallets: LocalAccount[], country = "FR") {
  const applicant = await createApplicant(kit);
  for (const wallet of wallets) await link(applicant.id, wallet);
  const application = await createSubmittedApplication(kit, applicant, { countryOfResidence: country });
  await moveApplication(kit, application.id, "approved", { actorId: (await reviewerSession()).id });
  return { applicant, applicationId: application.id };
}

// ---------------------------------------------------------------------------------------------

describe("approval → eligibility on chain", () => {
  const [walletA, walletB, unapproved] = others as [LocalAccount, LocalAccount, LocalAccount, LocalAccount];
  let applicationId = "";

  test("approving through review makes every linked wallet verified: it can receive a mint and a transfer", async () => {
    const applicant = await createApplicant(kit);
    // Linked before approval: nothing is queued for them yet.
    await link(applicant.id, walletA);
    await link(applicant.id, walletB);
    expect(await registration(walletA.address)).toBeUndefined();
    expect(await verified(walletA.address)).toBe(false);

    const application = await createSubmittedApplication(kit, applicant, { countryOfResidence: "BE" });
    applicationId = application.id;
    await approveThroughReview(applicationId);

    for (const wallet of [walletA, walletB]) {
      const row = await until("registered", withStatus(wallet.address, "registered"));
      expect(row).toMatchObject({
        applicationId,
        userId: applicant.id,
        wallet: wallet.address.toLowerCase(),
        chainId: chain.deployment.chainId,
        country: 56,
        error: null,
      });
      expect(row.lastTxHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(row.identityAddress).toBe((await identityOf(wallet.address)).toLowerCase());
      expect(row.registeredAt).toBeInstanceOf(Date);
      expect(await verified(wallet.address)).toBe(true);
      // One registry storage for every Kit token: the equity's registry sees the wallet too.
      expect(await isVerified(chain.clients, equity.identityRegistry, wallet.address)).toBe(true);
      const country = await chain.clients.publicClient.readContract({
        address: bond.identityRegistry,
        abi: identityRegistryAbi,
        functionName: "investorCountry",
        args: [wallet.address],
      });
      expect(country).toBe(56);
    }

    await mint(chain.clients, deployer, bond.address, walletA.address, units("100"));
    await transfer(chain.clients, walletA, bond.address, walletB.address, units("40"));
    await transfer(chain.clients, demoHolder, bond.address, walletB.address, units("1"));

    // A wallet whose owner is not approved: no row, not verified, a mint or transfer to it reverts.
    expect(await registration(unapproved.address)).toBeUndefined();
    expect(await verified(unapproved.address)).toBe(false);
    await expect(mint(chain.clients, deployer, bond.address, unapproved.address, units("1"))).rejects.toThrow();
    await expect(transfer(chain.clients, walletA, bond.address, unapproved.address, units("1"))).rejects.toThrow();
  });

  test("the job run again finds everything in place and sends nothing", async () => {
    const sentBefore = proxy.sent;
    const before = await registration(walletA.address);
    await runToCompletion("kyc.onchain.register", { applicationId });
    expect(proxy.sent).toBe(sentBefore);
    const after = await registration(walletA.address);
    expect(after?.updatedAt.getTime()).toBeGreaterThan(before?.updatedAt.getTime() ?? Infinity);
    expect(after).toMatchObject({ status: "registered", lastTxHash: before?.lastTxHash });
  });

  test("revoking removes Kit's claim: not verified, a transfer to the wallet reverts, the identity stays", async () => {
    const identity = await identityOf(walletA.address);
    await reviewerCall(`/kyc/review/${applicationId}/revoke`, { reason: "sanctions list match" });
    for (const wallet of [walletA, walletB]) {
      const row = await until("revoked", withStatus(wallet.address, "revoked"));
      expect(row.revokedAt).toBeInstanceOf(Date);
      expect(row.error).toBeNull();
      expect(await verified(wallet.address)).toBe(false);
    }
    expect(await identityOf(walletA.address)).toBe(identity);
    await expect(transfer(chain.clients, demoHolder, bond.address, walletA.address, units("1"))).rejects.toThrow();
    await expect(transfer(chain.clients, walletB, bond.address, walletA.address, units("1"))).rejects.toThrow();
    // Holdings stay where they are, frozen in effect: the wallet can no longer receive.
    await expect(mint(chain.clients, deployer, bond.address, walletB.address, units("1"))).rejects.toThrow();
  });

  test("a registration queued before a revocation but run after it does nothing", async () => {
    const sentBefore = proxy.sent;
    expect(await runToCompletion("kyc.onchain.register", { applicationId })).toBeDefined();
    expect(proxy.sent).toBe(sentBefore);
    expect((await registration(walletA.address))?.status).toBe("revoked");
    expect(await verified(walletA.address)).toBe(false);
  });

  test("approved again (a new application): the same identities receive a new claim", async () => {
    const identity = await identityOf(walletA.address);
    const [previous] = await db.select().from(kycApplications).where(eq(kycApplications.id, applicationId));
    const again = await createSubmittedApplication(kit, { id: previous?.userId ?? "" });
    await moveApplication(kit, again.id, "approved", { actorId: (await reviewerSession()).id });
    await jobs.enqueue("kyc.onchain.register", { applicationId: again.id });
    for (const wallet of [walletA, walletB]) {
      const row = await until("registered again", withStatus(wallet.address, "registered"));
      expect(row.applicationId).toBe(again.id);
      expect(await verified(wallet.address)).toBe(true);
      expect(await identitiesLinkedTo(wallet.address)).toBe(1);
    }
    expect(await identityOf(walletA.address)).toBe(identity);
    await transfer(chain.clients, demoHolder, bond.address, walletA.address, units("1"));
  });
});

describe("a new wallet, and expiry", () => {
  test("a wallet linked to an approved investor becomes eligible, unlinked it is revoked; expiry revokes every wallet", async () => {
    const first = others[3] as LocalAccount;
    const { applicant, applicationId } = await approvedApplicant([first], "DE");
    await jobs.enqueue("kyc.onchain.register", { applicationId });
    await until("first wallet registered", withStatus(first.address, "registered"));

    const second = randomWallet();
    await link(applicant.id, second);
    const row = await until("new wallet registered", withStatus(second.address, "registered"));
    expect(row).toMatchObject({ applicationId, country: 276 });
    expect(await verified(second.address)).toBe(true);
    await mint(chain.clients, deployer, bond.address, second.address, units("5"));

    // Unlinked: the wallet no longer belongs to a known investor, so Kit's claim goes; the others stay.
    const third = randomWallet();
    await link(applicant.id, third);
    await until("third wallet registered", withStatus(third.address, "registered"));
    await unlinkWallet(deps, applicant.id, third.address);
    await until("unlinked wallet revoked", withStatus(third.address, "revoked"));
    expect(await verified(third.address)).toBe(false);
    expect(await verified(second.address)).toBe(true);

    // The approval's validity ends: the expiry job moves it and queues the revocation.
    await db
      .update(kycApplications)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(kycApplications.id, applicationId));
    expect((await expireApprovals(deps)).expired).toBeGreaterThanOrEqual(1);
    for (const wallet of [first.address, second.address]) {
      await until("revoked after expiry", withStatus(wallet, "revoked"));
      expect(await verified(wallet)).toBe(false);
    }
  });

  test("a wallet linked by a user who is not approved queues nothing", async () => {
    const applicant = await createApplicant(kit);
    const wallet = randomWallet();
    const before = (await worker.status())["kyc.onchain.register"]?.lastSuccessAt;
    await link(applicant.id, wallet);
    await Bun.sleep(200);
    expect((await worker.status())["kyc.onchain.register"]?.lastSuccessAt).toBe(before);
    expect(await registration(wallet.address)).toBeUndefined();
  });
});

describe("failures", () => {
  test("a sanctions revocation while the node goes away after the first freeze: retried, each freeze sent once", async () => {
    const wallet = randomWallet();
    const { applicationId } = await approvedApplicant([wallet]);
    await jobs.enqueue("kyc.onchain.register", { applicationId });
    await until("registered", withStatus(wallet.address, "registered"));
    const sentBefore = proxy.sent;
    proxy.after = (methods) => {
      if (methods.includes("eth_sendRawTransaction")) {
        proxy.down = true; // the first freeze went through; its receipt is not read on this try
        proxy.after = undefined;
      }
    };
    await reviewerCall(`/kyc/review/${applicationId}/revoke`, {
      reason: "Sanctions list match",
      category: "sanctions",
    });
    const freezesOf = () =>
      db.select().from(kycWalletFreezes).where(eq(kycWalletFreezes.wallet, wallet.address.toLowerCase()));
    const failedTry = await until("a failed try recorded", async () => {
      const rows = await freezesOf();
      return rows.find((row) => row.error !== null);
    });
    expect(failedTry.status).toBe("pending");
    expect(failedTry.lastTxHash).toMatch(/^0x[0-9a-f]{64}$/);
    proxy.down = false;

    await until("revoked", withStatus(wallet.address, "revoked"));
    const rows = await until("both tokens frozen", async () => {
      const all = await freezesOf();
      return all.length === 2 && all.every((row) => row.status === "frozen") ? all : undefined;
    });
    expect(rows.every((row) => row.error === null && row.frozenBefore === false)).toBe(true);
    for (const token of [bond, equity]) {
      const frozen = await chain.clients.publicClient.readContract({
        address: token.address,
        abi: tokenAbi,
        functionName: "isFrozen",
        args: [wallet.address],
      });
      expect(frozen).toBe(true);
    }
    // Two freezes and the claim's removal: none sent twice.
    expect(proxy.sent - sentBefore).toBe(3);
  });

  test("the node goes away after the identity transaction: retried, then registered once", async () => {
    const wallet = randomWallet();
    const { applicationId } = await approvedApplicant([wallet]);
    const sentBefore = proxy.sent;
    proxy.after = (methods) => {
      if (methods.includes("eth_sendRawTransaction")) {
        proxy.down = true; // the receipt of that transaction is never read on this try
        proxy.after = undefined;
      }
    };
    await jobs.enqueue("kyc.onchain.register", { applicationId });

    const failedTry = await until("a failed try recorded", async () => {
      const row = await registration(wallet.address);
      return row?.error ? row : undefined;
    });
    expect(failedTry.status).toBe("pending");
    expect(failedTry.error).not.toMatch(/0x[0-9a-f]{65,}/i);
    expect(failedTry.lastTxHash).toMatch(/^0x[0-9a-f]{64}$/); // the identity transaction, recorded on broadcast
    proxy.down = false;

    const row = await until("registered", withStatus(wallet.address, "registered"));
    expect(row.attempts).toBeGreaterThanOrEqual(2);
    expect(row.error).toBeNull();
    expect(await verified(wallet.address)).toBe(true);
    expect(await identitiesLinkedTo(wallet.address)).toBe(1);
    expect(row.identityAddress).toBe((await identityOf(wallet.address)).toLowerCase());
    // identity, claim, registration: one transaction each, none repeated.
    expect(proxy.sent - sentBefore).toBe(3);
  });

  test("the node stays away: after the last try the row is failed with the error; a later run finishes", async () => {
    const wallet = randomWallet();
    const { applicationId } = await approvedApplicant([wallet]);
    proxy.down = true;
    try {
      await jobs.enqueue("kyc.onchain.register", { applicationId });
      const row = await until("failed", withStatus(wallet.address, "failed"), 30_000);
      expect(row.attempts).toBe(4);
      expect(row.error).toBeTruthy();
      expect(row.error?.length).toBeLessThanOrEqual(300);
    } finally {
      proxy.down = false;
    }
    // What `kyc.onchain.retry` does: queue it again.
    await jobs.enqueue("kyc.onchain.register", { applicationId });
    await until("registered", withStatus(wallet.address, "registered"));
    expect(await verified(wallet.address)).toBe(true);
    expect(await identitiesLinkedTo(wallet.address)).toBe(1);
  });

  test("a worker killed -9 between identity creation and registration: the next run finishes, one identity", async () => {
    const wallet = randomWallet();
    const { applicationId } = await approvedApplicant([wallet]);
    // The worker process has its own queue (key prefix), so this file's worker cannot take the job.
    const childEnv = { ...kit.env, REDIS_KEY_PREFIX: `${kit.env.REDIS_KEY_PREFIX}child:`, FX_PROVIDERS: "manual" };
    const child = await serveKit(childEnv, { role: "worker" });
    const childQueue = createJobQueue(
      { ...kit.config, redis: { ...kit.config.redis, keyPrefix: childEnv.REDIS_KEY_PREFIX } },
      kit.deps.log,
    );
    const sentBefore = proxy.sent;
    let broadcast = false;
    let killed = false;
    proxy.after = (methods) => {
      if (methods.includes("eth_sendRawTransaction")) broadcast = true;
      else if (broadcast && !killed && methods.includes("eth_getTransactionReceipt")) {
        // The job reads the identity transaction's receipt: its hash is on record, nothing more is done.
        killed = true;
        child.process.kill("SIGKILL");
        proxy.after = undefined;
      }
    };
    try {
      // A new queue connects in the background: retry until it takes the job.
      await until("job queued in the worker's queue", () =>
        childQueue.enqueue("kyc.onchain.register", { applicationId }).then(
          () => true,
          () => false,
        ),
      );
      await until("worker killed", async () => killed && (await child.process.exited) !== undefined, 20_000);
    } finally {
      proxy.after = undefined;
      await childQueue.close();
      await child.stop(1_000);
    }
    const halfDone = await registration(wallet.address);
    expect(halfDone?.status).toBe("pending");
    expect(proxy.sent - sentBefore).toBe(1);
    expect(await identitiesLinkedTo(wallet.address)).toBe(1);
    expect(await verified(wallet.address)).toBe(false);
    const receipt = await chain.clients.publicClient.getTransactionReceipt({
      hash: halfDone?.lastTxHash as `0x${string}`,
    });
    expect(getAddress(receipt.to ?? "0x")).toBe(chain.deployment.onchainId.idFactory);

    await jobs.enqueue("kyc.onchain.register", { applicationId });
    const row = await until("registered", withStatus(wallet.address, "registered"));
    expect(await verified(wallet.address)).toBe(true);
    expect(await identitiesLinkedTo(wallet.address)).toBe(1);
    expect(row.identityAddress).toBe((await identityOf(wallet.address)).toLowerCase());
    expect(proxy.sent - sentBefore).toBe(3); // the claim and the registration, after the identity
  });
});

describe("pieces", () => {
  test("ISO 3166-1 numeric codes for every alpha-2 country", () => {
    expect([countryNumericCode("fr"), countryNumericCode("BE"), countryNumericCode("DE")]).toEqual([250, 56, 276]);
    expect(countryNumericCode("XK")).toBeUndefined();
  });

  test("claim data differ per approval; errors drop long hex (signatures, calldata)", () => {
    expect(claimDataFor("a")).not.toBe(claimDataFor("b"));
    const message = shortError(new Error(`reverted: data 0x${"ab".repeat(100)} from 0x${"cd".repeat(20)}`));
    expect(message).toBe(`reverted: data 0x… from 0x${"cd".repeat(20)}`);
  });
});
