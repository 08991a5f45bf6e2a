// Every job the worker runs, by name. A job is added here, then given a definition in jobs/registry.ts.
import type { Metrics } from "../infra/metrics";
import type { Deps } from "../rpc/context";

const JOB_NAMES = [
  "fx.refresh",
  "kyc.clean-up-documents",
  "kyc.expire-approvals",
  "kyc.reencrypt-pii",
  "kyc.onchain.register",
  "kyc.onchain.revoke",
  "kyc.onchain.freeze",
  "kyc.onchain.reconcile",
  "tokens.operations.send",
  "tokens.operations.sweep",
] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** The producer side, available to every process (an api enqueues, a worker runs). */
export interface JobQueue {
  /** Queues one run of `name` now; resolves with the job id (for status lookups). */
  enqueue(name: JobName, data?: Record<string, unknown>): Promise<{ id: string }>;
  close(): Promise<void>;
}

/** What the worker runs for one job name; jobs/registry.ts lists them. */
export interface JobDefinition<Name extends string = JobName> {
  name: Name;
  /** Runs on this schedule, once per interval however many workers run; absent: only when enqueued. */
  everySeconds?: number;
  /** Tries in all; a failed try is retried after `backoffMs`, then twice as long each time. */
  attempts: number;
  /** Delay before the first retry (default 5 s). */
  backoffMs?: number;
  /**
   * Resolves with a small JSON summary, kept with the job and logged; throws to fail the try.
   * `job.attempts` is the tries in all (the last try is `attempt === attempts`).
   * `job.metrics` is the worker's registry (what /metrics of its process shows), for a job's own series.
   */
  run(
    deps: Deps,
    data: Record<string, unknown>,
    job: { id: string; attempt: number; attempts: number; metrics: Metrics },
  ): Promise<unknown>;
}
