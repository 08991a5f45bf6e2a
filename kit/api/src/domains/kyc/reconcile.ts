// Job kyc.onchain.reconcile: compares kyc_onchain_registrations with the chain and repairs what
// drifted. The chain can change behind Kit's back (a management key removing Kit's claim, an
// agent deleting an identity from the registry, a claim added again after Kit revoked it), and a
// queued job can be lost (Redis gone between a commit and its enqueue). Each run checks a bounded
// batch, continuing where the previous run stopped, so every row is looked at every few runs
// whatever the table's size.
import { claimIdOf, hasValidClaim, identityAbi, isVerified } from "@kit/contracts";
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { Address, Hex } from "viem";
import type { Config } from "../../config";
import type { JobQueue, ProcessLocal } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { EligibilityChain } from "./eligibility-chain";
import type { DriftKind, KycOnchainMetrics } from "./onchain-metrics";
import { claimDataFor, currentApproval, isLinked, type RegistrationRow } from "./onchain-records";
import { kycApplications, kycOnchainRegistrations } from "./schema";

/** Rows checked per run (a few chain reads each). */
export const RECONCILE_BATCH = 200;
/** Chain reads in flight at once. */
export const CONCURRENCY = 8;
/** Where the last run stopped (a row id); absent: from the start. */
const CURSOR_KEY = "kyc:onchain:reconcile:cursor";
/**
 * A row whose owner's standing changed (approved again, approval ended, wallet unlinked) gets this
 * long for the job queued with the change to act before it counts as drift: a revocation being
 * retried through a chain outage is not one.
 */
export const GRACE_MS = 15 * 60 * 1000;

export interface ReconcileDeps {
  config: Pick<Config, "chain">;
  db: Database;
  redis: Redis;
  log: Logger;
  jobs: JobQueue;
  local: Pick<ProcessLocal, "eligibilityChain">;
}

export interface ReconcileResult {
  checked: number;
  drifted: number;
  queued: number;
}

interface Finding {
  kind: DriftKind;
  /** Stored in the row's `error` for the reviewers' view and the operator. */
  message: string;
  /** The row's new status (`pending` while the repair job is queued). */
  status: RegistrationRow["status"];
  job?: { name: "kyc.onchain.register" | "kyc.onchain.revoke"; data: Record<string, string> };
}

/**
 * Approvals decided this recently (and longer ago than the grace period) are searched for linked
 * wallets that have no row at all: the approval's job was lost before it could write one.
 */
const LOST_JOB_WINDOW_MS = 2 * 24 * 60 * 60 * 1000;

/**
 * Approved, unexpired applications of the window whose owner has a linked wallet with no
 * registration row: their kyc.onchain.register was never queued (Redis gone at the commit).
 */
async function approvalsWithoutRows(db: Database, limit: number) {
  const now = Date.now();
  return db
    .select({ id: kycApplications.id, userId: kycApplications.userId })
    .from(kycApplications)
    .where(
      and(
        eq(kycApplications.status, "approved"),
        gt(kycApplications.expiresAt, new Date(now)),
        sql`${kycApplications.decidedAt} between ${new Date(now - LOST_JOB_WINDOW_MS)} and ${new Date(now - GRACE_MS)}`,
        // The wallet table is the auth domain's; the link itself is what makes a wallet eligible.
        sql`exists (select 1 from wallet_address w where w.user_id = ${kycApplications.userId}
          and not exists (select 1 from ${kycOnchainRegistrations} r where r.wallet = lower(w.address)))`,
      ),
    )
    .orderBy(asc(kycApplications.decidedAt))
    .limit(limit);
}

/** Queues the registration of every approval of the window whose job was lost; returns how many. */
async function requeueLostApprovals(
  deps: ReconcileDeps,
  metrics: Pick<KycOnchainMetrics, "drift">,
  limit: number,
): Promise<number> {
  const lost = await approvalsWithoutRows(deps.db, limit);
  for (const application of lost) {
    await deps.jobs.enqueue("kyc.onchain.register", { applicationId: application.id });
    metrics.drift.inc({ kind: "job_lost" });
    deps.log.warn(
      { applicationId: application.id, drift: "job_lost", repair: "kyc.onchain.register" },
      "on-chain drift: an approved application has linked wallets with no registration; registration queued",
    );
  }
  return lost.length;
}

export async function reconcileRegistrations(
  deps: ReconcileDeps,
  metrics: Pick<KycOnchainMetrics, "drift">,
  options: { batch?: number } = {},
): Promise<ReconcileResult> {
  const batch = options.batch ?? RECONCILE_BATCH;
  const requeued = await requeueLostApprovals(deps, metrics, batch);
  const cursor = await deps.redis.get(CURSOR_KEY);
  const rows = await deps.db
    .select()
    .from(kycOnchainRegistrations)
    .where(
      and(
        inArray(kycOnchainRegistrations.status, ["registered", "revoked"]),
        cursor ? gt(kycOnchainRegistrations.id, cursor) : undefined,
      ),
    )
    .orderBy(asc(kycOnchainRegistrations.id))
    .limit(batch);
  // Moved only after the batch is done: a run that fails (chain down) is tried again on the same rows.
  // A short batch reached the end: the next run starts over.
  const last = rows.at(-1);
  const advance = () =>
    rows.length < batch || !last ? deps.redis.del(CURSOR_KEY) : deps.redis.set(CURSOR_KEY, last.id);
  // Nothing registered yet: no need for the chain (nor a deployment file).
  if (rows.length === 0) {
    await advance();
    return { checked: 0, drifted: requeued, queued: requeued };
  }
  const chain = await deps.local.eligibilityChain.chain();
  const mine = rows.filter((row) => row.chainId === chain.chainId);

  const result: ReconcileResult = { checked: mine.length, drifted: requeued, queued: requeued };
  for (let i = 0; i < mine.length; i += CONCURRENCY) {
    await Promise.all(
      mine.slice(i, i + CONCURRENCY).map(async (row) => {
        const finding = await inspect(deps.db, chain, row);
        if (!finding || !(await flag(deps, row, finding))) return;
        result.drifted += 1;
        metrics.drift.inc({ kind: finding.kind });
        // Wallet addresses and ids only: nothing secret, nothing personal beyond what the chain shows.
        deps.log.warn(
          {
            wallet: row.wallet,
            applicationId: row.applicationId,
            drift: finding.kind,
            repair: finding.job?.name ?? null,
          },
          `on-chain drift: ${finding.message}`,
        );
        if (finding.job) {
          try {
            await deps.jobs.enqueue(finding.job.name, finding.job.data);
          } catch (error) {
            // Back as it was (the finding stays in `error`), so the next run finds it again.
            await deps.db
              .update(kycOnchainRegistrations)
              .set({ status: row.status, updatedAt: new Date() })
              .where(eq(kycOnchainRegistrations.id, row.id));
            throw error;
          }
          result.queued += 1;
        }
      }),
    );
  }
  await advance();
  return result;
}

/** What is wrong with one row, judged against the chain and the owner's current approval. */
async function inspect(db: Database, chain: EligibilityChain, row: RegistrationRow): Promise<Finding | undefined> {
  const wallet = row.wallet as Address;
  const approvalId = (await currentApproval(db, row.userId))?.id;
  // A wallet is eligible while its owner is approved and it is still linked to them.
  const linked = await isLinked(db, row.userId, row.wallet);
  const kitClaim = row.identityAddress ? await kitClaimOn(chain, row.identityAddress as Address) : undefined;
  const verified = await isVerified(chain.clients, chain.identityRegistry, wallet);

  const facts: RowFacts = {
    approvalId,
    linked,
    kitClaim,
    verified,
    settled: Date.now() - row.updatedAt.getTime() > GRACE_MS,
  };
  return row.status === "registered" ? inspectRegistered(chain, row, facts) : inspectRevoked(row, facts);
}

/** What inspect learnt of a row's wallet, read before judging it. */
interface RowFacts {
  /** The owner's current approval, if any. */
  approvalId: string | undefined;
  linked: boolean;
  /** Kit's claim's data on the wallet's identity, if there. */
  kitClaim: Hex | undefined;
  verified: boolean;
  /** Past the grace period: jobs for the row's last change have had time to run. */
  settled: boolean;
}

/** A registered row: eligible only while approved and linked, with Kit's claim valid and the wallet verified. */
async function inspectRegistered(
  chain: EligibilityChain,
  row: RegistrationRow,
  { approvalId, linked, kitClaim, verified, settled }: RowFacts,
): Promise<Finding | undefined> {
  // Eligible is approved and linked; without either the revocation was never queued, or was lost.
  if (!approvalId || !linked) {
    if (!settled) return undefined;
    const revoke = { name: "kyc.onchain.revoke" as const, data: { userId: row.userId, wallet: row.wallet } };
    return approvalId
      ? {
          kind: "wallet_unlinked",
          message: "registered on chain although its owner has unlinked it; revocation queued",
          status: "pending",
          job: revoke,
        }
      : {
          kind: "approval_ended",
          message: "registered on chain although its owner is no longer approved; revocation queued",
          status: "pending",
          job: revoke,
        };
  }
  const register = { name: "kyc.onchain.register" as const, data: { applicationId: approvalId, wallet: row.wallet } };
  const claimValid =
    kitClaim !== undefined &&
    (await hasValidClaim(chain.clients, {
      identity: row.identityAddress as Address,
      claimIssuer: chain.claimIssuer,
      topic: chain.topic,
      data: claimDataFor(row.applicationId),
    }));
  if (!claimValid) {
    return {
      kind: "claim_missing",
      message: "Kit's KYC claim is missing or no longer valid on the wallet's identity; registration queued again",
      status: "pending",
      job: register,
    };
  }
  if (!verified) {
    return {
      kind: "not_verified",
      message: "the identity registry no longer verifies the wallet; registration queued again",
      status: "pending",
      job: register,
    };
  }
  return undefined;
}

/** A revoked row: it stays revoked unless its owner is approved again, and nothing of Kit's should verify it. */
function inspectRevoked(
  row: RegistrationRow,
  { approvalId, linked, kitClaim, verified, settled }: RowFacts,
): Finding | undefined {
  if (approvalId && linked) {
    // The registration after the new approval was never queued, or was lost.
    if (!settled) return undefined;
    return {
      kind: "approved_again",
      message: "its owner is approved again but the wallet was not registered; registration queued",
      status: "pending",
      job: { name: "kyc.onchain.register", data: { applicationId: approvalId, wallet: row.wallet } },
    };
  }
  if (kitClaim) {
    return {
      kind: "claim_after_revoke",
      message: "Kit's KYC claim is back on the identity after Kit revoked it; revocation queued again",
      status: "pending",
      job: { name: "kyc.onchain.revoke", data: { applicationId: row.applicationId } },
    };
  }
  if (verified) {
    // Through another trusted issuer's claim: not Kit's to remove, but its owner is not approved here.
    return {
      kind: "verified_after_revoke",
      message: "verified again on chain through a claim that is not Kit's, although Kit revoked its own",
      status: "revoked",
    };
  }
  return undefined;
}

/** Kit's claim (its issuer, the KYC topic) on `identity`: its data, or undefined when absent. */
async function kitClaimOn(chain: EligibilityChain, identity: Address): Promise<Hex | undefined> {
  const [, , issuer, , data] = await chain.clients.publicClient.readContract({
    address: identity,
    abi: identityAbi,
    functionName: "getClaim",
    args: [claimIdOf(chain.claimIssuer, chain.topic)],
  });
  return issuer.toLowerCase() === chain.claimIssuer.toLowerCase() ? data : undefined;
}

/**
 * Records the finding on the row if it is still as read (a job that changed it meanwhile knows
 * better). False when nothing changed: the row moved on, or this finding is already recorded
 * (a drift Kit does not repair is counted and logged once, not every run).
 */
async function flag(deps: ReconcileDeps, row: RegistrationRow, finding: Finding): Promise<boolean> {
  const error = `reconciliation: ${finding.message}`;
  if (!finding.job && row.error === error) return false;
  const [updated] = await deps.db
    .update(kycOnchainRegistrations)
    .set({ status: finding.status, error, attempts: 0, updatedAt: new Date() })
    .where(
      and(
        eq(kycOnchainRegistrations.id, row.id),
        eq(kycOnchainRegistrations.status, row.status),
        eq(kycOnchainRegistrations.updatedAt, row.updatedAt),
      ),
    )
    .returning({ id: kycOnchainRegistrations.id });
  return updated !== undefined;
}
