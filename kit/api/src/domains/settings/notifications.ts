// Each user's notification switches: per event type of the catalogue (domains/notifications), an
// in-app and an e-mail switch; a missing row is the catalogue's default. The dispatcher reads them,
// with the user's e-mail and locale, through `deps.queries.notificationRecipients` (runtime.ts).

import { and, eq, inArray, sql } from "drizzle-orm";
import type { NotificationRecipientSettings } from "../../deps";
import { KitError } from "../../errors";
import type { Database, Transaction } from "../../infra/db";
import {
  NOTIFICATION_CATALOGUE,
  NOTIFICATION_EVENT_TYPES,
  type NotificationEventType,
} from "../../notification-catalogue";
import { type AuditActor, recordAudit } from "../audit/record";
import { user } from "../auth/schema";
import { readThrough, saveThrough, userSlot } from "./cache";
import type { NotificationSettings, ReplaceNotificationSettingsInput } from "./contract";
import { SWITCHED_CHANNELS } from "./contract-values";
import { notificationSettings, userSettings } from "./schema";
import { type SettingsDeps, violatedForeignKey } from "./service";

type Switches = NotificationSettings["events"];

/** The catalogue's defaults: what a user who never saved has. */
function defaultSwitches(): Switches {
  return Object.fromEntries(
    NOTIFICATION_EVENT_TYPES.map((type) => [type, { ...NOTIFICATION_CATALOGUE[type].defaults }]),
  ) as Switches;
}

const isEventType = (v: string): v is NotificationEventType => v in NOTIFICATION_CATALOGUE;

function toNotificationSettings(rows: (typeof notificationSettings.$inferSelect)[]): NotificationSettings {
  const events = defaultSwitches();
  let latest: Date | null = null;
  for (const row of rows) {
    if (!isEventType(row.eventType) || !SWITCHED_CHANNELS.includes(row.channel)) continue;
    events[row.eventType][row.channel] = row.enabled;
    if (!latest || row.updatedAt > latest) latest = row.updatedAt;
  }
  return { events, updatedAt: latest?.toISOString() ?? null };
}

export async function getNotificationSettings(deps: SettingsDeps, userId: string): Promise<NotificationSettings> {
  return readThrough(deps.redis, userSlot(userId, "notification-switches"), async () =>
    toNotificationSettings(
      await deps.db.select().from(notificationSettings).where(eq(notificationSettings.userId, userId)),
    ),
  );
}

/** Replaces every switch (a row per event type and channel, so later catalogue defaults do not change them). */
export async function replaceNotificationSettings(
  deps: SettingsDeps,
  actor: AuditActor & { userId: string },
  input: ReplaceNotificationSettingsInput,
): Promise<NotificationSettings> {
  const { userId } = actor;
  const updatedAt = new Date();
  const rows = NOTIFICATION_EVENT_TYPES.flatMap((eventType) =>
    SWITCHED_CHANNELS.map((channel) => ({
      userId,
      eventType,
      channel,
      enabled: input.events[eventType][channel],
      updatedAt,
    })),
  );
  try {
    return await saveThrough(deps, userSlot(userId, "notification-switches"), async (tx) => {
      // A user's rows are replaced as a set; concurrent replacements take turns.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('kit:notification_settings'), hashtext(${userId}))`);
      await tx.delete(notificationSettings).where(eq(notificationSettings.userId, userId));
      const saved = toNotificationSettings(await tx.insert(notificationSettings).values(rows).returning());
      // What the user now hears of, by which channel: switches only, nothing personal.
      await recordAudit(tx, actor, {
        action: "notification_settings.changed",
        subject: { type: "user", id: userId },
        after: { events: saved.events },
      });
      return saved;
    });
  } catch (error) {
    if (violatedForeignKey(error)) throw new KitError("NOT_FOUND", "Your account no longer exists.");
    throw error;
  }
}

/**
 * For the notifications dispatcher, in its transaction: the users of `userIds` that still exist,
 * with their e-mail, locale (`en` by default) and switches for `type`. Three indexed reads.
 */
export async function notificationRecipients(
  { db }: { db: Database | Transaction },
  userIds: readonly string[],
  type: NotificationEventType,
): Promise<NotificationRecipientSettings[]> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return [];
  // One after the other: in a transaction the three share one connection anyway.
  const people = await db.select({ id: user.id, email: user.email }).from(user).where(inArray(user.id, ids));
  const locales = await db
    .select({ userId: userSettings.userId, locale: userSettings.locale })
    .from(userSettings)
    .where(inArray(userSettings.userId, ids));
  const switches = await db
    .select()
    .from(notificationSettings)
    .where(and(inArray(notificationSettings.userId, ids), eq(notificationSettings.eventType, type)));
  const localeOf = new Map(locales.map((row) => [row.userId, row.locale]));
  const defaults = NOTIFICATION_CATALOGUE[type].defaults;
  return people.map((person) => {
    const channels = { ...defaults };
    for (const row of switches) if (row.userId === person.id) channels[row.channel] = row.enabled;
    return { userId: person.id, email: person.email, locale: localeOf.get(person.id) ?? "en", channels };
  });
}
