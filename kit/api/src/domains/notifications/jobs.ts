// The notifications domain's job, run by the worker role: the dispatcher, on a short schedule and
// kicked after each commit that records an event (record.ts, kickDispatcher). The channels it fans
// out to are composed by jobs/registry.ts, which knows every channel's domain.
import type { Config } from "../../config";
import type { JobDefinition } from "../../deps";
import { type ChannelFanOuts, dispatchNotifications } from "./dispatch";
import { DISPATCH_JOB } from "./record";

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
      run: (deps) => dispatchNotifications(deps, fanOuts),
    },
  ];
}
