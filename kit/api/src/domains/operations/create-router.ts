import { userProcedure } from "../../rpc/implement";
import { requestCreation } from "./create";

// `tokens: create` (issuers, admins; keys: tokens: create), checked by rpc/access.ts. No grant is
// needed: the token does not exist yet; its creator is granted on it once it does.
export const createTokenRouter = {
  create: userProcedure.tokens.create.handler(({ context, input }) =>
    requestCreation(
      context,
      { id: context.user.id, role: context.user.role },
      input,
      context.headers.get("idempotency-key"),
    ),
  ),
};
