import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from "prom-client";

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route" | "status">;
  rateLimitFailOpen: Counter;
  /** Calls refused by a rate-limit rule, by rule name: a sustained rise is worth an alert. */
  rateLimited: Counter<"rule">;
  /** Jobs run by this process's worker; a job that is retried counts once, when it succeeds or gives up. */
  jobsCompleted: Counter<"job">;
  jobsFailed: Counter<"job">;
  jobDuration: Histogram<"job">;
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
    rateLimited: new Counter({
      name: "kit_rate_limited_total",
      help: "Procedure calls refused (429) by a rate-limit rule, by rule",
      labelNames: ["rule"],
      registers: [registry],
    }),
    jobsCompleted: new Counter({
      name: "kit_jobs_completed_total",
      help: "Jobs that succeeded, by job name",
      labelNames: ["job"],
      registers: [registry],
    }),
    jobsFailed: new Counter({
      name: "kit_jobs_failed_total",
      help: "Jobs that failed for good (every attempt used, or not retryable), by job name",
      labelNames: ["job"],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: "kit_job_duration_seconds",
      help: "Duration of each job attempt, by job name",
      labelNames: ["job"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
  };
}

// A domain's own series (the indexer's, KYC's), asked for by name: the registry keeps them, so
// asking again returns the same series (prom-client refuses to register a name twice).

export function counterIn<L extends string = string>(
  registry: Registry,
  config: Omit<CounterConfiguration<L>, "registers">,
): Counter<L> {
  return (
    (registry.getSingleMetric(config.name) as Counter<L> | undefined) ??
    new Counter({ ...config, registers: [registry] })
  );
}

export function gaugeIn<L extends string = string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<L>, "registers">,
): Gauge<L> {
  return (
    (registry.getSingleMetric(config.name) as Gauge<L> | undefined) ?? new Gauge({ ...config, registers: [registry] })
  );
}

export function histogramIn<L extends string = string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<L>, "registers">,
): Histogram<L> {
  return (
    (registry.getSingleMetric(config.name) as Histogram<L> | undefined) ??
    new Histogram({ ...config, registers: [registry] })
  );
}
