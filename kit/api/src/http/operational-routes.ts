// /health, /ready and /metrics: what every role answers on PORT, for probes and scrapes.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Hono } from "hono";
import type { Deps } from "../deps";
import { checkDependencies } from "../domains/system/service";
import type { RunningIndexer } from "../domains/tokens/indexer";
import type { Metrics } from "../infra/metrics";
import type { ReplicaGuard } from "../infra/replica-guard";
import type { RunningWorker } from "../jobs/worker";
import type { AppEnv } from "./app-env";
import { errorResponse } from "./errors";

export interface OperationalOptions {
  /** Set when this process runs the worker: /ready then reports each job's last outcome. */
  worker?: Pick<RunningWorker, "status">;
  /** Set when this process runs the indexer: /ready then reports it (lagging too far: not ready). */
  indexer?: Pick<RunningIndexer, "status">;
  /**
   * Set under a supervisor, where a scrape reaches any one of several processes: the metrics of
   * all of them, aggregated (this process's registry alone would be a random share).
   */
  scrape?: () => Promise<string>;
  /** Set in api processes with a read replica: /ready then reports it (never as a reason to be unready). */
  replica?: Pick<ReplicaGuard, "status">;
}

export function addOperationalRoutes(
  app: Hono<AppEnv>,
  deps: Deps,
  metrics: Metrics,
  { worker, indexer, scrape, replica }: OperationalOptions,
): void {
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    const [dependencies, jobs] = await Promise.all([
      checkDependencies(deps, deps.config.http.readyTimeoutMs),
      // null: Redis did not say (and is then failing itself).
      worker?.status().catch(() => null),
    ]);
    const failing = Object.entries(dependencies)
      .filter(([, s]) => !s.up)
      .map(([name]) => name);
    // A job that fails does not make the process unready; a scheduled job that no longer runs does.
    for (const [name, job] of Object.entries(jobs ?? {})) if (job.overdue) failing.push(`job:${name}`);
    const indexerStatus = indexer?.status();
    if (indexerStatus && !indexerStatus.ready) failing.push("indexer");
    return c.json(
      {
        status: failing.length === 0 ? "ready" : "not_ready",
        failing,
        dependencies,
        ...(worker ? { jobs } : {}),
        ...(indexerStatus ? { indexer: indexerStatus } : {}),
        // Reported, never failing: while it lags or is down, the lists read the primary.
        ...(replica ? { replica: replica.status() } : {}),
      },
      failing.length === 0 ? 200 : 503,
    );
  });
  app.get("/metrics", async (c) => {
    const token = deps.config.http.metricsToken;
    if (token && !bearerMatches(c.req.header("authorization"), token)) {
      c.header("www-authenticate", 'Bearer realm="metrics"');
      return errorResponse(c, {
        code: "UNAUTHORIZED",
        status: 401,
        message: "/metrics needs `Authorization: Bearer <METRICS_TOKEN>`.",
      });
    }
    const text = await (scrape ? scrape().catch(() => undefined) : metrics.registry.metrics());
    if (text === undefined) {
      return errorResponse(c, {
        code: "SERVICE_UNAVAILABLE",
        status: 503,
        message: "The supervisor did not answer with its processes' metrics; scrape again.",
      });
    }
    return c.body(text, 200, { "content-type": metrics.registry.contentType });
  });
}

/** `Bearer <token>`, compared in constant time (digests: equal lengths whatever was sent). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match?.[1] ?? ""), digest(token)) && match !== null;
}
