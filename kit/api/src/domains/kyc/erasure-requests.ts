// Erasure requests: a user asks (at most one open request each, so asking again returns it), an
// admin approves — every application of the user is erased in the approval's transaction, where no
// retention duty forbids it (retention.ts) — or refuses with a reason; the user may withdraw while
// it is open. Every decision locks the request row first, so two admins, or an approval and a
// withdrawal, have exactly one winner; the other gets CONFLICT.
import { and, asc, desc, eq, type SQL, sql } from "drizzle-orm";
import { decodeCursor, encodeCursor, MICROSECOND_TIME } from "../../cursor";
import { KitError } from "../../errors";
import { PG_UNIQUE_VIOLATION, postgresError, type Transaction } from "../../infra/db";
import { type AuditActor, recordAudit } from "../audit/record";
import type { SettingsDeps } from "../settings/service";
import type {
  ErasureRequest,
  ErasureRequestForAdmins,
  ErasureRequestsInput,
  ErasureRequestsPage,
} from "./contract-erasure";
import type { KycDocumentDeps } from "./documents";
import { deleteErasedObjects, type ErasedApplication, eraseApplicationIn, unerasedApplications } from "./erasure";
import { earliestErasure, relationshipOf, retentionDutyMessage, retentionPolicy } from "./retention";
import { kycErasureRequests } from "./schema";

type RequestRow = typeof kycErasureRequests.$inferSelect;
type ErasureDeps = KycDocumentDeps & SettingsDeps;

const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function present(row: RequestRow): ErasureRequest {
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    requestedAt: row.requestedAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    decidedBy: row.decidedBy,
    refusalReason: row.refusalReason,
    erasedApplications: row.erasedApplications,
  };
}

async function openRequestOf(db: ErasureDeps["db"] | Transaction, userId: string): Promise<RequestRow | undefined> {
  const [row] = await db
    .select()
    .from(kycErasureRequests)
    .where(and(eq(kycErasureRequests.userId, userId), eq(kycErasureRequests.status, "open")));
  return row;
}

/** Procedure kyc.erasure.request: the open request, made if there is none (idempotent). */
export async function requestErasure(
  deps: ErasureDeps,
  actor: AuditActor & { userId: string },
): Promise<ErasureRequest> {
  const userId = actor.userId;
  const existing = await openRequestOf(deps.db, userId);
  if (existing) return present(existing);
  try {
    const row = await deps.db.transaction(async (tx) => {
      const [inserted] = await tx.insert(kycErasureRequests).values({ userId }).returning();
      if (!inserted) throw new Error("kyc_erasure_requests insert returned no row");
      await recordAudit(tx, actor, {
        action: "kyc.erasure_requested",
        subject: { type: "kyc_erasure_request", id: inserted.id },
        after: { status: "open", userId },
      });
      return inserted;
    });
    return present(row);
  } catch (error) {
    // Two first requests at once: the partial unique index lets one in; the other returns it.
    const failure = postgresError(error);
    if (failure?.code !== PG_UNIQUE_VIOLATION || failure.constraint !== "kyc_erasure_requests_open_idx") throw error;
    const winner = await openRequestOf(deps.db, userId);
    if (!winner) throw error;
    return present(winner);
  }
}

/** Procedure kyc.erasure.get: the user's latest request, or null. */
export async function getOwnErasureRequest(deps: ErasureDeps, userId: string): Promise<ErasureRequest | null> {
  const [row] = await deps.db
    .select()
    .from(kycErasureRequests)
    .where(eq(kycErasureRequests.userId, userId))
    .orderBy(desc(kycErasureRequests.requestedAt), desc(kycErasureRequests.id))
    .limit(1);
  return row ? present(row) : null;
}

/** Procedure kyc.erasure.withdraw: NOT_FOUND when no request of the user's is open (any more). */
export async function withdrawErasure(
  deps: ErasureDeps,
  actor: AuditActor & { userId: string },
): Promise<ErasureRequest> {
  const row = await deps.db.transaction(async (tx) => {
    const [open] = await tx
      .select()
      .from(kycErasureRequests)
      .where(and(eq(kycErasureRequests.userId, actor.userId), eq(kycErasureRequests.status, "open")))
      .for("update");
    if (!open) {
      throw new KitError(
        "NOT_FOUND",
        "You have no open erasure request (it may just have been decided): nothing to withdraw.",
      );
    }
    return closeRequest(tx, actor, open.id, { status: "withdrawn" }, {});
  });
  return present(row);
}

/** Moves an open request (locked by the caller) to its outcome, and records the decision in the trail. */
async function closeRequest(
  tx: Transaction,
  actor: AuditActor,
  requestId: string,
  outcome: Pick<RequestRow, "status"> & Partial<Pick<RequestRow, "decidedBy" | "erasedApplications" | "refusalReason">>,
  audited: Record<string, unknown>,
): Promise<RequestRow> {
  const [row] = await tx
    .update(kycErasureRequests)
    .set({ ...outcome, decidedAt: new Date() })
    .where(eq(kycErasureRequests.id, requestId))
    .returning();
  await recordAudit(tx, actor, {
    action: "kyc.erasure_decided",
    subject: { type: "kyc_erasure_request", id: requestId },
    before: { status: "open" },
    after: { status: outcome.status, ...audited },
  });
  return row as RequestRow;
}

/** The request, locked; NOT_FOUND, CONFLICT when no longer open, FORBIDDEN for one's own. */
async function lockOpenRequest(tx: Transaction, requestId: string, adminId: string): Promise<RequestRow> {
  const [row] = await tx.select().from(kycErasureRequests).where(eq(kycErasureRequests.id, requestId)).for("update");
  if (!row) throw new KitError("NOT_FOUND", `No erasure request ${requestId}; check the id in the list.`);
  if (row.userId === adminId) {
    throw new KitError("FORBIDDEN", "This is your own erasure request: four-eyes rule, another admin must decide it.");
  }
  if (row.status !== "open") {
    throw new KitError(
      "CONFLICT",
      `The erasure request is already ${row.status} (${row.decidedAt?.toISOString() ?? "?"}); reload the list.`,
    );
  }
  return row;
}

/**
 * Procedure kyc.erasureRequests.approve: erases every application of the user not yet erased and
 * marks the request approved, in one transaction; PRECONDITION_FAILED naming the earliest date when
 * a retention duty holds (the request stays open). The objects are deleted after the commit.
 */
export async function approveErasure(
  deps: ErasureDeps,
  actor: AuditActor & { userId: string },
  requestId: string,
): Promise<ErasureRequest> {
  const policy = await retentionPolicy(deps);
  const { row, erased } = await deps.db.transaction(async (tx) => {
    const request = await lockOpenRequest(tx, requestId, actor.userId);
    const state = await relationshipOf(tx, request.userId);
    const earliest = earliestErasure(state, policy);
    if (earliest) throw new KitError("PRECONDITION_FAILED", retentionDutyMessage(state, policy, earliest));
    const erased: ErasedApplication[] = [];
    for (const applicationId of await unerasedApplications(tx, request.userId)) {
      erased.push(await eraseApplicationIn(tx, { applicationId, actor, reason: "user_request", policy }));
    }
    const ids = erased.map((e) => e.applicationId);
    const approved = await closeRequest(
      tx,
      actor,
      request.id,
      { status: "approved", decidedBy: actor.userId, erasedApplications: ids },
      { userId: request.userId, applications: ids },
    );
    return { row: approved, erased };
  });
  await deleteErasedObjects(deps, erased);
  deps.log.info({ requestId, applications: erased.length }, "erasure request approved");
  return present(row);
}

/** Procedure kyc.erasureRequests.refuse: with a reason the user reads. */
export async function refuseErasure(
  deps: ErasureDeps,
  actor: AuditActor & { userId: string },
  input: { requestId: string; reason: string },
): Promise<ErasureRequest> {
  const row = await deps.db.transaction(async (tx) => {
    const request = await lockOpenRequest(tx, input.requestId, actor.userId);
    // The reason is free text: it stays on the request, not in the trail.
    return closeRequest(
      tx,
      actor,
      request.id,
      { status: "refused", decidedBy: actor.userId, refusalReason: input.reason },
      { userId: request.userId },
    );
  });
  return present(row);
}

/** Procedure kyc.erasureRequests.list: by status (open by default), oldest first, keyset pages. */
export async function listErasureRequests(
  deps: ErasureDeps,
  input: ErasureRequestsInput,
): Promise<ErasureRequestsPage> {
  const r = kycErasureRequests;
  const filters: SQL[] = [eq(r.status, input.status)];
  if (input.cursor) {
    const [at, id] = decodeCursor(input.cursor, [MICROSECOND_TIME, REQUEST_ID]);
    filters.push(sql`(${r.requestedAt}, ${r.id}) > (${at}::timestamptz, ${id}::uuid)`);
  }
  const rows = await deps.db
    .select({
      request: r,
      cursorAt: sql<string>`to_char(${r.requestedAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(r)
    .where(and(...filters))
    .orderBy(asc(r.requestedAt), asc(r.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const policy = input.status === "open" ? await retentionPolicy(deps) : null;
  const items: ErasureRequestForAdmins[] = [];
  for (const { request } of page) {
    let earliestErasureAt: string | null = null;
    if (policy && request.status === "open") {
      earliestErasureAt = earliestErasure(await relationshipOf(deps.db, request.userId), policy)?.toISOString() ?? null;
    }
    items.push({ ...present(request), earliestErasureAt });
  }
  const last = rows.length > input.limit ? page.at(-1) : undefined;
  return { items, nextCursor: last ? encodeCursor([last.cursorAt, last.request.id]) : null };
}
