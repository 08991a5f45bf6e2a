// The notifications domain's job, run by the worker role: the dispatcher, on a short schedule and
// kicked after each commit that records an event (record.ts, kickDispatcher). The channels it fans
// out to are composed by jobs/registry.ts, which knows every channel's domain.
import type { Config } from "../../config";
import type { JobDefinition } from "../../deps";
import { type ChannelFanOuts, type DispatchSummary, dispatchNotifications } from "./dispatch";
import { DISPATCH_JOB } from "./record";

/**
 * Dispatchers one run starts side by side: they claim different batches (SKIP LOCKED), so a backlog
 * drains while one of them waits on a round trip. Kicks coalesce (one run at a time, one waiting),
 * so this is the dispatching parallelism of a worker's kicked runs.
 */
const DISPATCHERS_PER_RUN = 3;

export function notificationJobs(
  config: Pick<Config, "notifications">,
  fanOuts: ChannelFanOuts,
): JobDefinition<typeof DISPATCH_JOB>[] {
  return [
    {
      name: DISPATCH_JOB,
      everySeconds: config.notifications.dispatchSeconds,
      attempts: 3,
      backoffMs: 1_000,
      // A kick per recorded event: a run drains the outbox, so a burst of kicks is one or two runs
      // rather than a queue of them ahead of every other job (the webhook sends among them).
      coalesce: true,
      run: async (deps) => {
        const runs = await Promise.all(
          Array.from({ length: DISPATCHERS_PER_RUN }, () => dispatchNotifications(deps, fanOuts)),
        );
        return runs.reduce<DispatchSummary>(
          (sum, run) => ({
            dispatched: sum.dispatched + run.dispatched,
            failed: sum.failed + run.failed,
            batches: sum.batches + run.batches,
          }),
          { dispatched: 0, failed: 0, batches: 0 },
        );
      },
    },
  ];
}
