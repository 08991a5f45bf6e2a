// On-chain eligibility: an approval makes each of the investor's wallets verified in the identity
// registry shared by Kit's tokens (ONCHAINID identity + Kit's KYC claim + registration); a
// revocation or expiry removes Kit's claim (the identity stays, as ERC-3643 expects). A revocation
// for sanctions or fraud also freezes the wallets on Kit's tokens, in the same job (freezes.ts).
//
// The jobs are idempotent and resumable: every step reads the chain first and does only what is
// missing, and each transaction hash is recorded as soon as the node accepts it. A retry after a
// crash or an outage therefore never makes a second identity (the IdFactory keeps one per wallet,
// and we look it up before creating) nor a duplicate claim (same issuer and topic: same claim id).
// Jobs for one wallet run one at a time (a Postgres advisory lock), and each re-reads the
// application under that lock, so a revocation queued behind a registration always wins.
import { claimIdOf, hasValidClaim, identityAbi, identityRegistryAbi, idFactoryAbi, keyOf } from "@kit/contracts";
import { and, desc, eq, gt, inArray, notInArray, sql } from "drizzle-orm";
import {
  type Abi,
  type Address,
  BaseError,
  encodeAbiParameters,
  encodeFunctionData,
  type Hash,
  type Hex,
  keccak256,
  stringToHex,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
  zeroAddress,
} from "viem";
import type { Config } from "../../config";
import { countryNumericCode } from "../../country-codes";
import type { JobQueue, ProcessLocal } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { ChainSigner } from "../../infra/signer";
import { listWalletAddresses } from "../auth/wallets";
import { type OnchainRegistrationStatus, RECOVERY_STATUSES } from "./contract-values";
import type { EligibilityChain } from "./eligibility-chain";
import { openFreezeCase } from "./freeze-cases";
import { kycApplications, kycOnchainRegistrations } from "./schema";

export interface OnchainDeps {
  config: Pick<Config, "chain">;
  db: Database;
  log: Logger;
  local: Pick<ProcessLocal, "eligibilityChain">;
}

export type RegistrationRow = typeof kycOnchainRegistrations.$inferSelect;

/** Job data: `kyc.onchain.register` takes an application (all its user's wallets) or one wallet of a user. */
export type RegisterJobData = { applicationId: string } | { userId: string; wallet: string };
/**
 * Job data: `kyc.onchain.revoke` takes the application that stopped being approved (all its user's
 * wallets), or one wallet its user unlinked.
 */
export type RevokeJobData = { applicationId: string } | { userId: string; wallet: string };

export interface JobAttempt {
  attempt: number;
  attempts: number;
}

// ---------------------------------------------------------------------------------------------
// Queueing, after the commit that made the change (an approval, a revocation, a new wallet).

/**
 * Never throws: the change that calls for it is already committed. A lost enqueue leaves the
 * application without rows (or with stale ones), which reconciliation and `kyc.onchain.retry` repair.
 */
export async function queueEligibilityJob(
  deps: { jobs?: JobQueue; log: Logger },
  name: "kyc.onchain.register" | "kyc.onchain.revoke" | "kyc.onchain.freeze",
  data: RegisterJobData | RevokeJobData,
): Promise<void> {
  if (!deps.jobs) return;
  try {
    await deps.jobs.enqueue(name, data);
  } catch (error) {
    deps.log.error({ err: error, job: name, ...data }, "could not queue the on-chain eligibility job");
  }
}

/** After a wallet is unlinked: if Kit made it eligible, the claim goes (it no longer belongs to a known investor). */
export async function queueUnlinkedWalletRevocation(
  deps: { db: Database; jobs?: JobQueue; log?: Logger },
  userId: string,
  wallet: string,
): Promise<void> {
  if (!deps.jobs || !deps.log) return;
  try {
    const [row] = await deps.db
      .select({ id: kycOnchainRegistrations.id })
      .from(kycOnchainRegistrations)
      .where(
        and(
          eq(kycOnchainRegistrations.userId, userId),
          eq(kycOnchainRegistrations.wallet, wallet.toLowerCase()),
          notInArray(kycOnchainRegistrations.status, ["revoked", ...RECOVERY_STATUSES]),
        ),
      );
    if (!row) return;
  } catch (error) {
    deps.log.error({ err: error, userId }, "could not read the on-chain registration of an unlinked wallet");
    return;
  }
  await queueEligibilityJob({ jobs: deps.jobs, log: deps.log }, "kyc.onchain.revoke", {
    userId,
    wallet: wallet.toLowerCase(),
  });
}

/**
 * After a wallet is linked: if its owner is approved now, the wallet is registered too; if a freeze
 * case of theirs is open (a sanctions or fraud revocation), the wallet is frozen like the others —
 * its owner has just proved it is theirs.
 */
export async function queueNewWalletEligibility(
  deps: { db: Database; jobs?: JobQueue; log?: Logger },
  userId: string,
  wallet: string,
): Promise<void> {
  if (!deps.jobs || !deps.log) return;
  let approved: boolean;
  let frozen: boolean;
  try {
    [approved, frozen] = await Promise.all([
      currentApproval(deps.db, userId).then(Boolean),
      openFreezeCase(deps.db, userId).then(Boolean),
    ]);
  } catch (error) {
    deps.log.error({ err: error, userId }, "could not read the KYC standing for a new wallet");
    return;
  }
  const data = { userId, wallet: wallet.toLowerCase() };
  const queue = { jobs: deps.jobs, log: deps.log };
  if (frozen) await queueEligibilityJob(queue, "kyc.onchain.freeze", data);
  if (approved) await queueEligibilityJob(queue, "kyc.onchain.register", data);
}

// ---------------------------------------------------------------------------------------------
// The chain side (eligibility-chain.ts: the deployment, the clients and signers).

/**
 * The claim's public data: opaque, and different for each approval. A new approval therefore signs
 * a new claim (replacing the old one under the same claim id) even if the issuer revoked an earlier
 * signature with `revokeClaimBySignature`.
 */
export function claimDataFor(applicationId: string): Hex {
  return keccak256(stringToHex(`kit-kyc:${applicationId}`));
}

/** ONCHAINID's claim signature: EIP-191 over keccak256(abi.encode(identity, topic, data)). */
function signClaim(signer: ChainSigner, identity: Address, topic: bigint, data: Hex): Promise<Hex> {
  const digest = keccak256(
    encodeAbiParameters([{ type: "address" }, { type: "uint256" }, { type: "bytes" }], [identity, topic, data]),
  );
  return signer.signMessage({ raw: digest });
}

// ---------------------------------------------------------------------------------------------
// Reading Kit's side.

/** The user's approved, unexpired application, if any (Postgres, not the cached standing). */
export async function currentApproval(db: Database, userId: string) {
  const [row] = await db
    .select()
    .from(kycApplications)
    .where(
      and(
        eq(kycApplications.userId, userId),
        eq(kycApplications.status, "approved"),
        gt(kycApplications.expiresAt, new Date()),
      ),
    )
    .orderBy(desc(kycApplications.decidedAt))
    .limit(1);
  return row;
}

/** The user's linked wallets, lowercase. */
export async function linkedWallets(db: Database, userId: string): Promise<string[]> {
  return [...new Set((await listWalletAddresses({ db }, userId)).map((address) => address.toLowerCase()))];
}

/** Whether `wallet` (lowercase) is still linked to `userId`: jobs act only on linked wallets. */
export async function isLinked(db: Database, userId: string, wallet: string): Promise<boolean> {
  return (await linkedWallets(db, userId)).includes(wallet);
}

/**
 * Jobs touching one wallet take turns; the lock ends with the transaction (or the connection).
 * With `waitMs`, a wait longer than that fails with PG_LOCK_NOT_AVAILABLE instead of going on.
 */
export async function withWalletLock<T>(
  db: Database,
  chainId: number,
  wallet: string,
  work: () => Promise<T>,
  options: { waitMs?: number } = {},
): Promise<T> {
  return db.transaction(async (tx) => {
    if (options.waitMs !== undefined)
      await tx.execute(sql.raw(`set local lock_timeout = ${Math.ceil(options.waitMs)}`));
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`kyc-onchain:${chainId}:${wallet}`}, 0))`);
    return work();
  });
}

/** A wallet a recovery holds, or moved the registration away from (recovery.ts): eligibility leaves it alone. */
async function heldByRecovery(db: Database, chainId: number, wallet: string): Promise<boolean> {
  const [row] = await db
    .select({ id: kycOnchainRegistrations.id })
    .from(kycOnchainRegistrations)
    .where(
      and(
        eq(kycOnchainRegistrations.chainId, chainId),
        eq(kycOnchainRegistrations.wallet, wallet),
        inArray(kycOnchainRegistrations.status, [...RECOVERY_STATUSES]),
      ),
    );
  return row !== undefined;
}

const isRecoveryStatus = (status: OnchainRegistrationStatus) =>
  (RECOVERY_STATUSES as readonly OnchainRegistrationStatus[]).includes(status);

async function updateRow(db: Database, id: string, set: Partial<RegistrationRow>): Promise<void> {
  await db
    .update(kycOnchainRegistrations)
    .set({ ...set, updatedAt: new Date() })
    .where(eq(kycOnchainRegistrations.id, id));
}

/** For operators: short, and without signatures or calldata (long hex) that viem puts in messages. */
export function shortError(error: unknown): string {
  const message =
    error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
  return message
    .replace(/0x[0-9a-fA-F]{65,}/g, "0x…")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

// ---------------------------------------------------------------------------------------------
// Sending: simulate (a revert names its reason), sign through the agent, record the hash, wait.

function sendCall(deps: OnchainDeps, chain: EligibilityChain, rowId: string, call: AgentCall): Promise<Hash> {
  return sendAgentCall(chain, call, (hash) => updateRow(deps.db, rowId, { lastTxHash: hash }));
}

export interface AgentCall {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

/** Sends `call` as Kit's agent; `recordHash` runs once the node accepted it, before the receipt is awaited. */
export async function sendAgentCall(
  chain: EligibilityChain,
  call: AgentCall,
  recordHash: (hash: Hash) => Promise<void>,
): Promise<Hash> {
  const { publicClient } = chain.clients;
  await publicClient.simulateContract({ ...call, account: chain.agent.address } as never);
  const hash = await chain.agent.sendTransaction({
    to: call.address,
    data: encodeFunctionData(call as never),
  });
  // Before waiting: a crash from here on leaves the hash on record.
  await recordHash(hash);
  const receipt = await receiptOf(chain, hash);
  if (receipt.status !== "success") throw new Error(`${call.functionName}: transaction ${hash} reverted`);
  return hash;
}

const RECEIPT_TIMEOUT_MS = 120_000;

/**
 * Polls for the receipt. Unlike viem's waitForTransactionReceipt, which rides out RPC errors until
 * its timeout, a node that stops answering fails the try at once: the job's backoff takes over.
 */
async function receiptOf(chain: EligibilityChain, hash: Hash): Promise<TransactionReceipt> {
  const { publicClient } = chain.clients;
  const deadline = Date.now() + RECEIPT_TIMEOUT_MS;
  for (;;) {
    try {
      return await publicClient.getTransactionReceipt({ hash });
    } catch (error) {
      if (!(error instanceof TransactionReceiptNotFoundError)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`transaction ${hash} not mined after ${RECEIPT_TIMEOUT_MS / 1000} s`);
    await Bun.sleep(publicClient.pollingInterval);
  }
}

export const read = <T>(
  chain: EligibilityChain,
  call: { address: Address; abi: Abi; functionName: string; args: unknown[] },
) => chain.clients.publicClient.readContract(call as never) as Promise<T>;

// ---------------------------------------------------------------------------------------------
// Job kyc.onchain.register

/** What a successful run did (a run with any wallet failing throws, naming each, and is retried). */
export interface RegisterResult {
  registered: string[];
  skipped: number;
}

export async function registerEligibility(
  deps: OnchainDeps,
  data: Record<string, unknown>,
  job: JobAttempt,
): Promise<RegisterResult> {
  const target = await registrationTarget(deps.db, data);
  const result: RegisterResult = { registered: [], skipped: 0 };
  if (!target) return { ...result, skipped: 1 };
  const deployment = await deps.local.eligibilityChain.deployment();
  const last = job.attempt >= job.attempts;
  const errors: string[] = [];

  for (const wallet of target.wallets) {
    try {
      const outcome = await withWalletLock(deps.db, deployment.chainId, wallet, () =>
        registerWallet(deps, deployment.chainId, target.userId, wallet, target.applicationId, job, last),
      );
      if (outcome === "registered") result.registered.push(wallet);
      else result.skipped += 1;
    } catch (error) {
      errors.push(`${wallet}: ${shortError(error)}`);
    }
  }
  if (errors.length > 0) throw new Error(`on-chain registration failed for ${errors.join("; ")}`);
  return result;
}

async function registrationTarget(
  db: Database,
  data: Record<string, unknown>,
): Promise<{ applicationId: string; userId: string; wallets: string[] } | undefined> {
  if (typeof data.applicationId === "string") {
    const [application] = await db
      .select({ userId: kycApplications.userId })
      .from(kycApplications)
      .where(eq(kycApplications.id, data.applicationId));
    if (!application) return undefined;
    const wallets =
      typeof data.wallet === "string" ? [data.wallet.toLowerCase()] : await linkedWallets(db, application.userId);
    return { applicationId: data.applicationId, userId: application.userId, wallets };
  }
  if (typeof data.userId === "string" && typeof data.wallet === "string") {
    const approval = await currentApproval(db, data.userId);
    if (!approval) return undefined;
    return { applicationId: approval.id, userId: data.userId, wallets: [data.wallet.toLowerCase()] };
  }
  throw new Error("kyc.onchain.register needs { applicationId } or { userId, wallet }");
}

async function registerWallet(
  deps: OnchainDeps,
  chainId: number,
  userId: string,
  wallet: string,
  applicationId: string,
  job: JobAttempt,
  last: boolean,
): Promise<"registered" | "skipped"> {
  // Under the lock: an approval revoked, expired or replaced since the job was queued is left alone.
  const approval = await currentApproval(deps.db, userId);
  if (approval?.id !== applicationId) return "skipped";
  if (!(await isLinked(deps.db, userId, wallet))) return "skipped";
  if (await heldByRecovery(deps.db, chainId, wallet)) return "skipped";
  const country = countryNumericCode(approval.countryOfResidence ?? "");

  const [row] = await deps.db
    .insert(kycOnchainRegistrations)
    .values({
      applicationId,
      userId,
      wallet,
      chainId,
      country: country ?? 0,
      status: "pending",
      attempts: job.attempt,
    })
    .onConflictDoUpdate({
      target: [kycOnchainRegistrations.chainId, kycOnchainRegistrations.wallet],
      set: {
        applicationId,
        userId,
        country: country ?? 0,
        // A re-run for a wallet already done stays `registered` while it checks the chain.
        status: sql`case when ${kycOnchainRegistrations.status} = 'registered' and ${kycOnchainRegistrations.applicationId} = ${applicationId} then 'registered' else 'pending' end`,
        attempts: job.attempt,
        updatedAt: new Date(),
      },
    })
    .returning();
  if (!row) throw new Error("registration upsert returned no row");

  try {
    if (country === undefined) {
      throw new Error(
        `no ISO 3166-1 numeric code for the country of residence ${approval.countryOfResidence ?? "(none)"}`,
      );
    }
    const chain = await deps.local.eligibilityChain.chain();
    await makeVerified(deps, chain, row, claimDataFor(applicationId), country);
    await updateRow(deps.db, row.id, { status: "registered", registeredAt: new Date(), error: null });
    deps.log.info({ wallet, applicationId }, "wallet verified on chain");
    return "registered";
  } catch (error) {
    const status: OnchainRegistrationStatus = last ? "failed" : "pending";
    await updateRow(deps.db, row.id, { status, error: shortError(error) });
    throw error;
  }
}

/** Identity, claim, registration: each read first, each done only when missing. */
async function makeVerified(
  deps: OnchainDeps,
  chain: EligibilityChain,
  row: RegistrationRow,
  claimData: Hex,
  country: number,
): Promise<void> {
  const wallet = row.wallet as Address;
  const registry = chain.identityRegistry;
  const registered = await read<boolean>(chain, {
    address: registry,
    abi: identityRegistryAbi,
    functionName: "contains",
    args: [wallet],
  });
  // A wallet already in the registry keeps its identity there (the claim goes where isVerified looks).
  let identity = registered
    ? await read<Address>(chain, {
        address: registry,
        abi: identityRegistryAbi,
        functionName: "identity",
        args: [wallet],
      })
    : await identityOf(chain, wallet);
  if (identity === zeroAddress) {
    await sendCall(deps, chain, row.id, {
      address: chain.idFactory,
      abi: idFactoryAbi,
      functionName: "createIdentityWithManagementKeys",
      // The agent, not the wallet, manages the identity: Kit adds and removes its claims unaided.
      args: [wallet, wallet, [keyOf(chain.agent.address)]],
    });
    identity = await identityOf(chain, wallet);
    if (identity === zeroAddress) throw new Error("the IdFactory created no identity for the wallet");
  }
  const claimId = claimIdOf(chain.claimIssuer, chain.topic);
  await updateRow(deps.db, row.id, { identityAddress: identity.toLowerCase(), claimId });

  const claim = { identity, claimIssuer: chain.claimIssuer, topic: chain.topic, data: claimData };
  if (!(await hasValidClaim(chain.clients, claim))) {
    const signature = await signClaim(chain.claimSigner, identity, chain.topic, claimData);
    await sendCall(deps, chain, row.id, {
      address: identity,
      abi: identityAbi,
      functionName: "addClaim",
      args: [chain.topic, 1n, chain.claimIssuer, signature, claimData, ""],
    });
  }

  if (!registered) {
    await sendCall(deps, chain, row.id, {
      address: registry,
      abi: identityRegistryAbi,
      functionName: "registerIdentity",
      args: [wallet, identity, country],
    });
  } else {
    const onChainCountry = await read<number>(chain, {
      address: registry,
      abi: identityRegistryAbi,
      functionName: "investorCountry",
      args: [wallet],
    });
    if (onChainCountry !== country) {
      await sendCall(deps, chain, row.id, {
        address: registry,
        abi: identityRegistryAbi,
        functionName: "updateCountry",
        args: [wallet, country],
      });
    }
  }

  const verified = await read<boolean>(chain, {
    address: registry,
    abi: identityRegistryAbi,
    functionName: "isVerified",
    args: [wallet],
  });
  if (!verified) {
    throw new Error(
      "registered with Kit's claim, yet isVerified is false: check the token's claim topics and trusted issuers",
    );
  }
}

function identityOf(chain: EligibilityChain, wallet: Address): Promise<Address> {
  return read<Address>(chain, {
    address: chain.idFactory,
    abi: idFactoryAbi,
    functionName: "getIdentity",
    args: [wallet],
  });
}

// ---------------------------------------------------------------------------------------------
// Job kyc.onchain.revoke

export interface RevokeResult {
  revoked: string[];
  skipped: number;
}

/** Whose wallets a `kyc.onchain.revoke` job is about: all of a user's, or one; undefined for an unknown application. */
export async function revocationTarget(
  db: Database,
  data: Record<string, unknown>,
): Promise<{ userId: string; wallet?: string } | undefined> {
  if (typeof data.applicationId === "string") {
    const [application] = await db
      .select({ userId: kycApplications.userId })
      .from(kycApplications)
      .where(eq(kycApplications.id, data.applicationId));
    return application ? { userId: application.userId } : undefined;
  }
  if (typeof data.userId === "string" && typeof data.wallet === "string") {
    return { userId: data.userId, wallet: data.wallet.toLowerCase() };
  }
  throw new Error("kyc.onchain.revoke needs { applicationId } or { userId, wallet }");
}

export async function revokeEligibility(
  deps: OnchainDeps,
  data: Record<string, unknown>,
  job: JobAttempt,
): Promise<RevokeResult> {
  const target = await revocationTarget(deps.db, data);
  if (!target) return { revoked: [], skipped: 0 };
  const { userId, wallet } = target;
  const result: RevokeResult = { revoked: [], skipped: 0 };
  const deployment = await deps.local.eligibilityChain.deployment();
  const rows = await deps.db
    .select()
    .from(kycOnchainRegistrations)
    .where(
      and(
        eq(kycOnchainRegistrations.userId, userId),
        eq(kycOnchainRegistrations.chainId, deployment.chainId),
        notInArray(kycOnchainRegistrations.status, ["revoked", ...RECOVERY_STATUSES]),
        wallet === undefined ? undefined : eq(kycOnchainRegistrations.wallet, wallet),
      ),
    );
  const last = job.attempt >= job.attempts;
  const errors: string[] = [];
  for (const row of rows) {
    try {
      const outcome = await withWalletLock(deps.db, row.chainId, row.wallet, () =>
        revokeWallet(deps, row, userId, job, last),
      );
      if (outcome === "revoked") result.revoked.push(row.wallet);
      else result.skipped += 1;
    } catch (error) {
      errors.push(`${row.wallet}: ${shortError(error)}`);
    }
  }
  if (errors.length > 0) throw new Error(`on-chain revocation failed for ${errors.join("; ")}`);
  return result;
}

async function revokeWallet(
  deps: OnchainDeps,
  stale: RegistrationRow,
  userId: string,
  job: JobAttempt,
  last: boolean,
): Promise<"revoked" | "skipped"> {
  const [row] = await deps.db.select().from(kycOnchainRegistrations).where(eq(kycOnchainRegistrations.id, stale.id));
  // Re-read under the lock: the wallet moved to another user, or is still (or again) the wallet of
  // an approved investor. A wallet stays eligible exactly while both hold.
  if (!row || row.status === "revoked" || isRecoveryStatus(row.status) || row.userId !== userId) return "skipped";
  if ((await currentApproval(deps.db, userId)) && (await isLinked(deps.db, userId, row.wallet))) {
    return "skipped";
  }
  await updateRow(deps.db, row.id, { attempts: job.attempt });

  try {
    const chain = await deps.local.eligibilityChain.chain();
    const wallet = row.wallet as Address;
    const identity = (row.identityAddress as Address | null) ?? (await identityOf(chain, wallet));
    const claimId = claimIdOf(chain.claimIssuer, chain.topic);
    if (identity !== zeroAddress) {
      const [, , issuer] = await read<readonly [bigint, bigint, Address, Hex, Hex, string]>(chain, {
        address: identity,
        abi: identityAbi,
        functionName: "getClaim",
        args: [claimId],
      });
      if (issuer.toLowerCase() === chain.claimIssuer.toLowerCase()) {
        await sendCall(deps, chain, row.id, {
          address: identity,
          abi: identityAbi,
          functionName: "removeClaim",
          args: [claimId],
        });
      }
    }
    const stillVerified = await read<boolean>(chain, {
      address: chain.identityRegistry,
      abi: identityRegistryAbi,
      functionName: "isVerified",
      args: [wallet],
    });
    await updateRow(deps.db, row.id, {
      status: "revoked",
      revokedAt: new Date(),
      claimId,
      // Kit's claim is gone; a claim from another trusted issuer is not Kit's to remove, but it is worth a look.
      error: stillVerified ? "Kit's claim is removed, but the wallet is still verified through another claim" : null,
    });
    deps.log.info({ wallet, applicationId: row.applicationId }, "KYC claim removed on chain");
    return "revoked";
  } catch (error) {
    await updateRow(deps.db, row.id, { status: last ? "failed" : row.status, error: shortError(error) });
    throw error;
  }
}
