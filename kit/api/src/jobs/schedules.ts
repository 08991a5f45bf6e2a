// The recurring jobs' schedules in Redis: set at a worker's start, and kept there, since Redis may
// lose them.
import type { Queue } from "bullmq";
import type { JobDefinition } from "../deps";
import type { Logger } from "../infra/log";
import type { Redis } from "../infra/redis";
import { jobOptions } from "./queue";

/** How often, at most, the worker checks that Redis still holds the job schedules. */
const SCHEDULE_CHECK_MS = 60_000;

export interface ScheduleKeeper {
  /** Settles once the schedules were set at start (rejects if that failed with Redis up). */
  started: Promise<void>;
  stop(): void;
}

/**
 * Redis may lose the schedules (a restart without persistence, a failover, a flush): nothing would
 * run again until a worker starts. So they are set again, idempotently, on every reconnect and
 * every minute (or every interval, if shorter); a schedule found missing restarts its job's
 * overdue clock (`noteRun`).
 */
export function keepSchedules(
  queue: Queue,
  connection: Redis,
  definitions: readonly JobDefinition<string>[],
  log: Logger,
  noteRun: (name: string, at: number) => void,
): ScheduleKeeper {
  const recurring = definitions.filter((d) => d.everySeconds !== undefined);
  let stopped = false;
  let schedulesSet = false;
  let checking: Promise<void> | undefined;
  const checkSchedules = () => {
    if (!schedulesSet || stopped || checking) return;
    checking = setSchedules(queue, recurring)
      .then((missing) => {
        if (missing.length === 0) return;
        for (const name of missing) noteRun(name, Date.now());
        log.warn({ jobs: missing }, "job schedules were missing from Redis (data lost?); set them again");
      })
      .catch((err) => {
        if (!stopped) log.warn({ err }, "could not check the job schedules");
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

  const started = setSchedules(queue, recurring, { removeOthers: true }).then(
    () => {
      schedulesSet = true;
    },
    (error) => {
      schedulesSet = true; // the checks set them once Redis answers
      throw error;
    },
  );
  return {
    started,
    stop() {
      stopped = true;
      clearInterval(checkTimer);
    },
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
