// What a reviewer says of an application in review besides the decision: its risk level (low,
// medium or high, with a reason; reviewers only; the queue filters on it; a high risk needs a
// second approver, decisions.ts), and per-document feedback (one document rejected with a label and
// a message the applicant reads; they replace just that one, and `submit` waits for it).
import { and, eq, isNull } from "drizzle-orm";
import { KitError } from "../../errors";
import type { CallerUser } from "../auth/session";
import type { Requester } from "./access-log";
import type { RejectDocumentInput, ReviewDetail, SetRiskInput } from "./contract-review";
import type { KycDocument } from "./contract-shapes";
import { type ApplicationRow, assertVersion, type KycDeps, statusWords } from "./lifecycle";
import { presentDocument } from "./present";
import { getReview, inStatusTransaction, lockForReview } from "./review";
import { kycApplications, kycDocuments } from "./schema";

function assertInReviewBy(row: Pick<ApplicationRow, "status" | "reviewerId">, reviewer: CallerUser, what: string) {
  if (row.status !== "in_review") {
    throw new KitError(
      "CONFLICT",
      `The application is ${statusWords(row.status)}; ${what} while it is in review${
        row.status === "submitted" ? " (claim it first)" : ""
      }.`,
    );
  }
  if (row.reviewerId !== reviewer.id && reviewer.role !== "admin") {
    throw new KitError(
      "FORBIDDEN",
      "The application is claimed by another reviewer; only they (or an admin) can do this.",
    );
  }
}

/**
 * Procedure kyc.review.rejectDocument: marks one confirmed document of an application in review as
 * rejected, with a label and a message for the applicant. The reviewer then asks for changes; the
 * applicant removes that document and uploads another (the others stay), and `submit` lists it as
 * missing until they do.
 */
export async function rejectDocument(
  deps: KycDeps,
  reviewer: CallerUser,
  input: RejectDocumentInput,
  requester: Requester,
): Promise<KycDocument> {
  const notFound = new KitError("NOT_FOUND", `No document ${input.documentId} in a submitted application.`);
  const [found] = await deps.db
    .select({ applicationId: kycDocuments.applicationId })
    .from(kycDocuments)
    .where(and(eq(kycDocuments.id, input.documentId), isNull(kycDocuments.deletingAt)));
  if (!found) throw notFound;
  return inStatusTransaction(deps, async (tx) => {
    const row = await lockForReview(tx, reviewer, found.applicationId, requester);
    assertInReviewBy(row, reviewer, "a document is rejected");
    const [document] = await tx
      .update(kycDocuments)
      .set({
        feedbackLabel: input.label,
        feedbackMessage: input.messageToApplicant ?? null,
        feedbackBy: reviewer.id,
        feedbackAt: new Date(),
      })
      .where(and(eq(kycDocuments.id, input.documentId), isNull(kycDocuments.deletingAt)))
      .returning();
    if (!document) throw notFound;
    if (!document.confirmedAt) {
      throw new KitError("CONFLICT", "The document's upload was never confirmed; there is nothing to reject.");
    }
    return presentDocument(document);
  });
}

/** Procedure kyc.review.setRisk: the assigned reviewer (or an admin) sets it while the application is in review. */
export async function setRisk(
  deps: KycDeps,
  reviewer: CallerUser,
  input: SetRiskInput,
  requester: Requester,
): Promise<ReviewDetail> {
  await inStatusTransaction(deps, async (tx) => {
    const row = await lockForReview(tx, reviewer, input.applicationId, requester);
    if (row.status !== "in_review") {
      throw new KitError(
        "CONFLICT",
        `The application is ${statusWords(row.status)}; a risk level is set while it is in review${
          row.status === "submitted" ? " (claim it first)" : ""
        }.`,
      );
    }
    if (row.reviewerId !== reviewer.id && reviewer.role !== "admin") {
      throw new KitError(
        "FORBIDDEN",
        "The application is claimed by another reviewer; only they (or an admin) can assess its risk.",
      );
    }
    assertVersion(input.version, row.version);
    await tx
      .update(kycApplications)
      .set({ riskLevel: input.level, riskReason: input.reason, riskSetBy: reviewer.id, riskSetAt: new Date() })
      .where(eq(kycApplications.id, row.id));
  });
  return getReview(deps, reviewer, input.applicationId, requester);
}
