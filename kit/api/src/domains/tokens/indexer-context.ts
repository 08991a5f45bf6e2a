// What the indexer's parts share (indexer.ts leads; indexer-step.ts, indexer-reorg.ts,
// indexer-sources.ts, quarantine.ts and indexer-progress.ts act on it): the clients it was given,
// and the state it keeps from one step to the next.
import type { Config } from "../../config";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { BlockHeader, ChainReader, RangeSizer, RawLog } from "./chain-reader";
import type { FactorySource } from "./discovery";
import type { IndexerStatus } from "./indexer-status";
import type { IndexerMetrics } from "./metrics";
import type { Checkpoint } from "./store-checkpoint";

export interface IndexerDeps {
  config: Pick<Config, "db" | "redis" | "indexer"> & {
    chain: Pick<Config["chain"], "deploymentFile"> & { rpcUrl: string };
  };
  redis: Redis;
  log: Logger;
}

/** The contracts a range's logs are read from, and what each one is. */
export type ContractRoles = Map<string, "token" | "registry" | "factory">;

/** Headers first, then logs, of one range (see readRange in indexer-step.ts). */
export interface RangeRead {
  to: number;
  headers: Map<number, BlockHeader>;
  logs: RawLog[];
}

export interface IndexerContext {
  readonly deps: IndexerDeps;
  readonly reader: ChainReader;
  readonly log: Logger;
  readonly metrics?: IndexerMetrics;
  readonly sizer: RangeSizer;
  state: Omit<IndexerStatus, "state">;
  /** The last failure, redacted: for the log and admins, never for /ready. */
  lastError: { message: string; at: string } | undefined;
  lastReport: number;
  /** Opening balances the node refused, by token: attempts in a row. */
  openingRefusals: Map<string, number>;
  chainId: number;
  checkpoint: Checkpoint | undefined;
  factories: FactorySource[];
  deploymentFileMtime: number | undefined;
  lastSourcesCheck: number;
  progress: { at: number; block: number; events: number };
  failures: number;
  prefetched: { from: number; rolesKey: string; range: Promise<RangeRead | undefined> } | undefined;
}
