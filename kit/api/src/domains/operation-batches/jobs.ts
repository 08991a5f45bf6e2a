// The batches' jobs, run by the worker role: validation (queued by submit) and the hourly sweep.
import type { JobDefinition } from "../../deps";
import { VALIDATE_JOB } from "./service";
import { sweepBatches } from "./sweep";
import { validateBatch } from "./validate";

export const BATCH_SWEEP_JOB = "tokens.operations.batch-sweep";

export function batchJobs(): JobDefinition<typeof VALIDATE_JOB | typeof BATCH_SWEEP_JOB>[] {
  return [
    {
      name: VALIDATE_JOB,
      attempts: 5,
      backoffMs: 2_000,
      run: (deps, data) => validateBatch(deps, String((data as { batchId?: unknown }).batchId)),
    },
    { name: BATCH_SWEEP_JOB, everySeconds: 60 * 60, attempts: 3, backoffMs: 60_000, run: (deps) => sweepBatches(deps) },
  ];
}
