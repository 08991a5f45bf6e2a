// The exchange-rate domain's job, run by the worker role: refreshing rates from the providers.
import type { Config } from "../../config";
import type { JobDefinition } from "../../deps";
import { refreshRates } from "./refresh";

export function fxJobs(config: Pick<Config, "fx">): JobDefinition<"fx.refresh">[] {
  return [
    {
      name: "fx.refresh",
      everySeconds: config.fx.refreshEverySeconds,
      attempts: 3,
      backoffMs: 10_000,
      run: (deps) => refreshRates(deps),
    },
  ];
}
