// Reads and status changes of operations. Every change is conditional on the status it leaves
// (compare-and-set) and writes its history row in the same transaction, so two workers racing on
// one operation make one change and one history row.
import { and, asc, eq, inArray, isNotNull, max, sql } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { type OperationStatus, tokenOperationHistory, tokenOperations } from "./schema";

export type OperationRow = typeof tokenOperations.$inferSelect;
type OperationUpdate = Partial<Omit<OperationRow, "id" | "status" | "createdAt">>;

export interface Transition {
  from: OperationStatus | readonly OperationStatus[];
  to: OperationStatus;
  set?: OperationUpdate;
  /** Who caused it; null: Kit itself (the sender, the confirmer). */
  actorId?: string | null;
  reason?: string | null;
  /** Only when the row still has this transaction hash (a confirmer's view may be stale). */
  whenTxHash?: string | null;
}

/** Moves the operation if it is still in `from`; false when another change got there first. */
export async function transition(db: Database, id: string, change: Transition): Promise<boolean> {
  const from = typeof change.from === "string" ? [change.from] : [...change.from];
  return db.transaction(async (tx) => {
    const conditions = [eq(tokenOperations.id, id), inArray(tokenOperations.status, from)];
    if (change.whenTxHash !== undefined) {
      conditions.push(change.whenTxHash === null ? sql`true` : eq(tokenOperations.txHash, change.whenTxHash));
    }
    const [before] = await tx
      .select({ status: tokenOperations.status })
      .from(tokenOperations)
      .where(and(...conditions))
      .for("update");
    if (!before) return false;
    await tx
      .update(tokenOperations)
      .set({ ...change.set, status: change.to, updatedAt: new Date() })
      .where(eq(tokenOperations.id, id));
    await tx.insert(tokenOperationHistory).values({
      operationId: id,
      fromStatus: before.status,
      toStatus: change.to,
      actorId: change.actorId ?? null,
      reason: change.reason ?? null,
      txHash: change.set?.txHash ?? null,
    });
    return true;
  });
}

/** Operations the sender still owes a transaction, oldest first. */
export function pendingOperations(db: Database, chainId: number, limit: number): Promise<OperationRow[]> {
  return db
    .select()
    .from(tokenOperations)
    .where(and(eq(tokenOperations.chainId, chainId), eq(tokenOperations.status, "pending")))
    .orderBy(asc(tokenOperations.createdAt), asc(tokenOperations.id))
    .limit(limit);
}

/** Operations with a transaction out (signed, maybe broadcast; or broadcast, not yet confirmed), by nonce. */
export function inFlightOperations(
  db: Database,
  chainId: number,
  signer: string,
  statuses: readonly OperationStatus[] = ["signed", "submitted"],
  limit = 1_000,
): Promise<OperationRow[]> {
  return db
    .select()
    .from(tokenOperations)
    .where(
      and(
        eq(tokenOperations.chainId, chainId),
        eq(tokenOperations.signer, signer),
        inArray(tokenOperations.status, [...statuses]),
      ),
    )
    .orderBy(asc(tokenOperations.nonce))
    .limit(limit);
}

/** The signer's highest nonce Kit ever stored (null: none yet). */
export async function highestStoredNonce(db: Database, chainId: number, signer: string): Promise<number | null> {
  const [row] = await db
    .select({ nonce: max(tokenOperations.nonce) })
    .from(tokenOperations)
    .where(
      and(eq(tokenOperations.chainId, chainId), eq(tokenOperations.signer, signer), isNotNull(tokenOperations.nonce)),
    );
  return row?.nonce ?? null;
}

/** Confirmed at or above `fromBlock`: what a reorg could still take back. */
export function recentlyConfirmed(db: Database, chainId: number, fromBlock: number, limit = 500) {
  return db
    .select()
    .from(tokenOperations)
    .where(
      and(
        eq(tokenOperations.chainId, chainId),
        eq(tokenOperations.status, "confirmed"),
        sql`${tokenOperations.blockNumber} >= ${fromBlock}`,
      ),
    )
    .orderBy(asc(tokenOperations.blockNumber))
    .limit(limit);
}

/** True when anything is open (or recently confirmed): the sweep skips the chain otherwise. */
export async function hasOpenWork(db: Database, chainId: number): Promise<boolean> {
  const { rows } = await db.execute<{ open: boolean }>(sql`select exists (
    select 1 from ${tokenOperations} where ${tokenOperations.chainId} = ${chainId}
      and (${tokenOperations.status} in ('pending', 'signed', 'submitted')
        or (${tokenOperations.status} = 'confirmed' and ${tokenOperations.confirmedAt} > now() - interval '15 minutes'))
    ) as open`);
  return rows[0]?.open === true;
}
