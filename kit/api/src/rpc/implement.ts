import { implement } from "@orpc/server";
import { contract } from "../contract";
import { checkAccess, rejectNulCharacters } from "./access";
import type { RequestContext } from "./context";

/**
 * Server side of the contract: each domain's router implements its slice of this. Every
 * procedure passes the access middleware, driven by the meta its contract declares.
 */
export const os = implement(contract)
  .$context<RequestContext>()
  .use(async ({ context, next, procedure }, input) => {
    const caller = await checkAccess(context, procedure["~orpc"].meta);
    rejectNulCharacters(input);
    return next({ context: { caller } });
  });
