// The jobs the worker runs, composed from each domain's own (the way router.ts composes routers): a
// domain's jobs.ts gives each job its name, schedule and retry policy; the logic is its service's.
import type { Config } from "../config";
import type { JobDefinition } from "../deps";
import { authJobs } from "../domains/auth/jobs";
import { fxJobs } from "../domains/exchange-rates/jobs";
import { kycJobs } from "../domains/kyc/jobs";
import { mailJobs } from "../domains/mail/jobs";
import { queueNotificationMails, wakeMailSender } from "../domains/mail/outbox";
import type { AfterCommit, ChannelFanOut } from "../domains/notifications/dispatch";
import { inAppFanOut } from "../domains/notifications/inbox";
import { notificationJobs } from "../domains/notifications/jobs";
import { recordUserOrAdminsNotice } from "../domains/notifications/record";
import { batchJobs } from "../domains/operation-batches/jobs";
import { operationJobs } from "../domains/operations/jobs";
import { queueWebhookDeliveries } from "../domains/webhooks/fanout";
import { WEBHOOK_SEND_JOB, webhookJobs } from "../domains/webhooks/jobs";
import type { JobName } from "./names";

/**
 * Deliveries queued in the dispatcher's transaction go out at once after its commit (the sweep is the
 * fallback): one send job per dispatcher batch, as every event of it returns this same function.
 */
const sendWebhooksNow: AfterCommit = async (deps) => {
  await deps.jobs
    ?.enqueue(WEBHOOK_SEND_JOB)
    .catch((err) => deps.log.warn({ err }, "could not wake the webhook sender"));
};
const webhookFanOut: ChannelFanOut = async (tx, event) => {
  if ((await queueWebhookDeliveries(tx, event)) === 0) return;
  return sendWebhooksNow;
};

/** Mail queued in the dispatcher's transaction is sent at once after its commit (the sweep is the fallback). */
const sendMailNow: AfterCommit = (deps) => wakeMailSender(deps);
const emailFanOut: ChannelFanOut = async (tx, event, recipients) => {
  await queueNotificationMails(tx, event, recipients);
  return sendMailNow;
};

export function jobDefinitions(
  config: Pick<Config, "fx" | "operations" | "webhooks" | "notifications" | "mail">,
): JobDefinition<JobName>[] {
  return [
    ...fxJobs(config),
    ...authJobs(),
    ...kycJobs(),
    ...operationJobs(config),
    ...batchJobs(),
    ...mailJobs(config),
    ...webhookJobs(config, {
      onEndpointDisabled: (tx, notice) =>
        recordUserOrAdminsNotice(
          tx,
          notice.type,
          notice.recipientId,
          notice.data,
          `${notice.type}:${notice.data.endpointId}:${notice.data.failingSince}`,
        ),
    }),
    // The channels every notification event is fanned out to (domains/notifications/dispatch.ts).
    ...notificationJobs(config, { in_app: inAppFanOut, email: emailFanOut, webhook: webhookFanOut }),
  ];
}
