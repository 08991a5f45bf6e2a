// One JSON line and two metrics per request, labelled by procedure or fixed route, never by raw
// path: unknown URLs cannot blow up the metrics' cardinality, and no query string reaches the log.
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../infra/log";
import type { Metrics } from "../infra/metrics";
import type { AppEnv } from "./app-env";

/** Fixed routes are labelled by their pattern; procedures by their name; the rest as one bucket. */
const OPERATIONAL_ROUTES = new Set(["/health", "/ready", "/metrics", "/api/openapi.json", "/docs", "/console"]);

export function accessLog(log: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestLog = log.child({ reqId: c.get("requestId") });
    c.set("log", requestLog);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const path = c.req.path;
    const route = c.get("route") ?? fixedRouteLabel(path);
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    // Paths only, never query strings: they can carry search terms typed by users.
    if (path !== "/health" && path !== "/metrics") {
      requestLog.info(
        { method: c.req.method, path, route, status: c.res.status, ms: Math.round(seconds * 10_000) / 10 },
        "request",
      );
    }
  };
}

function fixedRouteLabel(path: string): string {
  if (OPERATIONAL_ROUTES.has(path)) return path;
  if (path.startsWith("/docs/")) return "/docs/*";
  if (path.startsWith("/console/")) return "/console/*";
  return "unmatched";
}
