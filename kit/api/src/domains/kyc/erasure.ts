// Erasing an application (docs/kyc.md, "Retention and erasure"): in one transaction, every personal
// field of the row cleared; the free texts that may name the person (internal notes, messages to
// the applicant, risk and lift reasons, document file names and feedback, the message in its
// notifications, mails and webhook deliveries) cleared or replaced; the row marked erased, its
// documents hidden and queued for deletion, and an audit event. What stays is the pseudonymous
// record: statuses and dates, rejection labels, who acted (user ids), the access log. The objects
// are deleted after the commit; one the store refuses stays queued (its row hidden, `deleting_at`
// set) and the kyc.clean-up-documents job deletes it, so the database says "erased" only with the
// deletions recorded as work to finish.
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { KitError } from "../../errors";
import type { Transaction } from "../../infra/db";
import { type AuditActor, recordAudit } from "../audit/record";
import { clearApplicationMailMessages } from "../mail/erasure";
import { clearApplicationMessages } from "../notifications/erasure";
import type { SettingsDeps } from "../settings/service";
import { clearApplicationDeliveryMessages } from "../webhooks/erasure";
import { destroyApplicationDataKey } from "./data-keys";
import { finishRemoval } from "./document-removal";
import { describe } from "./document-store";
import type { KycDocumentDeps } from "./documents";
import type { ApplicationRow } from "./lifecycle";
import {
  earliestErasure,
  type RetentionPolicy,
  relationshipOf,
  retentionDutyMessage,
  retentionPolicy,
} from "./retention";
import { ERASED_TEXT, kycApplications, kycDocuments, kycFreezes, kycStatusHistory } from "./schema";

/** Why an application is erased (in the audit event). */
export type ErasureReason = "user_request" | "draft_retention" | "record_retention" | "restored_backup";

export interface ErasedApplication {
  applicationId: string;
  /** Documents whose objects are to be deleted after the commit. */
  documents: (typeof kycDocuments.$inferSelect)[];
  /** False when its data key was destroyed already (an erasure re-applied after a restore). */
  dataKeyDestroyed: boolean;
}

/**
 * Erases one application inside the caller's transaction, after checking that no retention duty
 * forbids it (retention.ts): NOT_FOUND, CONFLICT when already erased, PRECONDITION_FAILED naming
 * the earliest date while a duty holds. Call `deleteErasedObjects` after the commit.
 */
export async function eraseApplicationIn(
  tx: Transaction,
  input: { applicationId: string; actor: AuditActor; reason: ErasureReason; policy: RetentionPolicy },
): Promise<ErasedApplication> {
  const { applicationId } = input;
  const [row] = await tx.select().from(kycApplications).where(eq(kycApplications.id, applicationId)).for("update");
  if (!row) throw new KitError("NOT_FOUND", `No KYC application ${applicationId}; check the id.`);
  if (row.erasedAt) {
    throw new KitError(
      "CONFLICT",
      `KYC application ${applicationId} was already erased on ${row.erasedAt.toISOString()}.`,
    );
  }
  await assertNoRetentionDuty(tx, row, input.policy);
  return clearApplication(tx, row, input.actor, input.reason);
}

/**
 * What erasing does to an application row the caller has locked, once erasure was decided: also for
 * re-applying, after a restore, an erasure the backup predates (erasure-ledger.ts), so that neither
 * the data key nor the columns kept in clear (names, address) come back.
 */
export async function clearApplication(
  tx: Transaction,
  row: ApplicationRow,
  actor: AuditActor,
  reason: ErasureReason,
): Promise<ErasedApplication> {
  const applicationId = row.id;
  const erasedAt = new Date();
  await tx
    .update(kycApplications)
    .set({
      firstName: null,
      lastName: null,
      nationality: null,
      countryOfResidence: null,
      residencyStatus: null,
      address: null,
      taxResidencies: null,
      dateOfBirthEncrypted: null,
      nationalIdEncrypted: null,
      piiKeyId: null,
      decisionReason: null,
      internalNote: null,
      riskReason: row.riskReason === null ? null : ERASED_TEXT,
      blockLiftReason: row.blockLiftReason === null ? null : ERASED_TEXT,
      erasedAt,
    })
    .where(eq(kycApplications.id, applicationId));
  // The data key goes in this transaction, exactly when the row says erased: a backup taken before
  // keeps only ciphertext that nothing opens once the ledger is applied (docs/security.md).
  const key = await destroyApplicationDataKey(tx, applicationId);
  // The history keeps statuses, actors, labels and times; its notes and messages go (the trigger
  // allows exactly this once the application is erased).
  await tx
    .update(kycStatusHistory)
    .set({ reason: null, messageToApplicant: null })
    .where(
      and(
        eq(kycStatusHistory.applicationId, applicationId),
        sql`(${kycStatusHistory.reason} is not null or ${kycStatusHistory.messageToApplicant} is not null)`,
      ),
    );
  await tx
    .update(kycFreezes)
    .set({ liftReason: ERASED_TEXT })
    .where(and(eq(kycFreezes.applicationId, applicationId), isNotNull(kycFreezes.liftedAt)));
  const documents = await tx
    .update(kycDocuments)
    .set({ deletingAt: sql`coalesce(${kycDocuments.deletingAt}, now())`, fileName: ERASED_TEXT, feedbackMessage: null })
    .where(eq(kycDocuments.applicationId, applicationId))
    .returning();
  await clearApplicationMessages(tx, applicationId);
  await clearApplicationMailMessages(tx, applicationId);
  await clearApplicationDeliveryMessages(tx, applicationId);
  await recordAudit(tx, actor, {
    action: "kyc.application_erased",
    subject: { type: "kyc_application", id: applicationId },
    before: { status: row.status, documents: documents.length },
    after: { erasedAt: erasedAt.toISOString(), reason, dataKeyDestroyed: key.destroyed },
  });
  return { applicationId, documents, dataKeyDestroyed: key.destroyed };
}

async function assertNoRetentionDuty(tx: Transaction, row: ApplicationRow, policy: RetentionPolicy): Promise<void> {
  // A draft was never submitted: no duty to keep it.
  if (row.status === "draft") return;
  const state = await relationshipOf(tx, row.userId);
  const earliest = earliestErasure(state, policy);
  if (earliest) throw new KitError("PRECONDITION_FAILED", retentionDutyMessage(state, policy, earliest));
}

/**
 * After the commit: deletes the erased applications' objects (then their rows). Never throws: a
 * failure leaves the row hidden and queued, and the clean-up job finishes it.
 */
export async function deleteErasedObjects(deps: KycDocumentDeps, erased: ErasedApplication[]): Promise<number> {
  let failed = 0;
  for (const document of erased.flatMap((e) => e.documents)) {
    try {
      await finishRemoval(deps, document);
    } catch (error) {
      failed++;
      deps.log.warn(
        { err: describe(error), documentId: document.id },
        "erased document's object not deleted yet; the clean-up job retries",
      );
    }
  }
  return failed;
}

/**
 * Erases one application (its own transaction), then deletes its objects: for an operator or a job
 * acting on one application. The retention duty is checked as for a request.
 */
export async function eraseApplication(
  deps: KycDocumentDeps & SettingsDeps,
  input: { applicationId: string; actor: AuditActor; reason: ErasureReason; policy?: RetentionPolicy },
): Promise<{ applicationId: string; documents: number; objectsPending: number }> {
  const policy = input.policy ?? (await retentionPolicy(deps));
  const erased = await deps.db.transaction((tx) => eraseApplicationIn(tx, { ...input, policy }));
  const objectsPending = await deleteErasedObjects(deps, [erased]);
  deps.log.info({ applicationId: input.applicationId, reason: input.reason }, "kyc application erased");
  return { applicationId: input.applicationId, documents: erased.documents.length, objectsPending };
}

/** The user's applications not yet erased (ids), oldest first. */
export async function unerasedApplications(tx: Transaction, userId: string): Promise<string[]> {
  const rows = await tx
    .select({ id: kycApplications.id })
    .from(kycApplications)
    .where(and(eq(kycApplications.userId, userId), isNull(kycApplications.erasedAt)))
    .orderBy(kycApplications.createdAt, kycApplications.id);
  return rows.map((r) => r.id);
}
