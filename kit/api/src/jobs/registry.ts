// The jobs the worker runs, composed from each domain's own (the way router.ts composes routers): a
// domain's jobs.ts gives each job its name, schedule and retry policy; the logic is its service's.
import type { Config } from "../config";
import type { JobDefinition } from "../deps";
import { fxJobs } from "../domains/exchange-rates/jobs";
import { kycJobs } from "../domains/kyc/jobs";
import { mailJobs } from "../domains/mail/jobs";
import { batchJobs } from "../domains/operation-batches/jobs";
import { operationJobs } from "../domains/operations/jobs";
import type { JobName } from "./names";

export function jobDefinitions(config: Pick<Config, "fx" | "operations" | "mail">): JobDefinition<JobName>[] {
  return [...fxJobs(config), ...kycJobs(), ...operationJobs(config), ...batchJobs(), ...mailJobs(config)];
}
