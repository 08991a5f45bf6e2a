// Each job's last success and last failure, kept in Redis so any process can report them.
import type { Redis } from "../infra/redis";

export interface JobRunStatus {
  lastSuccessAt: string | null;
  /** When the job last failed for good (every attempt used), not a retried attempt. */
  lastFailureAt: string | null;
}

const statusKey = (name: string) => `jobs:last:${name}`;

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
