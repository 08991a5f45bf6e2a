// Queuing mail: one `mail_messages` row per message, inside the caller's transaction, idempotent by
// its dedupe key. Sending is the worker's (sender.ts); after committing, wake it with wakeMailSender.
import type { Database, Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { NotificationEvent } from "../../notification-catalogue";
import { renderMail } from "./render";
import { mailMessages } from "./schema";
import type { MailData, MailTemplate } from "./templates/catalogue";

export const MAIL_SEND_JOB = "mail.send";

/**
 * The part of the job queue (deps.ts `JobQueue`) that wakes the sender. Said here rather than
 * imported: auth.ts, which deps.ts reads, queues account mail through this file.
 */
export interface MailWaker {
  enqueue(name: typeof MAIL_SEND_JOB): Promise<unknown>;
}

export interface MailToQueue<T extends MailTemplate = MailTemplate> {
  to: string;
  template: T;
  /** The reader's locale (user settings); rendered in `en` or `de`. */
  locale: string;
  data: MailData[T];
  /** At most one message per key, ever: `[A-Za-z0-9._:-]{1,200}`. */
  dedupeKey: string;
}

/** Inserts the messages not queued before (by dedupe key); returns how many were new. */
export async function queueMails(db: Database | Transaction, mails: MailToQueue[]): Promise<number> {
  if (mails.length === 0) return 0;
  const rows = mails.map((mail) => {
    // The subject is stored for listings; bodies are rendered when sent, with the links of that moment.
    const { subject, locale } = renderMail(mail.template, mail.locale, mail.data, "");
    return { toAddress: mail.to, template: mail.template, locale, subject, data: mail.data, dedupeKey: mail.dedupeKey };
  });
  const inserted = await db
    .insert(mailMessages)
    .values(rows)
    .onConflictDoNothing({ target: mailMessages.dedupeKey })
    .returning({ id: mailMessages.id });
  return inserted.length;
}

/**
 * The e-mail channel of the notifications dispatcher: one pending mail per recipient, with dedupe key
 * `${event.id}:${userId}`, in the dispatcher's transaction (so the mails commit with its delivery
 * records, or not at all). A redelivered event queues nothing new. Wake the sender after the commit.
 */
export async function queueNotificationMails(
  tx: Database | Transaction,
  event: NotificationEvent,
  recipients: { userId: string; email: string; locale: string }[],
): Promise<void> {
  await queueMails(
    tx,
    recipients.map((recipient) => ({
      to: recipient.email,
      template: event.type,
      locale: recipient.locale,
      data: event.data,
      dedupeKey: `${event.id}:${recipient.userId}`,
    })),
  );
}

/**
 * Asks the worker to send now rather than at its next sweep. Best effort: with Redis away the sweep
 * (MAIL_SWEEP_SECONDS) still sends what was queued.
 */
export async function wakeMailSender(deps: { jobs?: MailWaker; log?: Logger }): Promise<void> {
  await deps.jobs?.enqueue(MAIL_SEND_JOB).catch((err) => deps.log?.warn({ err }, "could not wake the mail sender"));
}
