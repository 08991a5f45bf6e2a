// The on-chain side of an application as people see it (the applicant, reviewers), and the admin's
// retry of a registration that gave up. The jobs themselves live in onchain-register.ts and onchain-revoke.ts.
import { and, asc, eq } from "drizzle-orm";
import { getAddress } from "viem";
import type { Config } from "../../config";
import type { JobQueue } from "../../deps";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { type AuditActor, recordAudit } from "../audit/record";
import type { OnchainRegistration } from "./contract-shapes";
import { currentApproval, isLinked, type RegistrationRow } from "./onchain-records";
import { kycOnchainRegistrations } from "./schema";

/** Who reads: a reviewer sees the operator's error text; the applicant a plain sentence. */
export type Audience = "applicant" | "reviewer";

const APPLICANT_ERROR =
  "Kit could not finish this step on chain yet; it is being looked into, and you need not do anything.";

function presentRegistration(row: RegistrationRow, audience: Audience): OnchainRegistration {
  return {
    wallet: getAddress(row.wallet),
    status: row.status,
    identity: row.identityAddress ? getAddress(row.identityAddress) : null,
    claimId: row.claimId,
    lastTxHash: row.lastTxHash,
    // Errors are short and secret-free (onchain-records.ts shortError), but they speak of nodes and
    // contracts: operators' words, not the applicant's.
    error: row.error === null ? null : audience === "reviewer" ? row.error : APPLICANT_ERROR,
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The user's wallets as Kit registered them, oldest first. */
export async function listRegistrations(
  db: Database,
  userId: string,
  audience: Audience,
): Promise<OnchainRegistration[]> {
  const rows = await db
    .select()
    .from(kycOnchainRegistrations)
    .where(eq(kycOnchainRegistrations.userId, userId))
    .orderBy(asc(kycOnchainRegistrations.createdAt), asc(kycOnchainRegistrations.wallet));
  return rows.map((row) => presentRegistration(row, audience));
}

export interface RetryDeps {
  config: Pick<Config, "chain">;
  db: Database;
  log: Logger;
  jobs: JobQueue;
}

const NOT_FAILED: Record<Exclude<RegistrationRow["status"], "failed">, string> = {
  pending: "it is already queued or in progress",
  registered: "the wallet is verified on chain; there is nothing to retry",
  revoked: "Kit's claim on it is revoked; a new approval registers it again",
  recovering: "a wallet recovery is moving its registration; it ends with the recovery",
  recovered: "its registration moved to another wallet of the same investor (a recovery); Kit never registers it again",
};

/**
 * Procedure kyc.onchain.retry: a `failed` row becomes `pending` and its job is queued again — the
 * registration while the wallet is eligible (owner approved, wallet linked), otherwise the
 * revocation (a failure then was one).
 */
export async function retryRegistration(
  deps: RetryDeps,
  walletInput: string,
  audit: AuditActor,
): Promise<OnchainRegistration> {
  const wallet = walletInput.toLowerCase();
  const rows = await deps.db.select().from(kycOnchainRegistrations).where(eq(kycOnchainRegistrations.wallet, wallet));
  // One chain in practice; the configured one first should a wallet have rows on several.
  const row = rows.find((r) => r.chainId === deps.config.chain.id) ?? rows[0];
  if (!row) {
    throw new KitError(
      "NOT_FOUND",
      `Kit has no on-chain registration for ${getAddress(wallet)}; one is made when the wallet's owner is approved.`,
    );
  }
  if (row.status !== "failed") {
    throw new KitError(
      "CONFLICT",
      `The on-chain registration of ${getAddress(wallet)} is ${row.status}, not failed: ${NOT_FAILED[row.status]}.`,
    );
  }

  // Compare-and-set: two admins retrying at once queue one job.
  const [claimed] = await deps.db
    .update(kycOnchainRegistrations)
    .set({ status: "pending", attempts: 0, updatedAt: new Date() })
    .where(and(eq(kycOnchainRegistrations.id, row.id), eq(kycOnchainRegistrations.status, "failed")))
    .returning();
  if (!claimed) {
    throw new KitError("CONFLICT", `The on-chain registration of ${getAddress(wallet)} changed meanwhile; reload it.`);
  }
  await recordAudit(deps.db, audit, {
    action: "job.retried",
    subject: { type: "kyc_onchain_registration", id: row.id },
    before: { status: "failed", attempts: row.attempts },
    after: { status: "pending", wallet },
  });

  // Eligible is approved and still linked: then the registration, else the revocation, as the jobs judge it.
  const approvalId = (await currentApproval(deps.db, row.userId))?.id;
  const [name, data] =
    approvalId && (await isLinked(deps.db, row.userId, wallet))
      ? (["kyc.onchain.register", { applicationId: approvalId, wallet }] as const)
      : (["kyc.onchain.revoke", { userId: row.userId, wallet }] as const);
  try {
    await deps.jobs.enqueue(name, data);
  } catch (error) {
    await deps.db
      .update(kycOnchainRegistrations)
      .set({ status: "failed", updatedAt: new Date() })
      .where(eq(kycOnchainRegistrations.id, row.id));
    deps.log.error({ err: error, job: name, wallet }, "could not queue the on-chain retry");
    throw new KitError("SERVICE_UNAVAILABLE", "The job queue is unavailable; try again in a minute.");
  }
  deps.log.info({ job: name, wallet, applicationId: row.applicationId }, "on-chain registration queued again");
  return presentRegistration(claimed, "reviewer");
}
