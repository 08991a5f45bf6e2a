// KYC's notification events (notification-catalogue.ts), recorded in the transaction of
// the change they tell of: a status change (submitted, changes requested, approved, rejected,
// revoked), an approval's 30- and 7-day notices, and the reviewers' digest of the queue. The two
// scheduled ones record each notice once, whatever the number of runs (a dedupe key per
// application and threshold, per day for the digest).
import { and, asc, count, eq, gt, lte, min } from "drizzle-orm";
import type { JobQueue } from "../../deps";
import type { Database, Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { kickDispatcher, recordNotification } from "../notifications/record";
import type { StatusChange } from "./lifecycle";
import type { RegistrationRow } from "./onchain-records";
import { kycApplications, kycOnchainRegistrations } from "./schema";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The applicant's event for a status change, in its transaction (nothing for the changes nobody is
 * told of: claimed, expired). `message` is what the reviewer wrote for the applicant.
 */
export async function recordStatusNotice(tx: Transaction, change: StatusChange, message: string | null) {
  const { application } = change;
  const subject = { subject: application.userId };
  const applicationId = application.id;
  switch (application.status) {
    case "submitted":
      return recordNotification(tx, "kyc.submitted", subject, { applicationId });
    case "changes_requested":
      return recordNotification(tx, "kyc.changes_requested", subject, { applicationId, message });
    case "approved":
      return recordNotification(tx, "kyc.approved", subject, {
        applicationId,
        expiresAt: (application.expiresAt ?? new Date()).toISOString(),
      });
    case "rejected":
      return recordNotification(tx, "kyc.rejected", subject, { applicationId, message });
    case "revoked":
      return recordNotification(tx, "kyc.revoked", subject, { applicationId, message });
    default:
      return null;
  }
}

interface NoticeDeps {
  db: Database;
  jobs?: JobQueue;
  log?: Logger;
}

/** Approvals ending within a threshold, per run at most this many (the next run takes the rest). */
const NOTICE_BATCH = 1_000;

/**
 * Tells each approved applicant once when 30 days are left, and once more at 7 (an approval given
 * for less than 30 days gets the notice of the threshold it is under). Idempotent.
 */
export async function recordExpiryNotices(deps: NoticeDeps, now = new Date()): Promise<{ recorded: number }> {
  let recorded = 0;
  for (const daysLeft of [7, 30] as const) {
    recorded += await deps.db.transaction(async (tx) => {
      const due = await tx
        .select({ id: kycApplications.id, userId: kycApplications.userId, expiresAt: kycApplications.expiresAt })
        .from(kycApplications)
        .where(
          and(
            eq(kycApplications.status, "approved"),
            gt(kycApplications.expiresAt, now),
            lte(kycApplications.expiresAt, new Date(now.getTime() + daysLeft * DAY_MS)),
            // The 30-day notice is for approvals not yet within 7 days.
            ...(daysLeft === 30 ? [gt(kycApplications.expiresAt, new Date(now.getTime() + 7 * DAY_MS))] : []),
          ),
        )
        .orderBy(asc(kycApplications.expiresAt))
        .limit(NOTICE_BATCH);
      let n = 0;
      for (const row of due) {
        const id = await recordNotification(
          tx,
          "kyc.approval_expiring",
          { subject: row.userId },
          { applicationId: row.id, expiresAt: (row.expiresAt as Date).toISOString(), daysLeft },
          { dedupeKey: `kyc.approval_expiring:${row.id}:${daysLeft}` },
        );
        if (id) n += 1;
      }
      return n;
    });
  }
  if (recorded > 0) await kickDispatcher(deps);
  return { recorded };
}

/** The reviewers' digest: how many applications wait to be claimed, and since when. Once a day, when any wait. */
export async function recordQueueDigest(deps: NoticeDeps, now = new Date()): Promise<{ waiting: number }> {
  const recorded = await deps.db.transaction(async (tx) => {
    const [queue] = await tx
      .select({ waiting: count(), oldest: min(kycApplications.submittedAt) })
      .from(kycApplications)
      .where(eq(kycApplications.status, "submitted"));
    const waiting = queue?.waiting ?? 0;
    if (waiting === 0) return { waiting, id: null };
    const id = await recordNotification(
      tx,
      "kyc.queue_digest",
      {},
      { waiting, oldestSubmittedAt: queue?.oldest?.toISOString() ?? null },
      { dedupeKey: `kyc.queue_digest:${now.toISOString().slice(0, 10)}` },
    );
    return { waiting, id };
  });
  if (recorded.id) await kickDispatcher(deps);
  return { waiting: recorded.waiting };
}

/**
 * A registration's last try failed: the row says so and, if it was not failed already, its owner
 * hears of it, in one transaction.
 */
export async function failRegistration(
  db: Database,
  id: string,
  set: Pick<Partial<RegistrationRow>, "error" | "lastTxHash">,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [before] = await tx
      .select({ status: kycOnchainRegistrations.status })
      .from(kycOnchainRegistrations)
      .where(eq(kycOnchainRegistrations.id, id))
      .for("update");
    const [row] = await tx
      .update(kycOnchainRegistrations)
      .set({ ...set, status: "failed", updatedAt: new Date() })
      .where(eq(kycOnchainRegistrations.id, id))
      .returning();
    if (!row || before?.status === "failed") return;
    await recordNotification(
      tx,
      "wallet.eligibility_failed",
      { subject: row.userId },
      { wallet: row.wallet, chainId: row.chainId, reason: row.error ?? "the registration failed" },
    );
  });
}
