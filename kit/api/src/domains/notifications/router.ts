import { userProcedure } from "../../rpc/implement";
import { listNotifications, markAllRead, markRead, unreadCount, watchInbox } from "./inbox";

// Every procedure acts on the caller's own inbox: there is no user id in the API to get wrong.
export const notificationsRouter = {
  list: userProcedure.notifications.list.handler(({ context, input }) =>
    listNotifications(context, context.user.id, input),
  ),
  unreadCount: userProcedure.notifications.unreadCount.handler(async ({ context }) => ({
    unread: await unreadCount(context, context.user.id),
  })),
  markRead: userProcedure.notifications.markRead.handler(({ context, input }) =>
    markRead(context, context.user.id, input.id),
  ),
  markAllRead: userProcedure.notifications.markAllRead.handler(({ context }) => markAllRead(context, context.user.id)),
  events: userProcedure.notifications.events.handler(({ context, signal }) =>
    watchInbox(context, context.user.id, signal),
  ),
};
