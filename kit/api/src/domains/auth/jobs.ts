// The auth domain's jobs, run by the worker role: the hourly summary of refused sign-ins in the
// audit trail (sign-in-failures.ts).
import type { JobDefinition } from "../../deps";
import { summarizeSignInFailures } from "./sign-in-failures";

export function authJobs(): JobDefinition<"auth.sign-in-failures-summary">[] {
  return [
    // Each ended hour is written once (sign-in-failures.ts), so running more often only writes sooner.
    {
      name: "auth.sign-in-failures-summary",
      everySeconds: 15 * 60,
      attempts: 3,
      backoffMs: 60_000,
      run: (deps) => summarizeSignInFailures(deps),
    },
  ];
}
