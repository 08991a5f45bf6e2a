// Webhook endpoints (a user's own, or the system's: owner null, managed by admins), the deliveries
// queued for them (one per event and endpoint, whatever happens), and every attempt made.
// Secrets are stored encrypted (secrets.ts); the event's type, time and data are copied into the
// delivery, so sending never reads the notifications domain's tables.
import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { user } from "../auth/schema";
import { DELIVERY_STATUSES, type DeliveryStatus } from "./contract-values";

const at = (name: string) => timestamp(name, { withTimezone: true });
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });
const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Null: a system endpoint (admins manage it; it receives every event of its types). */
    ownerId: text("owner_id").references(() => user.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description").notNull().default(""),
    /** Catalogue event types (src/notification-catalogue.ts); at least one. */
    eventTypes: text("event_types").array().notNull(),
    enabled: boolean("enabled").notNull().default(true),
    /** Set when Kit disabled the endpoint after a day of failures; cleared when it is enabled again. */
    disabledAt: at("disabled_at"),
    /** The first failure since the last success; null while deliveries succeed. */
    failingSince: at("failing_since"),
    secretCiphertext: bytea("secret_ciphertext").notNull(),
    secretKeyId: text("secret_key_id").notNull(),
    /** The secret before the last rotation, signing alongside the new one until `previous_secret_expires_at`. */
    previousSecretCiphertext: bytea("previous_secret_ciphertext"),
    previousSecretKeyId: text("previous_secret_key_id"),
    previousSecretExpiresAt: at("previous_secret_expires_at"),
    secretRotatedAt: at("secret_rotated_at"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [
    check("webhook_endpoints_url_check", sql`${table.url} ~ '^https?://'`),
    check("webhook_endpoints_event_types_check", sql`cardinality(${table.eventTypes}) > 0`),
    check(
      "webhook_endpoints_previous_secret_check",
      sql`(${table.previousSecretCiphertext} is null) = (${table.previousSecretExpiresAt} is null)`,
    ),
    index("webhook_endpoints_owner_idx").on(table.ownerId, table.createdAt),
  ],
);

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** The notification event's id: the `webhook-id` header, the same on every attempt. */
    eventId: text("event_id").notNull(),
    endpointId: uuid("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    occurredAt: at("occurred_at").notNull(),
    /** The body's `data`, as the endpoint may see it (system endpoints: without free text, see fanout.ts). */
    data: jsonb("data").notNull(),
    status: text("status").$type<DeliveryStatus>().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** When it is due; a claimed delivery's is pushed out by a lease, so a killed worker's is retried. */
    nextAttemptAt: at("next_attempt_at").notNull().defaultNow(),
    /** When it was queued, or last replayed: it is retried for WEBHOOK_RETRY_FOR_SECONDS from then, then `dead`. */
    queuedAt: at("queued_at").notNull().defaultNow(),
    deliveredAt: at("delivered_at"),
    lastError: text("last_error"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [
    unique("webhook_deliveries_event_endpoint_key").on(table.eventId, table.endpointId),
    check("webhook_deliveries_status_check", sql`${table.status} in (${sqlList(DELIVERY_STATUSES)})`),
    // What the sender claims: open deliveries by due time.
    index("webhook_deliveries_due_idx").on(table.nextAttemptAt).where(sql`${table.status} in ('pending', 'failed')`),
    // The delivery log: an endpoint's deliveries, newest first.
    index("webhook_deliveries_endpoint_idx").on(table.endpointId, table.createdAt, table.id),
  ],
);

export const webhookDeliveryAttempts = pgTable(
  "webhook_delivery_attempts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    /** The receiver's HTTP status; null when none came (refused, timed out, connection failed). */
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    /** The first 1 KB of the answer's body, as text. */
    responseBody: text("response_body"),
    error: text("error"),
    at: at("at").notNull().defaultNow(),
  },
  (table) => [unique("webhook_delivery_attempts_attempt_key").on(table.deliveryId, table.attempt)],
);
