// Each job's last success and last failure, kept in Redis so any process can report them.
import type { Redis } from "../infra/redis";

export interface JobRunStatus {
  lastSuccessAt: string | null;
  /** When the job last failed for good (every attempt used), not a retried attempt. */
  lastFailureAt: string | null;
}

/**
 * A scheduled job is overdue when it has not run (succeeded or failed for good) for more than twice
 * its interval: its schedule is lost or no worker takes it. `since` is what the worker knows besides
 * the status (its start, a schedule it had to set again, a run it made or read before Redis lost
 * it), and counts when later: a fresh worker is not unready for a job whose first run is yet to
 * come. A run that fails is a run: its failures are in `lastFailureAt`, the logs and the metrics,
 * and a provider being down is no reason to take the process out of service.
 */
export function isOverdue(everySeconds: number | undefined, status: JobRunStatus, since: number, now: number): boolean {
  if (everySeconds === undefined) return false;
  return now - Math.max(since, lastRunAt(status)) > 2 * everySeconds * 1000;
}

/** When the job last ended, either way (ms since the epoch; 0 if never). */
export function lastRunAt(status: JobRunStatus): number {
  return Math.max(timeOf(status.lastSuccessAt), timeOf(status.lastFailureAt));
}

function timeOf(iso: string | null): number {
  const time = iso === null ? Number.NaN : Date.parse(iso);
  return Number.isNaN(time) ? 0 : time;
}

// One hash tag for every job: their statuses are read in one pipeline, which on a Redis Cluster must stay on one node.
const statusKey = (name: string) => `jobs:{last}:${name}`;

export async function recordJobOutcome(
  redis: Redis,
  name: string,
  outcome: "success" | "failure",
  at = new Date(),
): Promise<void> {
  await redis.hset(statusKey(name), outcome === "success" ? "lastSuccessAt" : "lastFailureAt", at.toISOString());
}

/** One round trip for every name; a job that never ran reads as nulls. */
export async function readJobStatus(redis: Redis, names: readonly string[]): Promise<Record<string, JobRunStatus>> {
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.hgetall(statusKey(name));
  const results = (await pipeline.exec()) ?? [];
  return Object.fromEntries(
    names.map((name, i) => {
      const [error, value] = results[i] ?? [new Error("no reply"), null];
      if (error) throw error;
      const fields = (value ?? {}) as Record<string, string>;
      return [name, { lastSuccessAt: fields.lastSuccessAt ?? null, lastFailureAt: fields.lastFailureAt ?? null }];
    }),
  );
}
