// The audit trail: every staff or security-relevant action outside the KYC history, append-only
// and hash-chained. A trigger (migration 0018) numbers each row under a lock, links it to the
// previous row's hash and hashes its own canonical content; another refuses UPDATE, DELETE and
// TRUNCATE. `bun run kit audit:verify` (verify.ts) walks the chain and names the first row that
// was changed or removed. Before/after hold no PII: ids, roles, settings, amounts.
import { sql } from "drizzle-orm";
import { bigserial, check, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { AUDIT_ACTOR_KINDS, type AuditAction, type AuditActorKind } from "./contract-values";

const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** The user who acted (also for an API key: its owner); null for Kit itself. */
    actorId: text("actor_id"),
    actorKind: text("actor_kind").$type<AuditActorKind>().notNull(),
    action: text("action").$type<AuditAction>().notNull(),
    subjectType: text("subject_type").notNull(),
    subjectId: text("subject_id").notNull(),
    before: jsonb("before"),
    after: jsonb("after"),
    requestId: text("request_id"),
    ipAddress: text("ip_address"),
    /** Set by the trigger: the previous row's hash (64 zeros for the first). */
    prevHash: text("prev_hash").notNull().default(""),
    /** Set by the trigger: SHA-256 (hex) of prev_hash and the row's canonical content. */
    hash: text("hash").notNull().default(""),
  },
  (table) => [
    check("audit_events_actor_check", sql`${table.actorKind} in (${sqlList(AUDIT_ACTOR_KINDS)})`),
    check("audit_events_system_actor_check", sql`(${table.actorKind} = 'system') = (${table.actorId} is null)`),
    index("audit_events_at_idx").on(table.at, table.id),
    index("audit_events_actor_idx").on(table.actorId, table.id),
    index("audit_events_subject_idx").on(table.subjectType, table.subjectId, table.id),
    index("audit_events_action_idx").on(table.action, table.id),
  ],
);
