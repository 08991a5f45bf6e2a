// Per-user preferences, per-user notification switches, and the system's own settings.
// Foreign keys reach the auth and exchange-rate tables at the database level only; code goes
// through those domains' services.
import { sql } from "drizzle-orm";
import { boolean, char, check, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { user } from "../auth/schema";
import { currencies } from "../exchange-rates/schema";

const at = (name: string) => timestamp(name, { withTimezone: true });

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

export const notificationSettings = pgTable(
  "notification_settings",
  {
    userId: text("user_id")
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    channel: text("channel").notNull(),
    enabled: boolean("enabled").notNull(),
    /** Only for the webhook channel: an https URL that does not point at a private address. */
    webhookUrl: text("webhook_url"),
    updatedAt: at("updated_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.eventType, table.channel] }),
    check("notification_settings_event_check", sql`${table.eventType} in ('kyc_status', 'token_transfer', 'fx_alert')`),
    check("notification_settings_channel_check", sql`${table.channel} in ('email', 'push', 'webhook')`),
    check(
      "notification_settings_webhook_check",
      sql`(${table.channel} = 'webhook') = (${table.webhookUrl} is not null) and (${table.webhookUrl} is null or ${table.webhookUrl} like 'https://%')`,
    ),
  ],
);

/** One row per setting; each key's value has its own schema (settings/contract.ts). */
export const systemSettings = pgTable("system_settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  updatedAt: at("updated_at").notNull(),
  updatedBy: text("updated_by").references(() => user.id, { onDelete: "set null" }),
});
