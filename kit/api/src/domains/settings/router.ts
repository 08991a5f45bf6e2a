import { signedIn } from "../../rpc/access";
import { os } from "../../rpc/implement";
import {
  getNotificationSettings,
  getSystemSettings,
  getUserSettings,
  replaceNotificationSettings,
  updateSystemSettings,
  updateUserSettings,
} from "./service";

// Every procedure acts on the caller's own settings: there is no user id in the API to get wrong.
export const settingsRouter = {
  get: os.settings.get.handler(({ context }) => getUserSettings(context, signedIn(context.caller).user.id)),
  update: os.settings.update.handler(({ context, input }) =>
    updateUserSettings(context, signedIn(context.caller).user.id, input),
  ),
  notifications: {
    get: os.settings.notifications.get.handler(({ context }) =>
      getNotificationSettings(context, signedIn(context.caller).user.id),
    ),
    update: os.settings.notifications.update.handler(({ context, input }) =>
      replaceNotificationSettings(context, signedIn(context.caller).user.id, input),
    ),
  },
  system: {
    get: os.settings.system.get.handler(({ context }) => getSystemSettings(context)),
    update: os.settings.system.update.handler(({ context, input }) =>
      updateSystemSettings(context, signedIn(context.caller).user.id, input),
    ),
  },
};
