import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route" | "status">;
  rateLimitFailOpen: Counter;
}

/** One registry per app instance, so several apps in one test process never share counters. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "kit_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "kit_http_requests_total",
      help: "HTTP requests by procedure (or fixed route) and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "kit_http_request_duration_seconds",
      help: "HTTP request duration by procedure (or fixed route) and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    rateLimitFailOpen: new Counter({
      name: "kit_rate_limit_fail_open_total",
      help: "Procedure calls let through because the rate limiter (Redis) was unreachable",
      registers: [registry],
    }),
  };
}
