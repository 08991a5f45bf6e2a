// The reviewer's side: read an application, claim it, decide it, revoke an approval, fetch its
// documents; and the job that expires approvals. Four eyes throughout: nobody reviews their own
// application, whatever their role. Every status change goes through `changeStatus` inside a
// transaction that first locks the row (so concurrent reviewers queue up and the later one sees
// what the earlier one did, with a precise CONFLICT); events go out only after the commit.
import { and, asc, eq, lte } from "drizzle-orm";
import type { JobQueue } from "../../deps";
import { KitError } from "../../errors";
import { PG_CHECK_VIOLATION, postgresError, type Transaction } from "../../infra/db";
import { user } from "../auth/schema";
import type { CallerUser } from "../auth/session";
import type { SettingsDeps } from "../settings/service";
import { type Requester, recordAccess } from "./access-log";
import { liveDocuments } from "./applications";
import type { ReviewDetail } from "./contract-review";
import type { Application, DownloadUrl } from "./contract-shapes";
import { cipherForPresenting } from "./data-keys";
import { documentDownloadLink } from "./document-download";
import type { KycDocumentDeps } from "./documents";
import { listFreezes } from "./freeze-cases";
import {
  type ApplicationRow,
  announceStatusChange,
  changeStatus,
  type KycDeps,
  type StatusChange,
  statusWords,
} from "./lifecycle";
import { queueEligibilityJob } from "./onchain-queue";
import { listRegistrations } from "./onchain-status";
import { presentApplication, presentDocument } from "./present";
import { kycApplications, kycDocuments, kycStatusHistory } from "./schema";

/** `decide` reads the validity period from the system settings. */
export type ReviewDeps = KycDeps & Pick<SettingsDeps, "config"> & OnchainQueue;
/** Where approvals and revocations queue their on-chain jobs (absent: nothing is queued). */
export type OnchainQueue = { jobs?: JobQueue };

/** Bounds one expiry transaction (row locks held, history rows written) whatever the backlog. */
const EXPIRY_BATCH = 500;

function notFound(applicationId: string): KitError {
  // Drafts answer exactly like unknown ids: a draft is the applicant's private work.
  return new KitError("NOT_FOUND", `No submitted KYC application ${applicationId}; check the id in the queue.`);
}

function assertNotOwn(reviewer: CallerUser, application: Pick<ApplicationRow, "userId">): void {
  if (application.userId === reviewer.id) {
    throw new KitError(
      "FORBIDDEN",
      "This is your own KYC application: four-eyes rule, another reviewer must handle it.",
    );
  }
}

/**
 * A `check_violation` from the status trigger or a CHECK constraint means the change is not
 * allowed in the row's current state. `changeStatus` refuses illegal edges before the database
 * sees them; this backstop keeps a race or a gap in that logic from answering 500.
 */
export async function inStatusTransaction<T>(deps: KycDeps, work: (tx: Transaction) => Promise<T>): Promise<T> {
  try {
    return await deps.db.transaction(work);
  } catch (error) {
    if (postgresError(error)?.code === PG_CHECK_VIOLATION) {
      deps.log.warn({ err: error }, "KYC status change refused by the database");
      throw new KitError(
        "CONFLICT",
        "The application cannot make this change in its current status; reload it and try again.",
      );
    }
    throw error;
  }
}

/**
 * The application row, locked until the transaction ends; NOT_FOUND for drafts, FORBIDDEN for one's
 * own. The answer will carry the row's decrypted personal data, so the view is recorded here, in
 * the same transaction as the change.
 */
export async function lockForReview(
  tx: Transaction,
  reviewer: CallerUser,
  applicationId: string,
  requester: Requester,
): Promise<ApplicationRow> {
  const [row] = await tx.select().from(kycApplications).where(eq(kycApplications.id, applicationId)).for("update");
  if (!row || row.status === "draft") throw notFound(applicationId);
  assertNotOwn(reviewer, row);
  await recordAccess(tx, { kind: "application_view", applicationId, userId: reviewer.id, requester });
  return row;
}

export async function present(deps: KycDeps, row: ApplicationRow): Promise<Application> {
  const cipher = await cipherForPresenting(deps.db, deps.local.piiKeyring, row);
  return presentApplication(cipher, row, await liveDocuments(deps.db, row.id));
}

// ---------------------------------------------------------------------------------------------

/** The reviewers' side of the last decision (never part of what the applicant is shown). */
function decisionRecord(row: ApplicationRow): ReviewDetail["decision"] {
  return {
    internalNote: row.internalNote,
    messageToApplicant: row.decisionReason,
    labels: row.rejectionLabels,
    final: row.rejectionFinal,
    blockLifted:
      row.blockLiftedAt && row.blockLiftedBy && row.blockLiftReason
        ? { at: row.blockLiftedAt.toISOString(), by: row.blockLiftedBy, reason: row.blockLiftReason }
        : null,
  };
}

function riskOf(row: ApplicationRow): ReviewDetail["risk"] {
  return row.riskLevel && row.riskReason && row.riskSetBy && row.riskSetAt
    ? { level: row.riskLevel, reason: row.riskReason, setBy: row.riskSetBy, setAt: row.riskSetAt.toISOString() }
    : null;
}

/** One application for a reviewer, personal data decrypted; the view is recorded (kyc_document_access). */
export async function getReview(
  deps: KycDeps,
  reviewer: CallerUser,
  applicationId: string,
  requester: Requester,
): Promise<ReviewDetail> {
  const [found] = await deps.db
    .select({ application: kycApplications, applicant: { id: user.id, name: user.name, email: user.email } })
    .from(kycApplications)
    .innerJoin(user, eq(user.id, kycApplications.userId))
    .where(eq(kycApplications.id, applicationId));
  if (!found || found.application.status === "draft") throw notFound(applicationId);
  assertNotOwn(reviewer, found.application);

  const [documents, history, onchain, freezes] = await Promise.all([
    liveDocuments(deps.db, applicationId),
    deps.db
      .select()
      .from(kycStatusHistory)
      .where(eq(kycStatusHistory.applicationId, applicationId))
      .orderBy(asc(kycStatusHistory.id)),
    listRegistrations(deps.db, found.application.userId, "reviewer"),
    listFreezes(deps.db, found.application.userId),
  ]);
  const cipher = await cipherForPresenting(deps.db, deps.local.piiKeyring, found.application);
  const application = presentApplication(cipher, found.application, documents);
  // Recorded before the answer leaves: no view of personal data goes unrecorded.
  await recordAccess(deps.db, { kind: "application_view", applicationId, userId: reviewer.id, requester });
  return {
    application,
    // An erased application no longer says whose it was, beyond the pseudonymous user id.
    applicant: found.application.erasedAt ? { id: found.applicant.id, name: null, email: null } : found.applicant,
    erasedAt: found.application.erasedAt?.toISOString() ?? null,
    reviewerId: found.application.reviewerId,
    decision: decisionRecord(found.application),
    risk: riskOf(found.application),
    approval: {
      required: found.application.approvalsRequired,
      firstApproverId: found.application.firstApproverId,
      firstApprovedAt: found.application.firstApprovedAt?.toISOString() ?? null,
    },
    documents: documents.map(presentDocument),
    history: history.map((h) => ({
      fromStatus: h.fromStatus,
      toStatus: h.toStatus,
      actorId: h.actorId,
      internalNote: h.reason,
      messageToApplicant: h.messageToApplicant,
      reason: h.reason,
      labels: h.labels,
      final: h.final,
      at: h.at.toISOString(),
    })),
    onchain,
    freezes,
  };
}

/** submitted → in_review, assigned to the caller. Claiming one's own claim again is a no-op. */
export async function claimApplication(
  deps: KycDeps,
  reviewer: CallerUser,
  applicationId: string,
  requester: Requester,
): Promise<Application> {
  const outcome = await inStatusTransaction(deps, async (tx): Promise<StatusChange | ApplicationRow> => {
    const row = await lockForReview(tx, reviewer, applicationId, requester);
    if (row.status === "in_review") {
      if (row.reviewerId === reviewer.id) return row;
      throw new KitError("CONFLICT", "The application is already claimed by another reviewer; pick another one.");
    }
    if (row.status !== "submitted") {
      throw new KitError(
        "CONFLICT",
        `The application is ${statusWords(row.status)}; only a submitted application can be claimed.`,
      );
    }
    return changeStatus(tx, row, "in_review", {
      actorId: reviewer.id,
      set: { reviewerId: reviewer.id, claimedAt: new Date() },
    });
  });
  if ("previousStatus" in outcome) {
    await announceStatusChange(deps, outcome);
    return present(deps, outcome.application);
  }
  return present(deps, outcome);
}

/** A download URL for any applicant's confirmed document (not one's own); the access is logged. */
export async function getReviewDocumentUrl(
  deps: KycDocumentDeps,
  reviewer: CallerUser,
  documentId: string,
  requester: Requester,
): Promise<DownloadUrl> {
  const [found] = await deps.db
    .select({ document: kycDocuments, owner: kycApplications.userId, status: kycApplications.status })
    .from(kycDocuments)
    .innerJoin(kycApplications, eq(kycApplications.id, kycDocuments.applicationId))
    .where(eq(kycDocuments.id, documentId));
  if (!found || found.status === "draft" || found.document.deletingAt) {
    throw new KitError("NOT_FOUND", `No document ${documentId} in a submitted application.`);
  }
  assertNotOwn(reviewer, { userId: found.owner });
  if (!found.document.confirmedAt) {
    throw new KitError(
      "PRECONDITION_FAILED",
      "The document's upload was never confirmed, so its content is unchecked; it cannot be downloaded.",
    );
  }
  return documentDownloadLink(deps, found.document, reviewer.id, requester);
}

/**
 * Job kyc.expire-approvals: approvals past their expires_at become expired (history with no
 * actor, events after each commit). Batches lock with SKIP LOCKED, so two workers share the
 * backlog instead of waiting on each other, and a revocation in flight is simply left alone.
 */
export async function expireApprovals(deps: KycDeps & OnchainQueue): Promise<{ expired: number }> {
  let expired = 0;
  for (;;) {
    const changes = await inStatusTransaction(deps, async (tx) => {
      const due = await tx
        .select({ id: kycApplications.id, status: kycApplications.status, version: kycApplications.version })
        .from(kycApplications)
        .where(and(eq(kycApplications.status, "approved"), lte(kycApplications.expiresAt, new Date())))
        .orderBy(asc(kycApplications.expiresAt))
        .limit(EXPIRY_BATCH)
        .for("update", { skipLocked: true });
      const done: StatusChange[] = [];
      for (const row of due) {
        done.push(await changeStatus(tx, row, "expired", { actorId: null, reason: "validity ended" }));
      }
      return done;
    });
    for (const change of changes) {
      await announceStatusChange(deps, change);
      await queueEligibilityJob(deps, "kyc.onchain.revoke", { applicationId: change.application.id });
    }
    expired += changes.length;
    if (changes.length < EXPIRY_BATCH) return { expired };
  }
}
