// The reviewer's risk assessment of an application in review: low, medium or high, with a reason
// (reviewers only). The queue filters on it; a high risk needs a second approver (decisions.ts).
import { eq } from "drizzle-orm";
import { KitError } from "../../errors";
import type { CallerUser } from "../auth/session";
import type { Requester } from "./access-log";
import type { ReviewDetail, SetRiskInput } from "./contract-review";
import { assertVersion, type KycDeps, statusWords } from "./lifecycle";
import { getReview, inStatusTransaction, lockForReview } from "./review";
import { kycApplications } from "./schema";

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
