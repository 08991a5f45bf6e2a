import type { SignedInCaller } from "../../rpc/context";
import { userProcedure } from "../../rpc/implement";
import { createBatch, getBatch, listBatches, submitBatch } from "./service";

// `tokens: operate` (issuers, admins; rpc/access.ts), then a grant on the batch's token (service.ts).
const actorOf = ({ user }: SignedInCaller) => ({ id: user.id, role: user.role });
const b = userProcedure.tokens.operations.batches;

export const batchesRouter = {
  create: b.create.handler(({ context, input }) => createBatch(context, actorOf(context.caller), input)),
  submit: b.submit.handler(({ context, input }) => submitBatch(context, actorOf(context.caller), input.id)),
  list: b.list.handler(({ context, input }) => listBatches(context, actorOf(context.caller), input)),
  get: b.get.handler(({ context, input }) => getBatch(context, actorOf(context.caller), input.id)),
};
