// The erasure requests' table (domains/kyc/erasure-requests.ts), re-exported by schema.ts, where
// drizzle-kit looks for the domain's tables.
import { sql } from "drizzle-orm";
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { user } from "../auth/schema";
import { ERASURE_REQUEST_STATUSES, type ErasureRequestStatus } from "./contract-values";

const at = (name: string) => timestamp(name, { withTimezone: true });
const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

/**
 * A user's request to erase their KYC data (domains/kyc/erasure-requests.ts): at most one open per
 * user; an admin approves it (the applications are erased in the same transaction) or refuses it
 * with a reason; the user may withdraw it while it is open.
 */
export const kycErasureRequests = pgTable(
  "kyc_erasure_requests",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id),
    status: text("status").$type<ErasureRequestStatus>().notNull().default("open"),
    requestedAt: at("requested_at").notNull().defaultNow(),
    decidedAt: at("decided_at"),
    /** The admin who approved or refused; null for a withdrawal (the user) and while open. */
    decidedBy: text("decided_by").references(() => user.id),
    /** Why an admin refused (the user reads it): a retention duty, typically. */
    refusalReason: text("refusal_reason"),
    /** The applications the approval erased. */
    erasedApplications: uuid("erased_applications").array(),
  },
  (table) => [
    check("kyc_erasure_requests_status_check", sql`${table.status} in (${sqlList(ERASURE_REQUEST_STATUSES)})`),
    check(
      "kyc_erasure_requests_decision_check",
      sql`(${table.status} = 'open') = (${table.decidedAt} is null) and (${table.status} = 'refused') = (${table.refusalReason} is not null) and (${table.status} in ('approved', 'refused')) = (${table.decidedBy} is not null)`,
    ),
    uniqueIndex("kyc_erasure_requests_open_idx").on(table.userId).where(sql`${table.status} = 'open'`),
    index("kyc_erasure_requests_list_idx").on(table.status, table.requestedAt, table.id),
    index("kyc_erasure_requests_user_idx").on(table.userId, table.requestedAt),
  ],
);
