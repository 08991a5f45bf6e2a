// The in-app inbox: the channel's fan-out (one row per event and recipient, written in the
// dispatcher's transaction), the owner's reads and marks, and the live stream. Each change is
// published on `{prefix}notifications:{userId}` after its commit; pub/sub keeps nothing, so a
// stream starts with the unread count and a client that reconnects reads the list again.
import type { AsyncIteratorClass } from "@orpc/server";
import { and, count, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Config } from "../../config";
import { decodeCursor, encodeCursor, MICROSECOND_TIME } from "../../cursor";
import type { ProcessLocal } from "../../deps";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import { LiveStreamHub } from "../../infra/live-streams";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import {
  type InboxEvent,
  inboxMessage,
  type ListNotificationsInput,
  type NotificationPage,
  type NotificationView,
} from "./contract";
import type { AfterCommit, ChannelFanOut, NotificationRecipient } from "./dispatch";
import { notifications } from "./schema";

export interface InboxDeps {
  config: Pick<Config, "redis">;
  db: Database;
  redis: Redis;
  log: Logger;
}

type InboxRow = typeof notifications.$inferSelect;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Open inbox streams one user may hold on one process (tabs, devices). */
const MAX_INBOX_STREAMS_PER_USER = 5;

function view(row: Pick<InboxRow, "eventId" | "type" | "data" | "createdAt" | "readAt">): NotificationView {
  return {
    id: row.eventId,
    type: row.type,
    data: row.data,
    occurredAt: row.createdAt.toISOString(),
    readAt: row.readAt?.toISOString() ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// The channel

/**
 * The in-app channel's fan-out: one inbox row per recipient whose in-app switch is on (the
 * dispatcher filters), unique per (user, event), so a batch redone after a crash adds nothing.
 * Only rows inserted now are announced, after the dispatcher's commit.
 */
export const inAppFanOut: ChannelFanOut = async (tx, event, recipients) => {
  if (recipients.length === 0) return;
  const inserted = await tx
    .insert(notifications)
    .values(
      recipients.map((recipient: NotificationRecipient) => ({
        userId: recipient.userId,
        eventId: event.id,
        type: event.type,
        data: event.data as unknown as Record<string, unknown>,
        createdAt: event.occurredAt,
      })),
    )
    .onConflictDoNothing()
    .returning();
  if (inserted.length === 0) return;
  const announce: AfterCommit = (deps) =>
    Promise.all(inserted.map((row) => publishInbox(deps, row.userId, view(row)))).then(() => {});
  return announce;
};

// ---------------------------------------------------------------------------------------------
// The owner's reads and marks

const byNewest = [desc(notifications.createdAt), desc(notifications.eventId)];

export async function listNotifications(
  { db }: { db: Database },
  userId: string,
  input: ListNotificationsInput,
): Promise<NotificationPage> {
  const conditions = [eq(notifications.userId, userId)];
  if (input.unread) conditions.push(isNull(notifications.readAt));
  if (input.cursor) {
    const [time, id] = decodeCursor(input.cursor, [MICROSECOND_TIME, UUID]) as [string, string];
    conditions.push(
      or(
        lt(notifications.createdAt, sql`${time}::timestamptz`),
        and(eq(notifications.createdAt, sql`${time}::timestamptz`), lt(notifications.eventId, id)),
      ) as ReturnType<typeof eq>,
    );
  }
  const rows = await db
    .select({
      row: notifications,
      // To the microsecond: a JavaScript Date would cut the cursor to milliseconds and skip rows.
      at: sql<string>`to_char(${notifications.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(notifications)
    .where(and(...conditions))
    .orderBy(...byNewest)
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return {
    items: items.map(({ row }) => view(row)),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.at, last.row.eventId]) : null,
  };
}

export async function unreadCount({ db }: { db: Database }, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return row?.n ?? 0;
}

/** Marks one of the caller's notifications read (again: keeps the first time). NOT_FOUND for anyone else's. */
export async function markRead(deps: InboxDeps, userId: string, id: string): Promise<NotificationView> {
  const [updated] = await deps.db
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
    .where(and(eq(notifications.userId, userId), eq(notifications.eventId, id)))
    .returning();
  // Someone else's notification answers exactly like one that does not exist.
  if (!updated) throw new KitError("NOT_FOUND", `You have no notification ${id}; GET /api/notifications lists yours.`);
  await publishInbox(deps, userId);
  return view(updated);
}

export async function markAllRead(deps: InboxDeps, userId: string): Promise<{ marked: number }> {
  const marked = await deps.db
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)))
    .returning({ id: notifications.eventId });
  if (marked.length > 0) await publishInbox(deps, userId);
  return { marked: marked.length };
}

// ---------------------------------------------------------------------------------------------
// Live

const inboxChannel = (config: Pick<Config, "redis">, userId: string) =>
  `${config.redis.keyPrefix}notifications:${userId}`;

/** The process's hub of inbox streams (deps.local.inboxStreams, made by createDeps). */
export function createInboxStreams(deps: { redis: Redis; log: Logger }): LiveStreamHub<InboxEvent> {
  return new LiveStreamHub(deps, {
    name: "notification-events",
    schema: inboxMessage,
    maxBuffered: 32,
    unavailable: "Live notifications are unavailable right now; retry in a few seconds.",
  });
}

/**
 * After a commit: tells the user's streams their unread count (and what arrived). Never throws: a
 * lost message is logged, and the list and count read after a reconnect show the truth.
 */
async function publishInbox(
  deps: Omit<InboxDeps, "db"> & { db: Database },
  userId: string,
  notification?: NotificationView,
): Promise<void> {
  try {
    const event: InboxEvent = { unread: await unreadCount(deps, userId), ...(notification ? { notification } : {}) };
    await deps.redis.publish(inboxChannel(deps.config, userId), JSON.stringify(event));
  } catch (error) {
    deps.log.warn({ err: error }, "could not publish an inbox change; open streams show it after a reconnect");
  }
}

/** The unread count first, then each change, until `signal` aborts. TOO_MANY_REQUESTS past the cap. */
export async function watchInbox(
  deps: InboxDeps & { local: Pick<ProcessLocal, "inboxStreams"> },
  userId: string,
  signal: AbortSignal | undefined,
): Promise<AsyncIteratorClass<InboxEvent, undefined>> {
  // Subscribed before the count is read: a change in between is buffered, not lost.
  const listener = await deps.local.inboxStreams.open(inboxChannel(deps.config, userId), {
    cap: {
      key: userId,
      max: MAX_INBOX_STREAMS_PER_USER,
      message: `You already have ${MAX_INBOX_STREAMS_PER_USER} live notification streams open; close one (another tab or device) first.`,
    },
    expand: (message: InboxEvent) => [message],
    log: deps.log,
  });
  try {
    const unread = await unreadCount(deps, userId);
    listener.rewrite((buffered) => [{ unread }, ...buffered]);
  } catch (error) {
    listener.end("failed");
    throw error;
  }
  return listener.stream(signal);
}
