// /rpc (the typed client) and /api (REST): Kit's procedures, behind the cross-site check, the body
// limit and the nesting bound. The context built here is everything a procedure receives.
import type { Context, Hono } from "hono";
import type { Deps } from "../deps";
import { trustedOrigins } from "../domains/auth/auth";
import type { Metrics } from "../infra/metrics";
import type { RequestContext } from "../rpc/context";
import type { createRpcHandlers } from "../rpc/handlers";
import type { AppEnv } from "./app-env";
import type { BodyGuards } from "./body-limit";
import { clientAddress } from "./client-ip";
import { refuseCrossSiteRequests } from "./cross-site";
import { markRetryable } from "./errors";

type RpcHandlers = ReturnType<typeof createRpcHandlers>;

export function mountRpc(
  app: Hono<AppEnv>,
  deps: Deps,
  metrics: Metrics,
  handlers: RpcHandlers,
  guards: BodyGuards,
): void {
  // Every rule's series exists from the start, so an alert on its rate sees 0 rather than nothing.
  for (const rule of Object.keys(deps.rateLimitRules)) metrics.rateLimited.inc({ rule }, 0);
  const crossSite = refuseCrossSiteRequests(trustedOrigins(deps.config));
  const mount = (prefix: "/rpc" | "/api", handler: RpcHandlers["rpc" | "openapi"]) => {
    app.use(`${prefix}/*`, crossSite, guards.limitBody, guards.boundNesting, async (c, next) => {
      const context = requestContext(c, deps, metrics);
      const { matched, response } = await handler.handle(c.req.raw, { prefix, context });
      if (!matched) return next();
      return markRetryable(response);
    });
  };
  mount("/rpc", handlers.rpc);
  mount("/api", handlers.openapi);
}

/** Also for the routes served beside the procedures (http/dossier-route.ts): the same context, the same checks. */
export function requestContext(c: Context<AppEnv>, deps: Deps, metrics: Metrics): RequestContext {
  let ip: string | null | undefined;
  return {
    ...deps,
    log: c.get("log"),
    requestId: c.get("requestId"),
    // Resolved on demand: most calls are signed in and never need it.
    clientIp: () => {
      ip ??= clientAddress(c, deps.config.auth.trustProxyHops) ?? null;
      return ip ?? undefined;
    },
    headers: c.req.raw.headers,
    resHeaders: new Headers(),
    metrics,
    recordProcedure: (name) => c.set("route", name),
  };
}
