// The in-app inbox: every signed-in user reads and marks their own notifications, and nobody
// else's (no procedure takes a user id). A notification's id is its event's id.
import { eventIterator } from "@orpc/contract";
import { z } from "zod";
import { isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { NOTIFICATION_EVENT_TYPES } from "../../notification-catalogue";
import { base } from "../../rpc/base";

const notification = z.object({
  id: z.uuid().meta({ description: "The event's id (the same in e-mails and webhooks: `webhook-id`)" }),
  type: z.enum(NOTIFICATION_EVENT_TYPES),
  data: z
    .record(z.string(), z.unknown())
    .meta({ description: "What the event carries, by type (see docs/notifications.md)" }),
  occurredAt: isoDateTime,
  readAt: isoDateTime.nullable(),
});

const unreadFilter = z
  .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
  .optional()
  .meta({ description: "`true`: only unread notifications" });

const listInput = z.object({
  unread: unreadFilter,
  cursor: pageCursor(200),
  limit: pageLimit(100).default(20),
});

const page = z.object({
  items: z.array(notification),
  nextCursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last" }),
});

const unreadCount = z.object({ unread: z.number().int().min(0) });

/** What the live stream sends: the unread count first, then with each new notification or change. */
const inboxEvent = z.object({
  unread: z.number().int().min(0),
  notification: notification.optional().meta({ description: "A notification that just arrived" }),
});

export type NotificationView = z.infer<typeof notification>;
export type NotificationPage = z.infer<typeof page>;
export type ListNotificationsInput = z.infer<typeof listInput>;
export type InboxEvent = z.infer<typeof inboxEvent>;
/** The live stream's message on Redis (one shape with the event, checked again when received). */
export const inboxMessage = inboxEvent;

const tags = ["notifications"];
const read = { notifications: ["read" as const] };
const write = { notifications: ["write" as const] };

export const notificationsContract = {
  list: base
    .route({ method: "GET", path: "/notifications", tags, summary: "Your notifications, newest first" })
    .meta({ access: "user", keyGrant: read, errors: [] })
    .input(listInput)
    .output(page),
  unreadCount: base
    .route({ method: "GET", path: "/notifications/unread-count", tags, summary: "How many are unread" })
    .meta({ access: "user", keyGrant: read, errors: [] })
    .output(unreadCount),
  markRead: base
    .route({ method: "POST", path: "/notifications/{id}/read", tags, summary: "Mark one notification read" })
    .meta({ access: "user", keyGrant: write, errors: ["NOT_FOUND"] })
    .input(z.object({ id: z.uuid() }))
    .output(notification),
  markAllRead: base
    .route({ method: "POST", path: "/notifications/read-all", tags, summary: "Mark every notification read" })
    .meta({ access: "user", keyGrant: write, errors: [] })
    .output(z.object({ marked: z.number().int().min(0) })),
  events: base
    .route({
      method: "GET",
      path: "/notifications/events",
      tags,
      summary: "Your unread count, then each new notification, as server-sent events",
    })
    .meta({ access: "user", keyGrant: read, errors: [] })
    .output(eventIterator(inboxEvent)),
};
