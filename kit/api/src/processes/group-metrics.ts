// The supervisor's side of /metrics: a scrape lands on any one process, which asks the supervisor;
// it collects every ready process's registry over IPC and aggregates them the way prom-client's
// cluster aggregation does (counters and histograms summed, gauges by each metric's aggregator),
// with its own series beside them.
import { AggregatorRegistry, Counter, Gauge, Registry } from "prom-client";
import type { MetricsJson } from "./messages";

/** A scrape waits this long for each process's metrics; the late ones are left out of that scrape. */
const COLLECT_TIMEOUT_MS = 2_000;

export interface Collectable {
  roles: readonly string[];
  /** Sends `collect` with this id; the answer comes back through `GroupMetrics.collected`. */
  collect(id: number): void;
}

export class GroupMetrics {
  private readonly registry = new Registry();
  private readonly processes = new Gauge({
    name: "kit_supervisor_processes",
    help: "Processes of the supervisor that are ready, by role",
    labelNames: ["role"],
    registers: [this.registry],
  });
  private readonly scraped = new Gauge({
    name: "kit_supervisor_scraped_processes",
    help: "Processes whose metrics this scrape aggregates (fewer than kit_supervisor_processes: some did not answer in time)",
    registers: [this.registry],
  });
  readonly restarts = new Counter({
    name: "kit_supervisor_restarts_total",
    help: "Processes the supervisor started again: after a crash, or replaced in a rolling restart",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  private readonly waiting = new Map<number, (metrics: MetricsJson) => void>();
  private nextId = 1;

  constructor(private readonly roles: readonly string[]) {}

  /** A process's answer to `collect`. */
  collected(id: number, metrics: MetricsJson): void {
    this.waiting.get(id)?.(metrics);
  }

  /** Every ready process's metrics and the supervisor's own, aggregated (Prometheus text format). */
  async aggregate(ready: readonly Collectable[]): Promise<string> {
    for (const role of this.roles) this.processes.set({ role }, 0);
    for (const process of ready) for (const role of process.roles) this.processes.inc({ role });
    const answers = await Promise.all(ready.map((process) => this.collectFrom(process)));
    const collected = answers.filter((metrics): metrics is MetricsJson => metrics !== undefined);
    this.scraped.set(collected.length);
    return AggregatorRegistry.aggregate([...collected, await this.registry.getMetricsAsJSON()]).metrics();
  }

  private collectFrom(process: Collectable): Promise<MetricsJson | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, COLLECT_TIMEOUT_MS);
      this.waiting.set(id, (metrics) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(metrics);
      });
      process.collect(id);
    });
  }
}
