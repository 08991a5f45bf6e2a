// The webhook sender, run by the worker role: `send` is what the notifications dispatcher queues
// after it committed deliveries (sent at once); `sweep` runs on a short schedule and sends whatever
// is due whatever was queued (retries, a lost enqueue, a killed worker's leases).
import type { Config } from "../../config";
import type { JobDefinition } from "../../deps";
import { deliverDue, type EndpointDisabledHandler } from "./deliver";

export const WEBHOOK_SEND_JOB = "webhooks.deliveries.send";
export const WEBHOOK_SWEEP_JOB = "webhooks.deliveries.sweep";

export interface WebhookJobOptions {
  /**
   * How the owner of an endpoint disabled after a day of failures hears of it, in the transaction
   * that disables it (the notifications outbox). Without one, the disable is only logged.
   */
  onEndpointDisabled?: EndpointDisabledHandler;
}

export function webhookJobs(
  config: Pick<Config, "webhooks">,
  options: WebhookJobOptions = {},
): JobDefinition<typeof WEBHOOK_SEND_JOB | typeof WEBHOOK_SWEEP_JOB>[] {
  const run: JobDefinition["run"] = (deps) => deliverDue(deps, { onEndpointDisabled: options.onEndpointDisabled });
  return [
    // The sweep retries whatever a failed run leaves due: one try each.
    { name: WEBHOOK_SEND_JOB, attempts: 1, run },
    { name: WEBHOOK_SWEEP_JOB, everySeconds: config.webhooks.sweepSeconds, attempts: 1, run },
  ];
}
