// Lifting a final rejection's block: a final rejection blocks new applications by its applicant
// (applications.ts, assertMayStartApplication) until an admin lifts it, with a reason kept on the
// application and in the audit trail. A retry rejection blocks nothing.
import { desc, eq } from "drizzle-orm";
import { KitError } from "../../errors";
import { type AuditActor, recordAudit } from "../audit/record";
import type { CallerUser } from "../auth/session";
import type { Requester } from "./access-log";
import type { LiftBlockInput, ReviewDetail } from "./contract-review";
import type { KycDeps } from "./lifecycle";
import { getReview } from "./review";
import { ERASED_TEXT, kycApplications } from "./schema";

/**
 * Procedure kyc.review.liftBlock: the applicant of a final rejection may apply again. Who, when and
 * why stay on the application; an audit event records it in the same transaction. Nobody lifts the
 * block on their own application.
 */
export async function liftRejectionBlock(
  deps: KycDeps,
  admin: CallerUser,
  input: LiftBlockInput,
  audit: AuditActor,
  requester: Requester,
): Promise<ReviewDetail> {
  await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(kycApplications)
      .where(eq(kycApplications.id, input.applicationId))
      .orderBy(desc(kycApplications.createdAt))
      .for("update");
    if (!row || row.status === "draft") {
      throw new KitError("NOT_FOUND", `No submitted KYC application ${input.applicationId}; check the id.`);
    }
    if (row.userId === admin.id) {
      throw new KitError("FORBIDDEN", "This is your own KYC application: four-eyes rule, another admin must lift it.");
    }
    if (!row.rejectionFinal) {
      throw new KitError(
        "CONFLICT",
        "This application was not rejected as final, so nothing blocks its applicant from applying again.",
      );
    }
    if (row.blockLiftedAt) {
      throw new KitError(
        "CONFLICT",
        `The block was already lifted on ${row.blockLiftedAt.toISOString()}; the applicant may apply again.`,
      );
    }
    await tx
      .update(kycApplications)
      // An erased application keeps no free text: the lift is in the audit trail, its reason is not.
      .set({
        blockLiftedAt: new Date(),
        blockLiftedBy: admin.id,
        blockLiftReason: row.erasedAt ? ERASED_TEXT : input.reason,
      })
      .where(eq(kycApplications.id, row.id));
    await recordAudit(tx, audit, {
      action: "kyc.rejection_block_lifted",
      subject: { type: "kyc_application", id: row.id },
      before: { status: row.status, final: true, labels: row.rejectionLabels },
      after: { blockLifted: true },
    });
  });
  deps.log.info({ applicationId: input.applicationId, liftedBy: admin.id }, "final rejection's block lifted");
  return getReview(deps, admin, input.applicationId, requester);
}
