// The mail outbox: one row per message Kit means to send, written in the transaction of what causes
// it, sent by the worker (sender.ts). The dedupe key makes queuing idempotent and is the message's
// Message-ID, so a receiver can drop the copy a crash between send and commit could cause.
import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

const at = (name: string) => timestamp(name, { withTimezone: true });

export const mailMessages = pgTable(
  "mail_messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    toAddress: text("to_address").notNull(),
    /** A template name (templates/catalogue.ts): a notification event type or an `account.*` mail. */
    template: text("template").notNull(),
    /** The language it was rendered in (`en`, `de`). */
    locale: text("locale").notNull(),
    subject: text("subject").notNull(),
    /** The template's data, rendered when sent; emptied once sent, so links and what an event said do not stay at rest. */
    data: jsonb("data"),
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** The last failure: SMTP code and reply, or the connection error (never the body). */
    lastError: text("last_error"),
    dedupeKey: text("dedupe_key").notNull(),
    nextAttemptAt: at("next_attempt_at").notNull().defaultNow(),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
    sentAt: at("sent_at"),
  },
  (table) => [
    uniqueIndex("mail_messages_dedupe_key_idx").on(table.dedupeKey),
    // The sender's claim: due pending rows, oldest first.
    index("mail_messages_due_idx").on(table.nextAttemptAt).where(sql`${table.status} = 'pending'`),
    check("mail_messages_status_check", sql`${table.status} in ('pending', 'sent', 'failed')`),
    // What a Message-ID's left part may hold (':' becomes '/'), bounded.
    check("mail_messages_dedupe_key_check", sql`${table.dedupeKey} ~ '^[A-Za-z0-9._:-]{1,200}$'`),
    check("mail_messages_attempts_check", sql`${table.attempts} >= 0`),
  ],
);
