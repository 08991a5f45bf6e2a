// Reading the audit trail: newest first, filtered by actor, subject, action and time; the cursor is
// the last row's id (the chain's order).
import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import { decodeCursor, encodeCursor } from "../../cursor";
import type { Database } from "../../infra/db";
import type { AuditEventView } from "./contract";
import type { AuditAction } from "./contract-values";
import { auditEvents } from "./schema";

export interface AuditFilter {
  actorId?: string;
  subjectType?: string;
  subjectId?: string;
  action?: AuditAction;
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
}

export async function listAuditEvents(deps: { db: Database }, filter: AuditFilter) {
  const conditions: (SQL | undefined)[] = [
    filter.actorId ? eq(auditEvents.actorId, filter.actorId) : undefined,
    filter.subjectType ? eq(auditEvents.subjectType, filter.subjectType) : undefined,
    filter.subjectId ? eq(auditEvents.subjectId, filter.subjectId) : undefined,
    filter.action ? eq(auditEvents.action, filter.action) : undefined,
    filter.from ? gte(auditEvents.at, new Date(filter.from)) : undefined,
    filter.to ? lt(auditEvents.at, new Date(filter.to)) : undefined,
  ];
  if (filter.cursor) {
    const [after] = decodeCursor(filter.cursor, [/^\d{1,19}$/]);
    conditions.push(lt(auditEvents.id, BigInt(after as string)));
  }
  const rows = await deps.db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.id))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map(auditEventView),
    nextCursor: rows.length > filter.limit && last ? encodeCursor([last.id.toString()]) : null,
  };
}

function auditEventView(row: typeof auditEvents.$inferSelect): AuditEventView {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    actorId: row.actorId,
    actorKind: row.actorKind,
    action: row.action,
    subject: { type: row.subjectType, id: row.subjectId },
    before: (row.before as Record<string, unknown> | null) ?? null,
    after: (row.after as Record<string, unknown> | null) ?? null,
    requestId: row.requestId,
    ipAddress: row.ipAddress,
    hash: row.hash,
  };
}
