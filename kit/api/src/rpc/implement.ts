import { implement } from "@orpc/server";
import { contract } from "../contract";
import { checkAccess } from "./access";
import type { RequestContext } from "./context";

/**
 * Server side of the contract: each domain's router implements its slice of this. Every
 * procedure passes the access middleware, driven by the meta its contract declares.
 */
export const os = implement(contract)
  .$context<RequestContext>()
  .use(async ({ context, next, procedure }) => {
    const caller = await checkAccess(context, procedure["~orpc"].meta);
    return next({ context: { caller } });
  });
