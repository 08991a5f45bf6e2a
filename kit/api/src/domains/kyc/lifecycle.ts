// The status graph and the one way an application changes status: a compare-and-set on (status,
// version) plus its history row, in the caller's transaction. What follows a commit (the pub/sub
// event) runs through `announceStatusChange`, only after commit.
// The database enforces the same graph (trigger in drizzle/0004_kyc.sql).
import { and, eq } from "drizzle-orm";
import type { Config } from "../../config";
import type { ProcessLocal } from "../../deps";
import { KitError } from "../../errors";
import type { Database, Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { KycStatus } from "./contract-values";
import { publishStatusEvent } from "./events";
import { kycApplications, kycStatusHistory } from "./schema";

export type ApplicationRow = typeof kycApplications.$inferSelect;

export interface KycDeps {
  config: Pick<Config, "kyc" | "redis">;
  db: Database;
  redis: Redis;
  log: Logger;
  local: Pick<ProcessLocal, "piiKeyring">;
}

export const TRANSITIONS: Record<KycStatus, readonly KycStatus[]> = {
  draft: ["submitted"],
  submitted: ["in_review"],
  in_review: ["approved", "approval_pending", "rejected", "changes_requested"],
  approval_pending: ["approved", "rejected", "changes_requested"],
  changes_requested: ["submitted"],
  approved: ["expired", "revoked"],
  rejected: [],
  expired: [],
  revoked: [],
};

/** "changes_requested" → "changes requested", for messages. */
export const statusWords = (status: KycStatus) => status.replace("_", " ");

function canTransition(from: KycStatus, to: KycStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses in which the applicant may still change data and documents. */
export function isEditable(status: KycStatus): boolean {
  return status === "draft" || status === "changes_requested";
}

/** What a decision adds to its history row: the applicant's message, labels, final or retry. */
export type HistoryExtras = Partial<
  Pick<typeof kycStatusHistory.$inferInsert, "messageToApplicant" | "labels" | "final">
>;

export interface StatusChange {
  application: ApplicationRow;
  previousStatus: KycStatus | null;
}

/**
 * Moves `current` to `to` if nobody changed it since it was read (same status and version), with
 * `set` applied to the same row and a history row written. CONFLICT when the edge is not in the
 * graph or the row moved meanwhile: the caller's transaction then rolls back whole.
 */
export async function changeStatus(
  tx: Transaction,
  current: Pick<ApplicationRow, "id" | "status" | "version">,
  to: KycStatus,
  change: { actorId: string | null; reason?: string | null; set?: Partial<ApplicationRow>; record?: HistoryExtras },
): Promise<StatusChange> {
  if (!canTransition(current.status, to)) {
    throw new KitError(
      "CONFLICT",
      `The application is ${statusWords(current.status)}; it cannot become ${statusWords(to)}.`,
    );
  }
  const [updated] = await tx
    .update(kycApplications)
    .set({ ...change.set, status: to })
    .where(
      and(
        eq(kycApplications.id, current.id),
        eq(kycApplications.status, current.status),
        eq(kycApplications.version, current.version),
      ),
    )
    .returning();
  if (!updated) {
    throw new KitError("CONFLICT", "The application changed while you were acting on it; reload it and try again.");
  }
  await tx.insert(kycStatusHistory).values({
    applicationId: current.id,
    fromStatus: current.status,
    toStatus: to,
    actorId: change.actorId,
    reason: change.reason ?? null,
    ...change.record,
  });
  return { application: updated, previousStatus: current.status };
}

/** Refuses a write based on a stale read: the caller saw `expected`, the row is at `actual`. */
export function assertVersion(expected: number | undefined, actual: number): void {
  if (expected !== undefined && expected !== actual) {
    throw new KitError(
      "CONFLICT",
      `The application is at version ${actual}, not ${expected}: it changed since you read it; reload it and try again.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// After commit: subscribers hear of the change.

/** Call after the transaction that made `change` committed. Never throws: the change is on record. */
export async function announceStatusChange(deps: KycDeps, change: StatusChange): Promise<void> {
  const { application } = change;
  await publishStatusEvent(deps, application.userId, {
    applicationId: application.id,
    status: application.status,
    previousStatus: change.previousStatus,
    reviewerId: application.reviewerId,
    version: application.version,
    at: application.updatedAt.toISOString(),
  });
}
