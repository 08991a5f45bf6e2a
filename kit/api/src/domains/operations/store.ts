// Reads and status changes of operations. Every change is conditional on the status it leaves
// (compare-and-set) and writes its history row in the same transaction, so two workers racing on
// one operation make one change and one history row.
import { and, asc, eq, inArray, isNotNull, max, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { Database, Transaction } from "../../infra/db";
import type { OperationStatus } from "./contract-values";
import { recordSettledNotice } from "./notices";
import { type OperationSteps, tokenOperations } from "./schema";

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
  /** The history row's transaction when not the row's own after the change (a finished step's). */
  historyTxHash?: string | null;
}

/**
 * Moves the operation if it is still in `from` (and still carries `whenTxHash`); false when another
 * change got there first. One statement: the status change and its history row commit together,
 * in one round trip (the sender makes two per transaction). A move to confirmed or failed records
 * the requester's notification in the same transaction (notices.ts).
 */
export async function transition(db: Database, id: string, change: Transition): Promise<boolean> {
  const to = change.to;
  if (to !== "confirmed" && to !== "failed") return (await move(db, id, change)).length > 0;
  return db.transaction(async (tx) => {
    const moved = await move(tx, id, change);
    if (moved.length > 0) await recordSettledNotice(tx, id, to);
    return moved.length > 0;
  });
}

async function move(db: Database | Transaction, id: string, change: Transition) {
  const from = typeof change.from === "string" ? [change.from] : [...change.from];
  const columns = tokenOperations as unknown as Record<string, AnyPgColumn>;
  const assignments = Object.entries(change.set ?? {}).map(([key, value]) => {
    const column = columns[key];
    if (!column) throw new Error(`token_operations has no column ${key}`);
    const driverValue = value === null || value === undefined ? null : column.mapToDriverValue(value);
    return sql`${sql.identifier(column.name)} = ${driverValue}`;
  });
  const sameTx =
    change.whenTxHash === undefined || change.whenTxHash === null ? sql`` : sql` and tx_hash = ${change.whenTxHash}`;
  const historyTx =
    change.historyTxHash !== undefined
      ? sql`${change.historyTxHash}`
      : change.set?.txHash !== undefined
        ? sql`${change.set.txHash}`
        : sql`moved.tx_hash`;
  const { rows } = await db.execute<{ id: string }>(sql`
    with old as (
      select id, status from token_operations
      where id = ${id} and status in (${sql.join(
        from.map((f) => sql`${f}`),
        sql`, `,
      )})${sameTx}
      for update
    ), moved as (
      update token_operations t
      set ${sql.join([sql`status = ${change.to}`, sql`updated_at = now()`, ...assignments], sql`, `)}
      from old where t.id = old.id
      returning t.id, old.status as from_status, t.tx_hash
    )
    insert into token_operation_history (operation_id, from_status, to_status, actor_id, reason, tx_hash)
    select moved.id, moved.from_status, ${change.to}, ${change.actorId ?? null}, ${change.reason ?? null}, ${historyTx}
    from moved
    returning operation_id as id`);
  return rows;
}

/** pending → signed for a batch, in one statement (with history); how many moved. */
export async function storeSigned(
  db: Database,
  signer: string,
  head: number,
  transactions: { id: string; nonce: number; raw: string; txHash: string }[],
): Promise<number> {
  const { rows } = await db.execute<{ id: string }>(sql`
    with input as (
      select * from unnest(${`{${transactions.map((t) => t.id).join(",")}}`}::uuid[],
        ${`{${transactions.map((t) => t.nonce).join(",")}}`}::bigint[],
        ${`{${transactions.map((t) => t.raw).join(",")}}`}::text[],
        ${`{${transactions.map((t) => t.txHash).join(",")}}`}::text[]) as i(id, nonce, raw, tx_hash)
    ), old as (
      select o.id, o.status from token_operations o join input using (id) where o.status = 'pending' for update of o
    ), moved as (
      update token_operations t
      set status = 'signed', signer = ${signer}, nonce = input.nonce, raw_transaction = input.raw,
        tx_hash = input.tx_hash, sent_at_block = ${head}, updated_at = now()
      from input join old using (id) where t.id = input.id
      returning t.id, old.status as from_status, t.tx_hash
    )
    insert into token_operation_history (operation_id, from_status, to_status, tx_hash)
    select id, from_status, 'signed', tx_hash from moved
    returning operation_id as id`);
  return rows.length;
}

/**
 * signed → submitted for a batch the node accepted (each only if still on that transaction);
 * `head` is the block at broadcast, from which a transaction's wait for a block is counted.
 */
export async function markSubmitted(
  db: Database,
  transactions: { id: string; txHash: string }[],
  head: number,
): Promise<void> {
  await db.execute(sql`
    with input as (
      select * from unnest(${`{${transactions.map((t) => t.id).join(",")}}`}::uuid[],
        ${`{${transactions.map((t) => t.txHash).join(",")}}`}::text[]) as i(id, tx_hash)
    ), old as (
      select o.id, o.status from token_operations o join input using (id, tx_hash)
      where o.status = 'signed' for update of o
    ), moved as (
      update token_operations t set status = 'submitted', sent_at_block = ${head}, updated_at = now()
      from old where t.id = old.id
      returning t.id, old.status as from_status, t.tx_hash
    )
    insert into token_operation_history (operation_id, from_status, to_status, tx_hash)
    select id, from_status, 'submitted', tx_hash from moved`);
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

export function submittedOperations(db: Database, ids: string[]): Promise<OperationRow[]> {
  return db
    .select()
    .from(tokenOperations)
    .where(and(inArray(tokenOperations.id, ids), eq(tokenOperations.status, "submitted")))
    .orderBy(asc(tokenOperations.nonce));
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

/**
 * A multi-step operation's columns as its last step's transaction sets them when it settles (none
 * when no step was sent): that transaction stands for the operation, and the reorg check follows it.
 */
export function lastStepTransaction(signer: string, steps: Pick<OperationSteps, "done">) {
  const last = steps.done.at(-1);
  if (!last) return {};
  return {
    signer: signer.toLowerCase(),
    nonce: last.nonce,
    rawTransaction: last.raw,
    txHash: last.txHash,
    blockNumber: last.blockNumber,
    blockHash: last.blockHash,
  };
}
