// What a supervisor and its processes say to each other over Bun's IPC channel.
import type { MetricObjectWithValues, MetricValue } from "prom-client";

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** From a supervised process to its supervisor. */
export type ChildMessage =
  /** Listening (api) or running (worker, indexer): the supervisor may now drain the process it replaces. */
  | { kind: "ready" }
  /** A scrape reached this process: it asks for the whole group's metrics. */
  | { kind: "scrape"; id: number }
  /** This process's own metrics, as the supervisor asked with `collect`. */
  | { kind: "collected"; id: number; metrics: MetricsJson };

/** From the supervisor to one of its processes. */
export type SupervisorMessage =
  | { kind: "collect"; id: number }
  /** The answer to `scrape`: every process's metrics aggregated, in Prometheus's text format. */
  | { kind: "scraped"; id: number; text: string };
