// The worker role: runs queued and scheduled jobs (BullMQ), retries them, counts them in /metrics and
// records each job's last outcome in Redis.
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Deps, JobDefinition } from "../deps";
import { createMetrics, type Metrics } from "../infra/metrics";
import { closeRedis, createQueueRedis, redisReady } from "../infra/redis";
import { jobOptions, QUEUE_NAME, queuePrefix } from "./queue";
import { jobDefinitions } from "./registry";
import { isOverdue, type JobRunStatus, lastRunAt, readJobStatus, recordJobOutcome } from "./status";

interface JobStatus extends JobRunStatus {
  /** A scheduled job that has not run for more than twice its interval (see `isOverdue`): not ready. */
  overdue: boolean;
}

/** How often, at most, the worker checks that Redis still holds the job schedules. */
const SCHEDULE_CHECK_MS = 60_000;

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
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
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

  const record = (name: string, outcome: "success" | "failure") => {
    noteRun(name, Date.now());
    return recordJobOutcome(deps.redis, name, outcome).catch((err) =>
      log.warn({ err, job: name }, "could not record the job's outcome"),
    );
  };

  const runJob = async (job: Job): Promise<unknown> => {
    const attempt = job.attemptsMade + 1;
    const jobLog = log.child({ job: job.name, jobId: job.id, attempt });
    const definition = byName.get(job.name);
    if (!definition) {
      // Queued by another build, or a schedule not yet removed: no retry can help.
      jobLog.error("job failed: this worker has no definition for it");
      throw new UnrecoverableError(`no job named ${job.name}`);
    }
    const labels = { job: definition.name };
    const attempts = job.opts.attempts ?? 1;
    const started = performance.now();
    const elapsedMs = () => Math.round(performance.now() - started);
    try {
      const result = await definition.run(deps, job.data ?? {}, { id: job.id ?? "", attempt, attempts, metrics });
      const ms = elapsedMs();
      metrics.jobDuration.observe(labels, ms / 1000);
      metrics.jobsCompleted.inc(labels);
      await record(definition.name, "success");
      jobLog.info({ ms, result }, "job completed");
      return result ?? null;
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      const ms = elapsedMs();
      metrics.jobDuration.observe(labels, ms / 1000);
      if (attempt < attempts && !(error instanceof UnrecoverableError)) {
        jobLog.warn({ err: error, ms, attempts }, "job attempt failed; it will be retried");
      } else {
        metrics.jobsFailed.inc(labels);
        await record(definition.name, "failure");
        jobLog.error({ err: error, ms, attempts }, "job failed");
      }
      throw error;
    }
  };

  const worker = new Worker(QUEUE_NAME, runJob, { connection, prefix, concurrency: config.worker.concurrency });
  let lastErrorLogged = 0;
  worker.on("error", (err) => {
    // BullMQ re-emits every failed reconnect of its connections; a line a minute is enough.
    if (Date.now() - lastErrorLogged < 60_000) return;
    lastErrorLogged = Date.now();
    log.warn({ err }, "job worker error");
  });

  let closing: Promise<void> | undefined;

  // Redis may lose the schedules (a restart without persistence, a failover, a flush): nothing would
  // run again until a worker starts. So they are set again, idempotently, on every reconnect and
  // every minute (or every interval, if shorter); a schedule found missing restarts its job's
  // overdue clock.
  const recurring = definitions.filter((d) => d.everySeconds !== undefined);
  let schedulesSet = false;
  let checking: Promise<void> | undefined;
  const checkSchedules = () => {
    if (!schedulesSet || closing || checking) return;
    checking = setSchedules(queue, recurring)
      .then((missing) => {
        if (missing.length === 0) return;
        for (const name of missing) noteRun(name, Date.now());
        log.warn({ jobs: missing }, "job schedules were missing from Redis (data lost?); set them again");
      })
      .catch((err) => {
        if (!closing) log.warn({ err }, "could not check the job schedules");
      })
      .finally(() => {
        checking = undefined;
      });
  };
  connection.on("ready", checkSchedules);
  const shortestMs = Math.min(...recurring.map((d) => (d.everySeconds ?? 0) * 1000));
  const checkTimer =
    recurring.length > 0 ? setInterval(checkSchedules, Math.min(SCHEDULE_CHECK_MS, shortestMs)) : undefined;
  checkTimer?.unref?.();

  const close = () => {
    closing ??= (async () => {
      clearInterval(checkTimer);
      // With Redis away BullMQ's wait for running jobs never ends, and their results could not be
      // stored anyway: stop at once; their locks lapse and a worker runs them again (stalled jobs).
      await worker.close(connection.status !== "ready");
      await queue.close().catch(() => {});
      await closeRedis(connection);
    })();
    return closing;
  };

  const scheduled = setSchedules(queue, recurring, { removeOthers: true }).then(() => {
    schedulesSet = true;
  });
  if (await redisReady(connection, 5_000)) {
    try {
      await scheduled;
    } catch (error) {
      await close();
      throw error;
    }
  } else {
    // The process starts without Redis (see startKit); the schedules land once it is back.
    log.warn("redis is not reachable yet; job schedules will be set when it is");
    scheduled.catch((err) => {
      if (!closing) log.error({ err }, "could not set the job schedules");
      schedulesSet = true; // the checks set them once Redis answers
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

/**
 * One scheduler per recurring job. An upsert is atomic and idempotent (a scheduler that exists keeps
 * its next run), so every worker makes them at start and again on every check, and BullMQ derives
 * each run's job id from its time slot: one run per interval, however many workers. A scheduler
 * made anew runs its job at once. At start, schedulers of jobs no longer defined are removed, or
 * their runs would fail forever. Resolves with the jobs whose scheduler was missing.
 */
async function setSchedules(
  queue: Queue,
  recurring: readonly JobDefinition<string>[],
  options: { removeOthers?: boolean } = {},
): Promise<string[]> {
  const existing = new Set((await queue.getJobSchedulers()).map((scheduler) => scheduler.key));
  for (const definition of recurring) {
    await queue.upsertJobScheduler(
      definition.name,
      { every: (definition.everySeconds ?? 0) * 1000 },
      { name: definition.name, data: {}, opts: jobOptions(definition) },
    );
  }
  if (options.removeOthers) {
    const wanted = new Set(recurring.map((d) => d.name));
    for (const key of existing) if (!wanted.has(key)) await queue.removeJobScheduler(key);
  }
  return recurring.map((d) => d.name).filter((name) => !existing.has(name));
}
