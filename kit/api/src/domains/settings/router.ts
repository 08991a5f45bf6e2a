import { userProcedure } from "../../rpc/implement";
import { auditActorOf } from "../audit/record";
import { getNotificationSettings, replaceNotificationSettings } from "./notifications";
import { getSystemSettings, getUserSettings, updateSystemSettings, updateUserSettings } from "./service";

// Every procedure acts on the caller's own settings: there is no user id in the API to get wrong.
export const settingsRouter = {
  get: userProcedure.settings.get.handler(({ context }) => getUserSettings(context, context.user.id)),
  update: userProcedure.settings.update.handler(({ context, input }) =>
    updateUserSettings(context, context.user.id, input),
  ),
  notifications: {
    get: userProcedure.settings.notifications.get.handler(({ context }) =>
      getNotificationSettings(context, context.user.id),
    ),
    update: userProcedure.settings.notifications.update.handler(({ context, input }) =>
      replaceNotificationSettings(context, auditActorOf(context), input),
    ),
  },
  system: {
    get: userProcedure.settings.system.get.handler(({ context }) => getSystemSettings(context)),
    update: userProcedure.settings.system.update.handler(({ context, input }) =>
      updateSystemSettings(context, auditActorOf(context), input),
    ),
  },
};
