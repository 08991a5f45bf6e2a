// The exchange-rate domain's jobs, run by the worker role: refreshing rates from the providers, and
// telling admins when rates went stale.
import type { Config } from "../../config";
import type { JobDefinition } from "../../deps";
import { refreshRates } from "./refresh";
import { checkStaleness } from "./staleness";

export function fxJobs(config: Pick<Config, "fx">): JobDefinition<"fx.refresh" | "fx.staleness">[] {
  return [
    {
      name: "fx.refresh",
      everySeconds: config.fx.refreshEverySeconds,
      attempts: 3,
      backoffMs: 10_000,
      run: (deps) => refreshRates(deps),
    },
    // Admins hear once per staleness episode (staleness.ts), however often this runs.
    {
      name: "fx.staleness",
      everySeconds: 60,
      attempts: 2,
      backoffMs: 10_000,
      run: (deps) => checkStaleness(deps),
    },
  ];
}
