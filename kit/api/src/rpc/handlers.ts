// The two oRPC handlers (/rpc for the typed client, /api as REST) and how errors leave them.
import { OpenAPIHandler } from "@orpc/openapi/fetch";
import { ORPCError, type Router, ValidationError } from "@orpc/server";
import { RPCHandler } from "@orpc/server/fetch";
import { ResponseHeadersPlugin } from "@orpc/server/plugins";
import type { StandardHandlerOptions } from "@orpc/server/standard";
import type { z } from "zod";
import { KitError } from "../errors";
import { isDatabaseUnavailable } from "../infra/db";
import type { base, KitMeta, validationIssue } from "./base";
import type { RequestContext } from "./context";
import { declaredErrors } from "./declared-errors";

type Issue = z.infer<typeof validationIssue>;
/** The codes every procedure declares (rpc/base.ts), so the typed client knows each one it can see. */
type DeclaredCode = keyof (typeof base)["~orpc"]["errorMap"];

/**
 * Input validation failures become a BAD_REQUEST that lists each issue with its path, so a
 * caller can fix the field. Postgres out of reach becomes SERVICE_UNAVAILABLE (the HTTP layer adds
 * Retry-After). Unexpected errors are logged here (with the request id) and leave as a plain 500
 * whose message says nothing about the internals.
 */
type Options = StandardHandlerOptions<RequestContext>;
type ClientInterceptor = NonNullable<Options["clientInterceptors"]>[number];
type HandlerInterceptor = NonNullable<Options["interceptors"]>[number];

/** Errors shapeErrors already logged, so the handler's own interceptor does not log them again. */
const logged = new WeakSet<object>();

export const DATABASE_UNAVAILABLE_MESSAGE = "Kit's database cannot be reached right now; retry in a few seconds.";

const shapeErrors: ClientInterceptor = async ({ context, path, procedure: definition, next }) => {
  const procedure = path.join(".");
  context.recordProcedure(procedure);
  try {
    return await next();
  } catch (error) {
    if (error instanceof KitError) {
      // A 503 is ours to fix (a dependency down, a key not configured): on record with the request
      // id and the cause, which may say more than the caller is told.
      if (error.code === "SERVICE_UNAVAILABLE") {
        context.log.warn({ err: error, procedure }, "procedure answered 503");
      }
      // /api/openapi.json lists the procedure's declared errors only: an answer outside them is a
      // gap in its contract's meta.errors, for a developer to close (the caller still gets it).
      if (!declaredErrors({ meta: definition["~orpc"].meta as KitMeta }).includes(error.code)) {
        context.log.warn({ procedure, code: error.code }, "procedure answered an error its contract does not list");
      }
      const data = error.issues ? { issues: error.issues } : undefined;
      // Typed so that a KitError code missing from the shared error map fails to compile.
      const code: DeclaredCode = error.code;
      throw new ORPCError(code, { defined: true, message: error.message, data });
    }
    if (error instanceof ORPCError && error.code === "BAD_REQUEST" && error.cause instanceof ValidationError) {
      const issues: Issue[] = error.cause.issues.map((issue) => ({
        path: (issue.path ?? []).map((p) => (typeof p === "object" ? String(p.key) : String(p))).join("."),
        message: issue.message,
      }));
      const summary = issues
        .slice(0, 3)
        // zod's own messages for a whole-input problem already start with "Invalid input".
        .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message.replace(/^Invalid input: /, "")))
        .join("; ");
      throw new ORPCError("BAD_REQUEST", {
        defined: true,
        message: `Invalid input: ${summary}${issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""}`,
        data: { issues },
        cause: error.cause,
      });
    }
    if (!(error instanceof ORPCError) && isDatabaseUnavailable(error)) {
      context.log.warn({ err: error, procedure }, "procedure failed: database unavailable");
      const unavailable = new ORPCError("SERVICE_UNAVAILABLE", {
        defined: true,
        message: DATABASE_UNAVAILABLE_MESSAGE,
      });
      logged.add(unavailable);
      throw unavailable;
    }
    if (!(error instanceof ORPCError) || error.status >= 500) {
      context.log.error({ err: error, procedure }, "procedure failed");
      if (typeof error === "object" && error !== null) logged.add(error);
    }
    throw error;
  }
};

const logHandlerFaults: HandlerInterceptor = async ({ context, next }) => {
  try {
    return await next();
  } catch (error) {
    // Errors before a procedure is chosen (malformed bodies) are the caller's; only log real faults.
    const fault = !(error instanceof ORPCError) || error.status >= 500;
    if (fault && !(typeof error === "object" && error !== null && logged.has(error))) {
      context.log.error({ err: error }, "rpc handler failed");
    }
    throw error;
  }
};

// biome-ignore lint/suspicious/noExplicitAny: a router of any contract is served the same way
export function createRpcHandlers(router: Router<any, RequestContext>) {
  // A fresh object per handler: plugins add their interceptors to the options they are given.
  const options = (): Options => ({
    clientInterceptors: [shapeErrors],
    interceptors: [logHandlerFaults],
    // The response-header channel of the context (`resHeaders`, rpc/context.ts).
    plugins: [new ResponseHeadersPlugin<RequestContext>()],
  });
  return {
    rpc: new RPCHandler<RequestContext>(router, options()),
    openapi: new OpenAPIHandler<RequestContext>(router, options()),
  };
}
