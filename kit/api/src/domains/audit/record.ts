// Writing to the audit trail: one row per staff or security-relevant action, in the transaction of
// the change it records when there is one (both commit, or neither). The trigger chains it.
import { and, eq } from "drizzle-orm";
import type { Database, Transaction } from "../../infra/db";
import type { AuditAction } from "./contract-values";
import { auditEvents } from "./schema";

/** Who acted and from where; `via: "api_key"` when the call carried one of the user's keys. */
export interface AuditActor {
  userId: string | null;
  via?: "session" | "api-key";
  requestId?: string;
  ipAddress?: string | null;
}

export const SYSTEM_ACTOR: AuditActor = { userId: null };

/** The signed-in caller of a procedure as the trail names them (an API key: its owner, `api_key`). */
export function auditActorOf(context: {
  caller: { user: { id: string }; via: "session" | "api-key" };
  requestId: string;
  clientIp: () => string | undefined;
}): AuditActor & { userId: string } {
  return {
    userId: context.caller.user.id,
    via: context.caller.via,
    requestId: context.requestId,
    ipAddress: context.clientIp() ?? null,
  };
}

export interface AuditEntry {
  action: AuditAction;
  subject: { type: string; id: string };
  /** PII-free: ids, roles, statuses, settings, amounts. */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

export async function recordAudit(db: Database | Transaction, actor: AuditActor, entry: AuditEntry): Promise<void> {
  await db.insert(auditEvents).values({
    actorId: actor.userId,
    actorKind: actor.userId === null ? "system" : actor.via === "api-key" ? "api_key" : "user",
    action: entry.action,
    subjectType: entry.subject.type,
    subjectId: entry.subject.id,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: actor.requestId ?? null,
    ipAddress: actor.ipAddress ?? null,
  });
}

/** Whether the trail holds an event of `action` about `subject` (for writers that must write one once). */
export async function hasAuditEvent(
  db: Database | Transaction,
  action: AuditAction,
  subject: { type: string; id: string },
): Promise<boolean> {
  const [row] = await db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.action, action),
        eq(auditEvents.subjectType, subject.type),
        eq(auditEvents.subjectId, subject.id),
      ),
    )
    .limit(1);
  return row !== undefined;
}
