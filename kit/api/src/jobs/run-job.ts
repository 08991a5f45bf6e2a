// One run of a queued or scheduled job: its definition called with the process's clients, timed and
// counted, its outcome recorded; a failure past its last attempt logged (never with a stack).
import { type Job, UnrecoverableError } from "bullmq";
import type { Deps, JobDefinition } from "../deps";
import type { Metrics } from "../infra/metrics";
import { recordJobOutcome } from "./status";

/** Scheduled jobs this frequent log their completions at debug level. */
const QUIET_BELOW_SECONDS = 60;

/**
 * The function BullMQ calls for each job. `noteRun` learns when each job last ran (the worker's
 * overdue clock).
 */
export function jobRunner(
  deps: Deps,
  definitions: readonly JobDefinition<string>[],
  metrics: Metrics,
  noteRun: (name: string, at: number) => void,
): (job: Job) => Promise<unknown> {
  const { log } = deps;
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
  const record = (name: string, outcome: "success" | "failure") => {
    noteRun(name, Date.now());
    return recordJobOutcome(deps.redis, name, outcome).catch((err) =>
      log.warn({ err, job: name }, "could not record the job's outcome"),
    );
  };

  return async (job: Job): Promise<unknown> => {
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
      // A sweep every few seconds would fill an info log with "nothing to do": its runs are in the
      // metrics and /ready (lastSuccessAt); a failure is still a warning.
      if (definition.everySeconds !== undefined && definition.everySeconds < QUIET_BELOW_SECONDS) {
        jobLog.debug({ ms, result }, "job completed");
      } else jobLog.info({ ms, result }, "job completed");
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
}
