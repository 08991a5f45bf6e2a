// The worker's side of the mail outbox: claims one due message at a time (FOR UPDATE SKIP LOCKED,
// so any number of workers share the work), sends it while holding the claim, and records the
// outcome in the same transaction. A failed try is retried later with exponential backoff; a 5xx
// refusal, or the last try, leaves the message `failed` with the reason.
//
// Delivery is at most once per dedupe key *as a receiver sees it*: a worker killed after the relay
// accepted a message but before the commit leaves the row pending, and the next try sends it again
// with the same Message-ID (the dedupe key), which receivers use to drop the copy. SMTP offers no
// way to make the send and the commit one step; see docs/mail.md.
import { and, asc, count, eq, lte, notInArray, sql } from "drizzle-orm";
import type { Deps } from "../../deps";
import { createMailTransport, describeMailFailure, type MailTransport, senderDomain } from "../../infra/mail";
import { renderMail } from "./render";
import { mailMessages } from "./schema";
import type { MailTemplate } from "./templates/catalogue";

type SenderDeps = Pick<Deps, "config" | "db" | "log">;

export interface SendOptions {
  /** Messages one run sends at most (the next run, or a wake-up, continues). */
  limit?: number;
  /** Tests: a transport of their own. */
  transport?: MailTransport;
  /** Tests: runs after the relay accepted a message and before the commit (throw to simulate a crash there). */
  afterSend?: (messageId: string) => void | Promise<void>;
}

export interface SendOutcome {
  sent: number;
  retrying: number;
  failed: number;
  /** No SMTP_URL: nothing was sent, `pending` messages wait. */
  pending?: number;
}

/** The Message-ID of a dedupe key: `:` is not allowed on its left side, `/` is (and never in a key). */
export function messageIdFor(dedupeKey: string, from: string): string {
  return `<${dedupeKey.replaceAll(":", "/")}@${senderDomain(from)}>`;
}

export async function sendDueMail(deps: SenderDeps, options: SendOptions = {}): Promise<SendOutcome> {
  const { config, db, log } = deps;
  const smtpUrl = config.mail.smtpUrl;
  if (!smtpUrl && !options.transport) {
    const [{ waiting } = { waiting: 0 }] = await db
      .select({ waiting: count() })
      .from(mailMessages)
      .where(eq(mailMessages.status, "pending"));
    if (waiting > 0) log.warn({ waiting }, "mail is queued but SMTP_URL is not set: nothing is sent");
    return { sent: 0, retrying: 0, failed: 0, pending: waiting };
  }
  const transport = options.transport ?? createMailTransport(config, smtpUrl as string);
  const outcome: SendOutcome = { sent: 0, retrying: 0, failed: 0 };
  // A message that failed in this run waits for a later one, however short its backoff.
  const tried: string[] = [];
  // A run stays within one sweep interval, so the worker never looks overdue (jobs/status.ts) while
  // a slow relay answers; what is left waits for the next run.
  const deadline = Date.now() + config.mail.sweepSeconds * 1000;
  try {
    for (let i = 0; i < (options.limit ?? 100) && Date.now() < deadline; i++) {
      const result = await sendNext(deps, transport, options, tried);
      if (!result) break;
      outcome[result.outcome] += 1;
      // The relay does not answer: every other message would wait its timeout too.
      if (result.unreachable) break;
    }
  } finally {
    transport.close();
  }
  return outcome;
}

async function sendNext(
  { config, db, log }: SenderDeps,
  transport: MailTransport,
  options: SendOptions,
  tried: string[],
): Promise<{ outcome: "sent" | "retrying" | "failed"; unreachable?: boolean } | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(mailMessages)
      .where(
        and(
          eq(mailMessages.status, "pending"),
          lte(mailMessages.nextAttemptAt, sql`now()`),
          tried.length > 0 ? notInArray(mailMessages.id, tried) : undefined,
        ),
      )
      .orderBy(asc(mailMessages.nextAttemptAt))
      .limit(1)
      .for("update", { skipLocked: true });
    if (!row) return null;
    tried.push(row.id);
    const attempts = row.attempts + 1;
    const messageLog = log.child({ mailId: row.id, template: row.template, attempt: attempts });
    try {
      const rendered = renderMail(row.template as MailTemplate, row.locale, row.data as never, config.auth.publicUrl);
      await transport.send({
        to: row.toAddress,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId: messageIdFor(row.dedupeKey, config.mail.from),
      });
    } catch (error) {
      const failure = describeMailFailure(error);
      const final = failure.permanent || attempts >= config.mail.maxAttempts;
      const delay = config.mail.retryBaseMs * 2 ** (attempts - 1);
      await tx
        .update(mailMessages)
        .set({
          attempts,
          lastError: failure.message,
          status: final ? "failed" : "pending",
          nextAttemptAt: sql`now() + ${`${delay} milliseconds`}::interval`,
          data: final ? null : row.data,
          updatedAt: sql`now()`,
        })
        .where(eq(mailMessages.id, row.id));
      if (final)
        messageLog.error({ code: failure.code, permanent: failure.permanent }, "mail could not be sent; gave up");
      else messageLog.warn({ code: failure.code, retryInMs: delay }, "mail could not be sent; will retry");
      return { outcome: final ? "failed" : "retrying", unreachable: failure.unreachable };
    }
    await options.afterSend?.(row.id);
    await tx
      .update(mailMessages)
      .set({ attempts, status: "sent", sentAt: sql`now()`, data: null, updatedAt: sql`now()` })
      .where(eq(mailMessages.id, row.id));
    messageLog.info("mail sent");
    return { outcome: "sent" };
  });
}
