import { callerMay } from "../../rpc/access";
import type { UserContext } from "../../rpc/context";
import { userProcedure } from "../../rpc/implement";
import { listDeliveries, replayDelivery } from "./delivery-log";
import {
  createEndpoint,
  getEndpoint,
  listEndpoints,
  removeEndpoint,
  rotateSecret,
  updateEndpoint,
  type WebhookActor,
} from "./endpoints";

// Every procedure acts for the caller: their own endpoints, and the system's when their role (and
// key) may manage the system.
const actorOf = (context: UserContext): WebhookActor => ({
  userId: context.user.id,
  mayManageSystem: callerMay(context.caller, { settings: ["manage_system"] }, { settings: ["manage_system"] }),
});
const w = userProcedure.webhooks;

export const webhooksRouter = {
  endpoints: {
    list: w.endpoints.list.handler(({ context, input }) => listEndpoints(context, actorOf(context), input.scope)),
    create: w.endpoints.create.handler(({ context, input }) => createEndpoint(context, actorOf(context), input)),
    get: w.endpoints.get.handler(({ context, input }) => getEndpoint(context, actorOf(context), input.id)),
    update: w.endpoints.update.handler(({ context, input: { id, ...patch } }) =>
      updateEndpoint(context, actorOf(context), id, patch),
    ),
    remove: w.endpoints.remove.handler(({ context, input }) => removeEndpoint(context, actorOf(context), input.id)),
    rotateSecret: w.endpoints.rotateSecret.handler(({ context, input }) =>
      rotateSecret(context, actorOf(context), input.id, input.overlapHours),
    ),
  },
  deliveries: {
    list: w.deliveries.list.handler(({ context, input }) => listDeliveries(context, actorOf(context), input)),
    replay: w.deliveries.replay.handler(({ context, input }) => replayDelivery(context, actorOf(context), input.id)),
  },
};
