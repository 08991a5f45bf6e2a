// The builders a router starts from: each says who may call the procedures built from it.
//
//   publicProcedure.fx.currencies.handler(({ context }) => …)      anyone; context.caller may be anonymous
//   userProcedure.settings.get.handler(({ context }) => …)          context.user is the signed-in user
//
// Who may call is declared once, in the contract's meta (`access`, `permission`, `keyGrant`,
// `rateLimit`), and enforced by one middleware (rpc/access.ts) that every procedure of both builders
// runs first. The builder only hands the handler what that middleware established, typed; that the
// builder matches the meta is checked over the whole router when it is assembled
// (`implementRouter`), so a public procedure built from `userProcedure`, or a user one from
// `publicProcedure`, stops the process at start and fails the tests.
import { implement, isProcedure, ORPCError, os as orpc } from "@orpc/server";
import { contract } from "../contract";
import { checkAccess, rejectNulCharacters } from "./access";
import type { KitMeta } from "./base";
import type { RequestContext } from "./context";

// One middleware per builder, not a shared one plus a second for users: each layer of oRPC middleware
// costs every call a context copy and a span, and these are the hottest lines of Kit.
const callerAccess = orpc
  .$context<RequestContext>()
  .middleware(async ({ context, next, procedure }, input: unknown) => {
    const caller = await checkAccess(context, procedure["~orpc"].meta as KitMeta);
    rejectNulCharacters(input);
    return next({ context: { caller } });
  });

// Runs before input validation, as the access check does: a refused caller never learns whether
// their input was valid.
const userAccess = orpc.$context<RequestContext>().middleware(async ({ context, next, procedure }, input: unknown) => {
  const caller = await checkAccess(context, procedure["~orpc"].meta as KitMeta);
  // Unreachable while the builder matches the meta: the access check refused anonymous callers.
  if (caller.kind !== "user") throw new ORPCError("UNAUTHORIZED", { defined: true });
  rejectNulCharacters(input);
  return next({ context: { caller, user: caller.user } });
});

const os = implement(contract).$context<RequestContext>();

/** Procedures with `access: "public"`: anyone may call them, signed in or not. */
export const publicProcedure = os.use(callerAccess);

/** Procedures for signed-in users (the default `access`): `context.user` and a signed-in `context.caller`. */
export const userProcedure = os.use(userAccess);

type RouterOf = Parameters<typeof os.router>[0];

/**
 * The whole API: oRPC checks that it implements every procedure of the contract (types), and this
 * checks that each procedure was built from the builder its meta calls for.
 */
export function implementRouter<T extends RouterOf>(procedures: T) {
  const router = os.router(procedures);
  const mismatches = builderMismatches(router);
  if (mismatches.length > 0) {
    throw new Error(`Procedures built from the wrong builder (see rpc/implement.ts): ${mismatches.join("; ")}`);
  }
  return router;
}

/** Each procedure whose builder does not match its meta's `access`, as "path: what to use". */
export function builderMismatches(router: unknown, path: string[] = []): string[] {
  if (isProcedure(router)) {
    const meta = router["~orpc"].meta as KitMeta;
    const builtForUsers = router["~orpc"].middlewares.includes(userAccess);
    if (meta.access === "public" && builtForUsers) return [`${path.join(".")}: public, use publicProcedure`];
    if (meta.access !== "public" && !builtForUsers) return [`${path.join(".")}: for users, use userProcedure`];
    return [];
  }
  if (typeof router !== "object" || router === null) return [];
  return Object.entries(router).flatMap(([key, child]) => builderMismatches(child, [...path, key]));
}
