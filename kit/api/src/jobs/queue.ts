// The producer side of the job queue: one BullMQ Queue on its own Redis connection, in every process.
import { type JobsOptions, Queue } from "bullmq";
import type { Config } from "../config";
import type { JobDefinition, JobQueue } from "../deps";
import type { Logger } from "../infra/log";
import { closeRedis, createQueueRedis } from "../infra/redis";
import { jobDefinitions } from "./registry";

/** One queue for every job; the job's name picks its definition. */
export const QUEUE_NAME = "jobs";

/**
 * BullMQ's key prefix. Under REDIS_KEY_PREFIX, so tests and tenants sharing a server never collide
 * (and the test harness's sweep of its prefix removes the queue too); the `{…}` hash tag keeps all
 * of a queue's keys in one Redis Cluster slot, which BullMQ's multi-key scripts need.
 */
export function queuePrefix(config: Pick<Config, "redis">): string {
  return `${config.redis.keyPrefix}{bull}`;
}

/** Retries with exponential backoff; finished jobs are kept a while for inspection, not forever. */
export function jobOptions(definition: Pick<JobDefinition<string>, "attempts" | "backoffMs"> | undefined): JobsOptions {
  return {
    attempts: Math.max(1, definition?.attempts ?? 3),
    backoff: { type: "exponential", delay: definition?.backoffMs ?? 5_000 },
    removeOnComplete: { age: 24 * 60 * 60, count: 1_000 },
    removeOnFail: { age: 7 * 24 * 60 * 60, count: 1_000 },
  };
}

export function createJobQueue(
  config: Pick<Config, "redis" | "fx" | "operations" | "webhooks" | "notifications" | "mail">,
  log: Logger,
  definitions: readonly JobDefinition<string>[] = jobDefinitions(config),
): JobQueue {
  const connection = createQueueRedis(config, log, "producer");
  const queue = new Queue(QUEUE_NAME, { connection, prefix: queuePrefix(config) });
  // Connection failures also reach the connection's own listener (one line per outage); this one
  // only keeps an unhandled 'error' event from crashing the process.
  queue.on("error", () => {});
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
  return {
    async enqueue(name, data = {}) {
      // Before its first connection BullMQ waits for Redis indefinitely; a caller should hear at once.
      if (connection.status !== "ready") throw new Error("job queue unavailable: Redis is not connected");
      const job = await queue.add(name, data, jobOptions(byName.get(name)));
      if (!job.id) throw new Error(`job queue returned no id for ${name}`);
      return { id: job.id };
    },
    async close() {
      await queue.close().catch(() => {});
      await closeRedis(connection);
    },
  };
}
