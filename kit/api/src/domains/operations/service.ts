// Requesting operations (idempotent), reading them, and four-eyes decisions. An operation is
// recorded with its history row in one transaction, then queued for the worker's sender; a lost
// enqueue is harmless (the sweep sends what is pending).
import { createHash } from "node:crypto";
import { and, asc, desc, eq, isNotNull, ne, sql } from "drizzle-orm";
import type { Config } from "../../config";
import { decodeCursor, encodeCursor } from "../../cursor";
import type { DomainQueries, JobQueue } from "../../deps";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import { type Database, PG_UNIQUE_VIOLATION, postgresError } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { recordAudit } from "../audit/record";
import { kickDispatcher } from "../notifications/record";
import { requireToken } from "../tokens/service";
import type { OperationView } from "./contract";
import type { OperationKind } from "./contract-values";
import { type Actor, auditActor, requireGrant } from "./grants";
import { SEND_JOB } from "./jobs";
import { recordAwaitingApprovalNotice } from "./notices";
import { needsApproval, policyOf } from "./policy";
import { normalizeParameters, precheck } from "./prechecks";
import { recoveryPrecheck } from "./recover";
import { tokenGrants, tokenOperationHistory, tokenOperations } from "./schema";
import { type OperationRow, transition } from "./store";

export interface OperationDeps {
  db: Database;
  chain: Chain;
  config: Pick<Config, "chain">;
  jobs: JobQueue;
  log: Logger;
  queries: Pick<DomainQueries, "kycStanding" | "walletRegistration">;
}

export interface OperationRequest {
  kind: OperationKind;
  /** The validated input: the token's `address`, the kind's fields, maybe `idempotencyKey`. */
  input: Record<string, unknown> & { address: string; idempotencyKey?: string };
  /** The Idempotency-Key header, if any. */
  headerKey?: string | null;
  /** Needs a second person whatever the policy says of it alone (a chunk of a batch that does). */
  requireApproval?: boolean;
}

export async function requestOperation(deps: OperationDeps, actor: Actor, request: OperationRequest) {
  const idempotencyKey = keyOf(request);
  const token = await requireToken(deps, request.input.address);
  if (token.kind !== "t-rex") {
    throw new KitError(
      "PRECONDITION_FAILED",
      `${request.input.address} is a plain ERC-20; Kit services T-REX tokens only.`,
    );
  }
  await requireGrant(deps, actor, token.address);
  const parameters = normalizeParameters(request.kind, request.input, token.decimals);
  const requestHash = hashOf({ chainId: token.chainId, token: token.address, kind: request.kind, parameters });
  if (idempotencyKey) {
    const existing = await findByKey(deps.db, actor.id, idempotencyKey);
    if (existing) return { operation: sameRequest(existing, requestHash) };
  }
  // What the request hashes is the input; a recovery records what its checks found besides.
  const recorded =
    request.kind === "recover"
      ? {
          ...parameters,
          ...(await recoveryPrecheck(deps, token, parameters as { lostWallet: string; newWallet: string })),
        }
      : parameters;
  if (request.kind !== "recover") await precheck(deps.chain, token, request.kind, parameters);
  const approval =
    request.requireApproval === true || needsApproval(await policyOf(deps, token.address), request.kind, parameters);
  const status = approval ? "awaiting_approval" : "pending";
  let row: OperationRow;
  try {
    row = await deps.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(tokenOperations)
        .values({
          chainId: token.chainId,
          token: token.address,
          kind: request.kind,
          parameters: recorded,
          requestedBy: actor.id,
          idempotencyKey,
          requestHash,
          status,
          needsApproval: approval,
        })
        .returning();
      if (!inserted) throw new Error("insert returned no row");
      const reason = typeof parameters.reason === "string" ? parameters.reason : null;
      await tx
        .insert(tokenOperationHistory)
        .values({ operationId: inserted.id, toStatus: status, actorId: actor.id, reason });
      if (status === "awaiting_approval") await recordAwaitingApprovalNotice(tx, inserted);
      return inserted;
    });
  } catch (error) {
    // The same key raced in from another request: answer what won.
    const existing = idempotencyKey ? await findByKey(deps.db, actor.id, idempotencyKey) : undefined;
    if (postgresError(error)?.code !== PG_UNIQUE_VIOLATION || !existing) throw error;
    return { operation: sameRequest(existing, requestHash) };
  }
  if (status === "pending") await queueSend(deps, row.id);
  else await kickDispatcher(deps);
  return { operation: operationView(row as UserOperationRow) };
}

export function keyOf(
  request: Pick<OperationRequest, "headerKey"> & { input: { idempotencyKey?: string } },
): string | null {
  const fromBody = request.input.idempotencyKey ?? null;
  const fromHeader = request.headerKey?.trim() || null;
  if (fromBody && fromHeader && fromBody !== fromHeader) {
    const message = "differs from the Idempotency-Key header; give one of them, or the same in both";
    throw new KitError("BAD_REQUEST", `Invalid input: idempotencyKey: ${message}`, [
      { path: "idempotencyKey", message },
    ]);
  }
  const key = fromBody ?? fromHeader;
  if (key && (key.length > 200 || !/^[\x21-\x7e]+$/.test(key))) {
    const message = "at most 200 printable ASCII characters, no spaces";
    throw new KitError("BAD_REQUEST", `Invalid input: Idempotency-Key: ${message}`, [
      { path: "idempotencyKey", message },
    ]);
  }
  return key;
}

/** Key order does not matter: the same request always hashes the same. */
export function hashOf(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, canonical(x)]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canonical(value)))
    .digest("hex");
}

export function sameRequest(existing: OperationRow, requestHash: string): OperationView {
  if (existing.requestHash !== requestHash) {
    throw new KitError(
      "CONFLICT",
      `The idempotency key was already used for another request (operation ${existing.id}); use a new key for a new operation.`,
    );
  }
  return operationView(existing as UserOperationRow);
}

export async function findByKey(db: Database, userId: string, key: string): Promise<OperationRow | undefined> {
  const [row] = await db
    .select()
    .from(tokenOperations)
    .where(and(eq(tokenOperations.requestedBy, userId), eq(tokenOperations.idempotencyKey, key)));
  return row;
}

export async function queueSend(deps: Pick<OperationDeps, "jobs" | "log">, operationId: string): Promise<void> {
  try {
    await deps.jobs.enqueue(SEND_JOB, { operationId });
  } catch (error) {
    deps.log.warn(
      { err: error, operation: operationId },
      "could not queue the token operation; the sweep will send it",
    );
  }
}

async function requireOperation(deps: OperationDeps, actor: Actor, id: string): Promise<UserOperationRow> {
  const [row] = await deps.db.select().from(tokenOperations).where(eq(tokenOperations.id, id));
  // Kit's own operations (eligibility) are nobody's to read or decide here (kyc shows their effect).
  if (!row || !isUserOperation(row)) throw new KitError("NOT_FOUND", `No token operation ${id}.`);
  // A creation's requester follows it before the token (and their grant on it) exists.
  if (row.kind === "create" && row.requestedBy === actor.id) return row;
  await requireGrant(deps, actor, row.token);
  return row;
}

export async function getOperation(deps: OperationDeps, actor: Actor, id: string) {
  const row = await requireOperation(deps, actor, id);
  const history = await deps.db
    .select()
    .from(tokenOperationHistory)
    .where(eq(tokenOperationHistory.operationId, id))
    .orderBy(asc(tokenOperationHistory.id));
  return {
    ...operationView(row),
    history: history.map((h) => ({
      from: h.fromStatus,
      to: h.toStatus,
      actorId: h.actorId,
      reason: h.reason,
      txHash: h.txHash,
      at: h.at.toISOString(),
    })),
  };
}

/** Newest first; the cursor is the last operation's id (its position is read from the row). */
export async function listOperations(
  deps: OperationDeps,
  actor: Actor,
  input: { address: string; cursor?: string; limit: number },
) {
  const token = await requireToken(deps, input.address);
  await requireGrant(deps, actor, token.address);
  const after = input.cursor ? decodeCursor(input.cursor, [OPERATION_ID])[0] : undefined;
  const rows = await deps.db
    .select()
    .from(tokenOperations)
    .where(
      and(
        eq(tokenOperations.chainId, token.chainId),
        eq(tokenOperations.token, token.address),
        userOperationsOnly,
        after
          ? sql`(${tokenOperations.createdAt}, ${tokenOperations.id}) < (select created_at, id from token_operations where id = ${after})`
          : undefined,
      ),
    )
    .orderBy(desc(tokenOperations.createdAt), desc(tokenOperations.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.filter(isUserOperation).map(operationView),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.id]) : null,
  };
}

/**
 * Four eyes, from the approver's side: what waits for a second person on the tokens `actor` is
 * granted on, leaving out what they requested themselves (they may not approve it); oldest first,
 * as a queue. The cursor is the last operation's id.
 */
export async function listAwaitingMyApproval(
  deps: Pick<OperationDeps, "db" | "config">,
  actor: Actor,
  input: { cursor?: string; limit: number },
) {
  const after = input.cursor ? decodeCursor(input.cursor, [OPERATION_ID])[0] : undefined;
  const rows = await deps.db
    .select({ operation: tokenOperations })
    .from(tokenOperations)
    .innerJoin(
      tokenGrants,
      and(
        eq(tokenGrants.chainId, tokenOperations.chainId),
        eq(tokenGrants.token, tokenOperations.token),
        eq(tokenGrants.userId, actor.id),
      ),
    )
    .where(
      and(
        eq(tokenOperations.chainId, deps.config.chain.id),
        eq(tokenOperations.status, "awaiting_approval"),
        ne(tokenOperations.requestedBy, actor.id),
        after
          ? sql`(${tokenOperations.createdAt}, ${tokenOperations.id}) > (select created_at, id from token_operations where id = ${after})`
          : undefined,
      ),
    )
    .orderBy(asc(tokenOperations.createdAt), asc(tokenOperations.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit).map((r) => r.operation);
  const last = page.at(-1);
  return {
    items: page.filter(isUserOperation).map(operationView),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.id]) : null,
  };
}

const OPERATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Four eyes: another of the token's issuers approves (then it is sent) or refuses, with a reason. */
export async function decideOperation(
  deps: OperationDeps,
  actor: Actor,
  input: { id: string; reason: string; decision: "approve" | "reject" },
) {
  const row = await requireOperation(deps, actor, input.id);
  if (input.decision === "approve" && row.requestedBy === actor.id) {
    throw new KitError(
      "FORBIDDEN",
      "You requested this operation; another of the token's issuers must approve it (four eyes).",
    );
  }
  const to = input.decision === "approve" ? "pending" : "rejected";
  const moved = await transition(deps.db, row.id, {
    from: "awaiting_approval",
    to,
    set: { decidedBy: actor.id, decisionReason: input.reason },
    actorId: actor.id,
    reason: input.reason,
  });
  if (!moved) {
    const [now] = await deps.db.select().from(tokenOperations).where(eq(tokenOperations.id, row.id));
    throw new KitError("CONFLICT", `The operation is ${now?.status ?? row.status}, not awaiting approval.`);
  }
  await recordAudit(deps.db, auditActor(actor), {
    action: "token_operation.decided",
    subject: { type: "token_operation", id: row.id },
    before: { status: "awaiting_approval" },
    after: { status: to, kind: row.kind, token: row.token, requestedBy: row.requestedBy },
  });
  if (to === "pending") await queueSend(deps, row.id);
  const [updated] = await deps.db.select().from(tokenOperations).where(eq(tokenOperations.id, row.id));
  return { operation: operationView(updated && isUserOperation(updated) ? updated : row) };
}

/** An operation a user asked for on a token: the only kind issuers see. */
export type UserOperationRow = OperationRow & { token: string; requestedBy: string; kind: OperationKind };

export function isUserOperation(row: OperationRow): row is UserOperationRow {
  return row.requestedBy !== null && row.token !== null;
}

/** What an issuer's list shows: their operations, not Kit's own (same token, e.g. a sanctions freeze). */
export const userOperationsOnly = isNotNull(tokenOperations.requestedBy);

export function operationView(row: UserOperationRow): OperationView {
  return {
    id: row.id,
    chainId: row.chainId,
    token: row.token,
    kind: row.kind,
    parameters: row.parameters,
    status: row.status,
    requestedBy: row.requestedBy,
    needsApproval: row.needsApproval,
    decidedBy: row.decidedBy,
    decisionReason: row.decisionReason,
    txHash: row.txHash,
    nonce: row.nonce,
    blockNumber: row.blockNumber,
    error: row.errorCode ? { code: row.errorCode, message: row.error ?? row.errorCode } : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    confirmedAt: row.confirmedAt?.toISOString() ?? null,
  };
}
