// The jobs the worker runs. A job's logic lives in its domain's service; here it gets a name, a
// schedule and a retry policy.
import type { Config } from "../config";
import { refreshRates } from "../domains/exchange-rates/service";
import { cleanUpDocuments } from "../domains/kyc/documents";
import { expireApprovals } from "../domains/kyc/review";
import type { JobDefinition, JobName } from "./names";

export function jobDefinitions(config: Pick<Config, "fx">): JobDefinition<JobName>[] {
  return [
    {
      name: "fx.refresh",
      everySeconds: config.fx.refreshEverySeconds,
      attempts: 3,
      backoffMs: 10_000,
      run: (deps) => refreshRates(deps),
    },
    {
      name: "kyc.clean-up-documents",
      everySeconds: 15 * 60,
      attempts: 3,
      backoffMs: 30_000,
      run: (deps) => cleanUpDocuments(deps),
    },
    {
      name: "kyc.expire-approvals",
      everySeconds: 15 * 60,
      attempts: 3,
      backoffMs: 30_000,
      run: (deps) => expireApprovals(deps),
    },
  ];
}
