// Every job the worker runs, by name. A job is added here, then given a definition in jobs/registry.ts.
export const JOB_NAMES = ["fx.refresh"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** The producer side, available to every process (an api enqueues, a worker runs). */
export interface JobQueue {
  /** Queues one run of `name` now; resolves with the job id (for status lookups). */
  enqueue(name: JobName, data?: Record<string, unknown>): Promise<{ id: string }>;
  close(): Promise<void>;
}
