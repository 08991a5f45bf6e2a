import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { counterIn, gaugeIn, histogramIn } from "../../infra/metrics";

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

/** The indexer's series in the process's registry (/metrics of its role), the same ones each time. */
export function indexerMetrics(registry: Registry): IndexerMetrics {
  return {
    active: gaugeIn(registry, {
      name: "kit_indexer_active",
      help: "1 while this process holds the indexer lock and indexes; 0 while it waits to take over",
    }),
    headBlock: gaugeIn(registry, { name: "kit_indexer_head_block", help: "The chain head last seen" }),
    indexedBlock: gaugeIn(registry, {
      name: "kit_indexer_indexed_block",
      help: "The checkpoint: every block up to it is in the tables",
    }),
    lagBlocks: gaugeIn(registry, { name: "kit_indexer_lag_blocks", help: "Head minus checkpoint" }),
    eventsPerSecond: gaugeIn(registry, {
      name: "kit_indexer_events_per_second",
      help: "Events (transfers and state events) committed per second over the last progress interval",
    }),
    events: counterIn(registry, {
      name: "kit_indexer_events_total",
      help: "Events committed, by kind (transfer, state)",
      labelNames: ["kind"],
    }),
    blocks: counterIn(registry, { name: "kit_indexer_blocks_total", help: "Blocks indexed" }),
    batches: counterIn(registry, { name: "kit_indexer_batches_total", help: "Batches committed" }),
    reorgs: counterIn(registry, { name: "kit_indexer_reorgs_total", help: "Reorgs rolled back" }),
    quarantinedTokens: gaugeIn(registry, {
      name: "kit_indexer_quarantined_tokens",
      help: "Tokens left out of indexing because their events could not be applied (see system.indexer)",
    }),
    batchDuration: histogramIn(registry, {
      name: "kit_indexer_batch_duration_seconds",
      help: "Read + write time of one committed batch",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
  };
}
