import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface IndexerMetrics {
  active: Gauge;
  headBlock: Gauge;
  indexedBlock: Gauge;
  lagBlocks: Gauge;
  eventsPerSecond: Gauge;
  events: Counter<"kind">;
  blocks: Counter;
  batches: Counter;
  reorgs: Counter;
  quarantinedTokens: Gauge;
  batchDuration: Histogram;
}

const created = new WeakMap<Registry, IndexerMetrics>();

/** The indexer's series in the process's registry (once per registry: /metrics of its role). */
export function indexerMetrics(registry: Registry): IndexerMetrics {
  const existing = created.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: IndexerMetrics = {
    active: new Gauge({
      name: "kit_indexer_active",
      help: "1 while this process holds the indexer lock and indexes; 0 while it waits to take over",
      registers,
    }),
    headBlock: new Gauge({ name: "kit_indexer_head_block", help: "The chain head last seen", registers }),
    indexedBlock: new Gauge({
      name: "kit_indexer_indexed_block",
      help: "The checkpoint: every block up to it is in the tables",
      registers,
    }),
    lagBlocks: new Gauge({ name: "kit_indexer_lag_blocks", help: "Head minus checkpoint", registers }),
    eventsPerSecond: new Gauge({
      name: "kit_indexer_events_per_second",
      help: "Events (transfers and state events) committed per second over the last progress interval",
      registers,
    }),
    events: new Counter({
      name: "kit_indexer_events_total",
      help: "Events committed, by kind (transfer, state)",
      labelNames: ["kind"],
      registers,
    }),
    blocks: new Counter({ name: "kit_indexer_blocks_total", help: "Blocks indexed", registers }),
    batches: new Counter({ name: "kit_indexer_batches_total", help: "Batches committed", registers }),
    reorgs: new Counter({ name: "kit_indexer_reorgs_total", help: "Reorgs rolled back", registers }),
    quarantinedTokens: new Gauge({
      name: "kit_indexer_quarantined_tokens",
      help: "Tokens left out of indexing because their events could not be applied (see system.indexer)",
      registers,
    }),
    batchDuration: new Histogram({
      name: "kit_indexer_batch_duration_seconds",
      help: "Read + write time of one committed batch",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
  created.set(registry, metrics);
  return metrics;
}
