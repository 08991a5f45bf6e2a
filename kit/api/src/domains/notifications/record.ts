// Recording an event in the outbox, inside the transaction of the change that causes it: the event
// commits with the change or not at all. Who hears it is resolved here, in that transaction, from
// the catalogue's audience. After the commit, `kickDispatcher` asks the worker to fan it out now
// (the dispatcher's schedule picks up whatever a lost kick leaves behind).
import { and, eq } from "drizzle-orm";
import type { JobQueue } from "../../deps";
import type { Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import {
  NOTIFICATION_CATALOGUE,
  type NotificationAudience,
  type NotificationEventType,
  type NotificationPayloads,
} from "../../notification-catalogue";
import { user } from "../auth/schema";
import { notificationEvents } from "./schema";

export const DISPATCH_JOB = "notifications.dispatch";

/**
 * What the caller knows of who should hear the event, by the catalogue's audience:
 * - `subject`: `{ subject: userId }`, the user the event is about;
 * - `requester`: `{ requester: userId }`, who asked for the operation;
 * - `token_issuers`: `{ issuers, requester }`, the users granted on the token (the operations domain
 *   reads its token_grants in the same transaction), of whom the requester is left out;
 * - `admins` / `reviewers`: `{}`, resolved here by role (banned users left out).
 * `{ recipients }` names them outright, whatever the audience (tests, a system notice).
 */
export type AudienceInput =
  | { subject: string }
  | { requester: string }
  | { issuers: readonly string[]; requester: string | null }
  | Record<string, never>
  | { recipients: readonly string[] };

const ROLE_OF: Partial<Record<NotificationAudience, string>> = { admins: "admin", reviewers: "kyc_reviewer" };

async function resolveRecipients(
  tx: Transaction,
  audience: NotificationAudience,
  input: AudienceInput,
): Promise<string[]> {
  if ("recipients" in input) return [...new Set(input.recipients)];
  const role = ROLE_OF[audience];
  if (role) {
    const rows = await tx
      .select({ id: user.id })
      .from(user)
      .where(and(eq(user.role, role), eq(user.banned, false)))
      .orderBy(user.id);
    return rows.map((row) => row.id);
  }
  if (audience === "token_issuers" && "issuers" in input) {
    return [...new Set(input.issuers)].filter((id) => id !== input.requester);
  }
  if (audience === "subject" && "subject" in input) return [input.subject];
  if (audience === "requester" && "requester" in input && input.requester) return [input.requester];
  // A caller that passes the wrong kind of input for the event is a bug, not a user's mistake.
  throw new Error(
    `recordNotification: the audience of this event is ${audience}; got ${Object.keys(input).join(", ")}`,
  );
}

export interface RecordOptions {
  /**
   * Records the event at most once for this key (an approval's 30-day notice, one staleness
   * episode, one operation's confirmation): a second record with the key is a no-op.
   */
  dedupeKey?: string;
  /** When it happened (default: the transaction's time). */
  occurredAt?: Date;
}

/**
 * Writes the event row in `tx` (the caller's transaction). Resolves to the event's id, or null when
 * `dedupeKey` was recorded before. Call `kickDispatcher` after the commit.
 */
export async function recordNotification<T extends NotificationEventType>(
  tx: Transaction,
  type: T,
  audience: AudienceInput,
  data: NotificationPayloads[T],
  options: RecordOptions = {},
): Promise<string | null> {
  const recipients = await resolveRecipients(tx, NOTIFICATION_CATALOGUE[type].audience, audience);
  const [row] = await tx
    .insert(notificationEvents)
    .values({
      type,
      recipients,
      data: data as unknown as Record<string, unknown>,
      dedupeKey: options.dedupeKey ?? null,
      ...(options.occurredAt ? { occurredAt: options.occurredAt } : {}),
    })
    .onConflictDoNothing({ target: notificationEvents.dedupeKey })
    .returning({ id: notificationEvents.id });
  return row?.id ?? null;
}

/** Kicks from one process within this long of the last one sent make one more, at its end. */
export const KICK_WINDOW_MS = 100;

/** Per job queue (one per process): the window of the last kick sent, and whether more came in it. */
const kickWindows = new WeakMap<JobQueue, { again: boolean }>();

/**
 * After the commit: the worker dispatches now rather than at its next scheduled run. A burst (a
 * batch of a thousand mints, each recording its event) is one job per KICK_WINDOW_MS, not one per
 * event: the first kick goes at once; those that follow within the window send one more at its
 * end, which runs after each of their commits, so none waits for the schedule. Never throws:
 * without Redis the schedule still gets there (NOTIFICATIONS_DISPATCH_SECONDS).
 */
export async function kickDispatcher(deps: { jobs?: JobQueue; log?: Logger }): Promise<void> {
  const jobs = deps.jobs;
  if (!jobs) return;
  const open = kickWindows.get(jobs);
  if (open) {
    open.again = true;
    return;
  }
  const window = { again: false };
  kickWindows.set(jobs, window);
  const close = () => {
    if (!window.again) return void kickWindows.delete(jobs);
    window.again = false;
    void sendKick(jobs, deps.log);
    setTimeout(close, KICK_WINDOW_MS).unref();
  };
  setTimeout(close, KICK_WINDOW_MS).unref();
  await sendKick(jobs, deps.log);
}

async function sendKick(jobs: JobQueue, log: Logger | undefined): Promise<void> {
  try {
    await jobs.enqueue(DISPATCH_JOB);
  } catch (error) {
    log?.debug({ err: error }, "could not kick the notifications dispatcher; its schedule will run it");
  }
}

/**
 * A notice to one user, or to every admin when it concerns no user (a system webhook endpoint
 * disabled), once per `dedupeKey`.
 */
export async function recordUserOrAdminsNotice<T extends NotificationEventType>(
  tx: Transaction,
  type: T,
  userId: string | null,
  data: NotificationPayloads[T],
  dedupeKey: string,
): Promise<void> {
  const recipients = userId ? [userId] : await resolveRecipients(tx, "admins", {});
  await recordNotification(tx, type, { recipients }, data, { dedupeKey });
}
