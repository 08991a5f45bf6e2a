// The worker role: runs queued and scheduled jobs (BullMQ), retries them, counts them in /metrics and
// records each job's last outcome in Redis.
import { Queue, Worker } from "bullmq";
import type { Deps, JobDefinition } from "../deps";
import { createMetrics, type Metrics } from "../infra/metrics";
import { closeRedis, createQueueRedis, redisReady } from "../infra/redis";
import { QUEUE_NAME, queuePrefix } from "./queue";
import { jobDefinitions } from "./registry";
import { jobRunner } from "./run-job";
import { keepSchedules } from "./schedules";
import { isOverdue, type JobRunStatus, lastRunAt, readJobStatus } from "./status";

interface JobStatus extends JobRunStatus {
  /** A scheduled job that has not run for more than twice its interval (see `isOverdue`): not ready. */
  overdue: boolean;
}

export interface RunningWorker {
  /** Where the jobs are counted (the process's registry when one was given). */
  metrics: Metrics;
  /** Each job's last success and failure, whichever worker ran it, and whether it is overdue. */
  status(): Promise<Record<string, JobStatus>>;
  /** Takes no new job, waits for the running ones to finish, then closes its connections. */
  close(): Promise<void>;
}

export async function startWorker(
  deps: Deps,
  definitions: readonly JobDefinition<string>[] = jobDefinitions(deps.config),
  options: { metrics?: Metrics } = {},
): Promise<RunningWorker> {
  const { config, log } = deps;
  const metrics = options.metrics ?? createMetrics();
  const prefix = queuePrefix(config);
  // The worker's own connection: schedules are managed through it, and BullMQ duplicates it for the
  // Worker's two (one of them blocks on reads).
  const connection = createQueueRedis(config, log, "worker");
  const queue = new Queue(QUEUE_NAME, { connection, prefix });
  queue.on("error", () => {}); // connection failures are logged by the connection itself

  // For each job, the latest moment this worker knows it ran or was scheduled: its own start, a
  // schedule it set again, a run it made or read. In memory, so that Redis losing the recorded
  // outcomes (a flush) does not make a job that runs look overdue (see isOverdue).
  const startedAt = Date.now();
  const knownSince = new Map(definitions.map((d) => [d.name, startedAt]));
  const noteRun = (name: string, at: number) => {
    if (at > (knownSince.get(name) ?? 0)) knownSince.set(name, at);
  };

  const worker = new Worker(QUEUE_NAME, jobRunner(deps, definitions, metrics, noteRun), {
    connection,
    prefix,
    concurrency: config.worker.concurrency,
  });
  let lastErrorLogged = 0;
  worker.on("error", (err) => {
    // BullMQ re-emits every failed reconnect of its connections; a line a minute is enough.
    if (Date.now() - lastErrorLogged < 60_000) return;
    lastErrorLogged = Date.now();
    log.warn({ err }, "job worker error");
  });

  let closing: Promise<void> | undefined;

  const schedules = keepSchedules(queue, connection, definitions, log, noteRun);
  const close = () => {
    closing ??= (async () => {
      schedules.stop();
      // With Redis away BullMQ's wait for running jobs never ends, and their results could not be
      // stored anyway: stop at once; their locks lapse and a worker runs them again (stalled jobs).
      await worker.close(connection.status !== "ready");
      await queue.close().catch(() => {});
      await closeRedis(connection);
    })();
    return closing;
  };

  if (await redisReady(connection, 5_000)) {
    try {
      await schedules.started;
    } catch (error) {
      await close();
      throw error;
    }
  } else {
    // The process starts without Redis (see startKit); the schedules land once it is back.
    log.warn("redis is not reachable yet; job schedules will be set when it is");
    schedules.started.catch((err) => {
      if (!closing) log.error({ err }, "could not set the job schedules");
    });
  }
  log.info({ jobs: definitions.map((d) => d.name), concurrency: config.worker.concurrency }, "worker started");

  return {
    metrics,
    async status() {
      const runs = await readJobStatus(
        deps.redis,
        definitions.map((d) => d.name),
      );
      const now = Date.now();
      return Object.fromEntries(
        definitions.map((d) => {
          const run = runs[d.name] ?? { lastSuccessAt: null, lastFailureAt: null };
          noteRun(d.name, lastRunAt(run));
          return [
            d.name,
            { ...run, overdue: isOverdue(d.everySeconds, run, knownSince.get(d.name) ?? startedAt, now) },
          ];
        }),
      );
    },
    close,
  };
}
