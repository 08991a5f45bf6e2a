// The mail outbox's job, run by the worker role: sends what is due every MAIL_SWEEP_SECONDS, and
// whenever something queued mail wakes it (wakeMailSender). Retries are the messages' own
// (next_attempt_at, doubled after each failure), so one failing relay never holds up the queue.
import type { Config } from "../../config";
import type { JobDefinition } from "../../deps";
import { mailMetrics } from "./metrics";
import { MAIL_SEND_JOB } from "./outbox";
import { sendDueMail } from "./sender";

export function mailJobs(config: Pick<Config, "mail">): JobDefinition<typeof MAIL_SEND_JOB>[] {
  return [
    {
      name: MAIL_SEND_JOB,
      everySeconds: config.mail.sweepSeconds,
      attempts: 1,
      run: async (deps, _data, job) => {
        const outcome = await sendDueMail(deps);
        const { attempts } = mailMetrics(job.metrics.registry, deps.db);
        for (const key of ["sent", "retrying", "failed"] as const) attempts.inc({ outcome: key }, outcome[key]);
        return outcome;
      },
    },
  ];
}
