// The notifications outbox and the in-app inbox. An event row is written in the transaction of the
// change that causes it (record.ts); the dispatcher (dispatch.ts) fans it out per channel in one
// transaction per batch and stamps `dispatched_at`, so a crash anywhere redoes the batch, and every
// channel's delivery rows are unique per event and recipient (or endpoint): nothing twice.
import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { NOTIFICATION_EVENT_TYPES, type NotificationEventType } from "../../notification-catalogue";
import { user } from "../auth/schema";

const at = (name: string) => timestamp(name, { withTimezone: true });
const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const notificationEvents = pgTable(
  "notification_events",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    type: text("type").$type<NotificationEventType>().notNull(),
    /** User ids, resolved from the catalogue's audience when the event was recorded. */
    recipients: text("recipients").array().notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    /** Makes a recurring source record an event once (an approval's 30-day notice, a staleness episode). */
    dedupeKey: text("dedupe_key"),
    occurredAt: at("occurred_at").notNull().defaultNow(),
    /** Null until the dispatcher fanned it out to every channel. */
    dispatchedAt: at("dispatched_at"),
    /** Failed dispatch tries; past MAX_DISPATCH_ATTEMPTS the event is left for an operator (logged). */
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (table) => [
    check("notification_events_type_check", sql`${table.type} in (${sqlList(NOTIFICATION_EVENT_TYPES)})`),
    uniqueIndex("notification_events_dedupe_idx").on(table.dedupeKey),
    // What the dispatcher claims: the undispatched, oldest first (the index stays as small as the backlog).
    index("notification_events_undispatched_idx")
      .on(table.occurredAt, table.id)
      .where(sql`${table.dispatchedAt} is null`),
  ],
);

/** The in-app inbox: one row per event and recipient; the event id is the notification's id. */
export const notifications = pgTable(
  "notifications",
  {
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    eventId: uuid("event_id")
      .notNull()
      .references(() => notificationEvents.id, { onDelete: "cascade" }),
    type: text("type").$type<NotificationEventType>().notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    /** When the event happened (pages are ordered by it). */
    createdAt: at("created_at").notNull(),
    readAt: at("read_at"),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.eventId] }),
    index("notifications_page_idx").on(table.userId, table.createdAt, table.eventId),
    index("notifications_unread_idx")
      .on(table.userId, table.createdAt, table.eventId)
      .where(sql`${table.readAt} is null`),
  ],
);
