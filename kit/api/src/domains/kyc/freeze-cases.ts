// Freeze cases as people see and decide them: a revocation for sanctions or fraud opens one (in the
// revocation's transaction, review.ts), reviewers see it with each wallet's freeze per token, and an
// admin lifts it with a reason. The chain work that follows either is in freezes.ts.
import { and, asc, desc, eq, isNull } from "drizzle-orm";
import { getAddress } from "viem";
import type { JobQueue } from "../../deps";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { type AuditActor, recordAudit } from "../audit/record";
import type { CallerUser } from "../auth/session";
import type { LiftFreezeInput } from "./contract-onchain";
import type { Freezes } from "./contract-shapes";
import { kycFreezes, kycWalletFreezes } from "./schema";

export type FreezeCaseRow = typeof kycFreezes.$inferSelect;
export type WalletFreezeRow = typeof kycWalletFreezes.$inferSelect;

/** The user's newest open case, if any: while there is one, their wallets stay frozen. */
export async function openFreezeCase(db: Database, userId: string): Promise<FreezeCaseRow | undefined> {
  const [row] = await db
    .select()
    .from(kycFreezes)
    .where(and(eq(kycFreezes.userId, userId), isNull(kycFreezes.liftedAt)))
    .orderBy(desc(kycFreezes.createdAt))
    .limit(1);
  return row;
}

/** The user's cases (newest first) and every wallet freeze Kit recorded for them. */
export async function listFreezes(db: Database, userId: string): Promise<Freezes> {
  const [cases, wallets] = await Promise.all([
    db.select().from(kycFreezes).where(eq(kycFreezes.userId, userId)).orderBy(desc(kycFreezes.createdAt)),
    db
      .select()
      .from(kycWalletFreezes)
      .where(eq(kycWalletFreezes.userId, userId))
      .orderBy(asc(kycWalletFreezes.wallet), asc(kycWalletFreezes.token)),
  ]);
  return {
    cases: cases.map((row) => ({
      applicationId: row.applicationId,
      category: row.category,
      frozenBy: row.frozenBy,
      createdAt: row.createdAt.toISOString(),
      liftedAt: row.liftedAt?.toISOString() ?? null,
      liftedBy: row.liftedBy,
      liftReason: row.liftReason,
    })),
    wallets: wallets.map((row) => ({
      wallet: getAddress(row.wallet),
      token: getAddress(row.token),
      status: row.status,
      frozenBefore: row.frozenBefore,
      lastTxHash: row.lastTxHash,
      error: row.error,
      updatedAt: row.updatedAt.toISOString(),
    })),
  };
}

export interface LiftDeps {
  db: Database;
  log: Logger;
  jobs?: JobQueue;
}

/**
 * Procedure kyc.onchain.liftFreeze: the case is lifted (who, when, why: kept with it for good),
 * its wallets' freezes become `pending`, and `kyc.onchain.freeze` undoes the freezes Kit made —
 * unless another case of the user is still open. Nobody lifts a freeze on their own account.
 */
export async function liftFreeze(
  deps: LiftDeps,
  admin: CallerUser,
  input: LiftFreezeInput,
  audit: AuditActor = { userId: admin.id },
): Promise<Freezes> {
  const lifted = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(kycFreezes)
      .where(eq(kycFreezes.applicationId, input.applicationId))
      .for("update");
    if (!row) {
      throw new KitError(
        "NOT_FOUND",
        `Application ${input.applicationId} has no freeze: only a revocation for sanctions or fraud freezes wallets.`,
      );
    }
    if (row.userId === admin.id) {
      throw new KitError(
        "FORBIDDEN",
        "This freeze is on your own account: four-eyes rule, another admin must lift it.",
      );
    }
    if (row.liftedAt) {
      throw new KitError(
        "CONFLICT",
        `This freeze was already lifted on ${row.liftedAt.toISOString()}; there is nothing left to lift.`,
      );
    }
    const now = new Date();
    await tx
      .update(kycFreezes)
      .set({ liftedAt: now, liftedBy: admin.id, liftReason: input.reason })
      .where(eq(kycFreezes.id, row.id));
    // Every freeze of the user, not only this case's: the job keeps them while another case is open.
    await tx
      .update(kycWalletFreezes)
      .set({ status: "pending", attempts: 0, updatedAt: now })
      .where(and(eq(kycWalletFreezes.userId, row.userId), eq(kycWalletFreezes.status, "frozen")));
    await recordAudit(tx, audit, {
      action: "kyc.freeze_lifted",
      subject: { type: "kyc_application", id: row.applicationId },
      before: { category: row.category, frozenAt: row.createdAt.toISOString() },
      after: { lifted: true },
    });
    return row;
  });
  deps.log.info(
    { applicationId: input.applicationId, liftedBy: admin.id, category: lifted.category },
    "freeze case lifted",
  );
  if (deps.jobs) {
    try {
      await deps.jobs.enqueue("kyc.onchain.freeze", { userId: lifted.userId });
    } catch (error) {
      // The lift stands; reconciliation finds the wallets still frozen and queues the job.
      deps.log.error({ err: error, applicationId: input.applicationId }, "could not queue the unfreezing job");
    }
  }
  return listFreezes(deps.db, lifted.userId);
}
