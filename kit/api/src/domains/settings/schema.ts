// Per-user preferences, per-user notification switches, and the system's own settings.
// Foreign keys reach the auth and exchange-rate tables at the database level only; code goes
// through those domains' services.
import { sql } from "drizzle-orm";
import { boolean, char, check, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { NOTIFICATION_EVENT_TYPES, type NotificationEventType } from "../../notification-catalogue";
import { user } from "../auth/schema";
import { currencies } from "../exchange-rates/schema";
import { SWITCHED_CHANNELS, type SwitchedChannel } from "./contract-values";

const at = (name: string) => timestamp(name, { withTimezone: true });
const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const userSettings = pgTable(
  "user_settings",
  {
    userId: text("user_id")
      .primaryKey()
      .references(() => user.id, { onDelete: "cascade" }),
    locale: text("locale").notNull(),
    timezone: text("timezone").notNull(),
    currency: char("currency", { length: 3 })
      .notNull()
      .references(() => currencies.code),
    theme: text("theme").notNull(),
    /** Mail the user when they sign in from a browser and address Kit has not seen for them. */
    signInAlerts: boolean("sign_in_alerts").notNull().default(true),
    updatedAt: at("updated_at").notNull(),
  },
  (table) => [check("user_settings_theme_check", sql`${table.theme} in ('light', 'dark', 'system')`)],
);

/**
 * A user's switches, per event type of the notifications catalogue and channel with a switch
 * (in-app, e-mail); a missing row means the catalogue's default. Webhooks have no switch here: each
 * endpoint carries its own event filter (the webhooks domain).
 */
export const notificationSettings = pgTable(
  "notification_settings",
  {
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    eventType: text("event_type").$type<NotificationEventType>().notNull(),
    channel: text("channel").$type<SwitchedChannel>().notNull(),
    enabled: boolean("enabled").notNull(),
    updatedAt: at("updated_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.eventType, table.channel] }),
    check("notification_settings_event_check", sql`${table.eventType} in (${sqlList(NOTIFICATION_EVENT_TYPES)})`),
    check("notification_settings_channel_check", sql`${table.channel} in (${sqlList(SWITCHED_CHANNELS)})`),
  ],
);

/** One row per setting; each key's value has its own schema (settings/contract.ts). */
export const systemSettings = pgTable("system_settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  updatedAt: at("updated_at").notNull(),
  updatedBy: text("updated_by").references(() => user.id, { onDelete: "set null" }),
});
