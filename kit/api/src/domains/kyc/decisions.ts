// A reviewer's decisions: approve, reject or ask for changes on an application in review, and
// revoke an approval. Each decision carries two texts: the internal note (reviewers only) and the
// message to the applicant (the only text the applicant, their notification and their e-mail ever
// carry: a "sanctions hit" told to the applicant would tip them off). The older `reason` is read as
// the internal note.
import { KitError } from "../../errors";
import type { CallerUser } from "../auth/session";
import { kickDispatcher } from "../notifications/record";
import { getSystemSettings } from "../settings/service";
import type { Requester } from "./access-log";
import type { DecideInput, RevokeInput } from "./contract-review";
import type { Application } from "./contract-shapes";
import type { KycStatus } from "./contract-values";
import {
  type ApplicationRow,
  announceStatusChange,
  assertVersion,
  changeStatus,
  type KycDeps,
  statusWords,
} from "./lifecycle";
import { recordStatusNotice } from "./notices";
import { queueEligibilityJob } from "./onchain-queue";
import { inStatusTransaction, lockForReview, type OnchainQueue, present, type ReviewDeps } from "./review";
import { kycFreezes } from "./schema";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The two texts of a decision, `reason` read as the internal note. */
function textsOf(input: { internalNote?: string; messageToApplicant?: string; reason?: string }) {
  return { note: input.internalNote ?? input.reason ?? null, message: input.messageToApplicant ?? null };
}

const DECISION_STATUS = {
  approve: "approved",
  reject: "rejected",
  request_changes: "changes_requested",
} as const satisfies Record<DecideInput["decision"], KycStatus>;

/** Who may decide `row` now, and how: CONFLICT, FORBIDDEN or nothing. */
function assertMayDecide(row: ApplicationRow, reviewer: CallerUser): void {
  if (row.status === "approval_pending") {
    // Two-person rule: the second approver is anyone who may decide, except the first (and the applicant).
    if (row.firstApproverId === reviewer.id) {
      throw new KitError(
        "FORBIDDEN",
        "You gave the first approval: two-person rule, a different reviewer must give the second (or reject).",
      );
    }
    return;
  }
  if (row.status !== "in_review") {
    throw new KitError(
      "CONFLICT",
      `The application is ${statusWords(row.status)}; only an application in review or awaiting a second approval can be decided${
        row.status === "submitted" ? " (claim it first)" : ""
      }.`,
    );
  }
  if (row.reviewerId !== reviewer.id && reviewer.role !== "admin") {
    throw new KitError(
      "FORBIDDEN",
      "The application is claimed by another reviewer; only they (or an admin) can decide it.",
    );
  }
}

/** How many approvals an application in review needs: the system setting, and always 2 for a high risk. */
function approvalsNeeded(row: ApplicationRow, setting: number): number {
  return row.riskLevel === "high" ? 2 : Math.max(1, Math.min(2, setting));
}

/**
 * Decides an application in review (the assigned reviewer, or an admin in their place: the history
 * names the admin) or one awaiting a second approval (any other reviewer who may decide). With two
 * approvals required, the first approval moves it to approval_pending — no notification, nothing
 * on chain —; the second makes it approved. The row lock makes racing deciders queue up: one wins,
 * the others see what it did (CONFLICT).
 */
export async function decideApplication(
  deps: ReviewDeps,
  reviewer: CallerUser,
  input: DecideInput,
  requester: Requester,
): Promise<Application> {
  // Read before the transaction: it may fill the settings cache, which needs no row lock held.
  const { kycValidityDays, kycApprovalsRequired } = await getSystemSettings(deps);
  const change = await inStatusTransaction(deps, async (tx) => {
    const row = await lockForReview(tx, reviewer, input.applicationId, requester);
    assertMayDecide(row, reviewer);
    assertVersion(input.version, row.version);
    const now = new Date();
    const { note, message } = textsOf(input);
    // Fixed at the first approval: a change of the setting or of the risk later does not move it.
    const required = row.status === "approval_pending" ? 2 : approvalsNeeded(row, kycApprovalsRequired);
    if (input.decision === "approve" && row.status === "in_review") {
      if (required === 2) {
        return changeStatus(tx, row, "approval_pending", {
          actorId: reviewer.id,
          reason: note,
          record: { messageToApplicant: message },
          set: {
            approvalsRequired: 2,
            firstApproverId: reviewer.id,
            firstApprovedAt: now,
            internalNote: note,
            decisionReason: message,
          },
        });
      }
    }
    const labels = input.labels ?? null;
    const final = input.decision === "reject" ? (input.final ?? false) : null;
    const change = await changeStatus(tx, row, DECISION_STATUS[input.decision], {
      actorId: reviewer.id,
      reason: note,
      record: { messageToApplicant: message, labels, final },
      set: {
        decidedAt: now,
        // The second approver's message, or else the first's.
        decisionReason: message ?? (row.status === "approval_pending" ? row.decisionReason : null),
        internalNote: note,
        rejectionLabels: labels,
        rejectionFinal: final === true,
        approvalsRequired: input.decision === "approve" ? required : row.approvalsRequired,
        expiresAt: input.decision === "approve" ? new Date(now.getTime() + kycValidityDays * DAY_MS) : null,
      },
    });
    // The applicant's notification commits with the decision or not at all; it carries the message only.
    await recordStatusNotice(tx, change, change.application.decisionReason);
    return change;
  });
  await announceStatusChange(deps, change);
  await kickDispatcher(deps);
  if (change.application.status === "approved") {
    await queueEligibilityJob(deps, "kyc.onchain.register", { applicationId: change.application.id });
  }
  return present(deps, change.application);
}

/**
 * approved → revoked (a sanctions hit, a forgery found later). Any reviewer who may decide. A
 * sanctions or fraud revocation also opens a freeze case, in the same transaction: the revocation
 * job then freezes every wallet of the applicant on every Kit token before it removes Kit's claim.
 */
export async function revokeApplication(
  deps: KycDeps & OnchainQueue,
  reviewer: CallerUser,
  input: RevokeInput,
  requester: Requester,
): Promise<Application> {
  const category = input.category ?? "other";
  const { note, message } = textsOf(input);
  const change = await inStatusTransaction(deps, async (tx) => {
    const row = await lockForReview(tx, reviewer, input.applicationId, requester);
    if (row.status !== "approved") {
      throw new KitError(
        "CONFLICT",
        `The application is ${statusWords(row.status)}; only an approved application can be revoked.`,
      );
    }
    const change = await changeStatus(tx, row, "revoked", {
      actorId: reviewer.id,
      reason: note,
      record: { messageToApplicant: message },
      set: { decidedAt: new Date(), decisionReason: message, internalNote: note },
    });
    if (category !== "other") {
      await tx
        .insert(kycFreezes)
        .values({ applicationId: row.id, userId: row.userId, category, frozenBy: reviewer.id });
    }
    await recordStatusNotice(tx, change, message);
    return change;
  });
  await announceStatusChange(deps, change);
  await kickDispatcher(deps);
  await queueEligibilityJob(deps, "kyc.onchain.revoke", { applicationId: change.application.id });
  return present(deps, change.application);
}
