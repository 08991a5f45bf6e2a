// The dispatcher: turns outbox rows into each channel's pending deliveries. It claims a batch of
// undispatched events (FOR UPDATE SKIP LOCKED, so dispatchers running at once take different
// events) and, in that one transaction, per event: reads each recipient's switches and locale,
// calls every channel's fan-out, and stamps the event dispatched. A crash before the commit leaves
// the whole batch undispatched and written nowhere; after it, the batch is done. Fan-outs write
// rows unique per event and recipient (or endpoint) with ON CONFLICT DO NOTHING all the same.
import { and, asc, inArray, isNull, lt, notInArray, sql } from "drizzle-orm";
import type { Config } from "../../config";
import type { DomainQueries, JobQueue } from "../../deps";
import type { Database, Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import {
  NOTIFICATION_CHANNELS,
  type NotificationChannel,
  type NotificationEvent,
  type NotificationEventType,
} from "../../notification-catalogue";
import { notificationEvents } from "./schema";

/** Who a channel delivers to: a recipient still known, with the address and language to use. */
export interface NotificationRecipient {
  userId: string;
  email: string;
  locale: string;
}

export interface DispatchDeps {
  config: Pick<Config, "redis">;
  db: Database;
  redis: Redis;
  log: Logger;
  queries: Pick<DomainQueries, "notificationRecipients">;
  /** For a channel that hands its deliveries to a job of its own after the commit. */
  jobs?: JobQueue;
}

/**
 * Work a fan-out leaves for after the dispatcher's commit (a live announcement): best effort. The
 * same function returned for several events of a batch runs once for the batch (a channel's "send
 * now" kick), a closure of its own per event runs per event.
 */
export type AfterCommit = (deps: DispatchDeps) => Promise<void>;

/**
 * One channel's share of an event: write that channel's pending deliveries in `tx`, idempotently
 * (unique per event id and recipient or endpoint, ON CONFLICT DO NOTHING). For the switched
 * channels (in_app, email) `recipients` holds only those whose switch for the event is on (the
 * catalogue's default when they never set it); every other channel (webhook) gets every recipient,
 * and may deliver to endpoints of its own besides. Throwing leaves the event undispatched.
 */
export type ChannelFanOut = (
  tx: Transaction,
  event: NotificationEvent,
  recipients: NotificationRecipient[],
) => Promise<FanOutResult>;

// biome-ignore lint/suspicious/noConfusingVoidType: a fan-out with nothing to do after the commit resolves with void
type FanOutResult = void | AfterCommit;

/** The channels the dispatcher fans out to; jobs/registry.ts composes them. */
export type ChannelFanOuts = Partial<Record<NotificationChannel, ChannelFanOut>>;

const SWITCHED: readonly NotificationChannel[] = ["in_app", "email"];
/** Events per transaction: bounds what one crash redoes and how long rows stay locked. */
const DEFAULT_BATCH = 100;
/** An event whose fan-out failed this often is left aside (logged) rather than retried forever. */
const MAX_DISPATCH_ATTEMPTS = 10;

export interface DispatchSummary {
  dispatched: number;
  failed: number;
  batches: number;
}

/**
 * Dispatches until nothing undispatched is left to claim (or `maxBatches` batches ran). Safe to run
 * in any number of processes at once.
 */
export async function dispatchNotifications(
  deps: DispatchDeps,
  fanOuts: ChannelFanOuts,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<DispatchSummary> {
  const summary: DispatchSummary = { dispatched: 0, failed: 0, batches: 0 };
  const maxBatches = options.maxBatches ?? 1_000;
  // Events that failed in this run wait for the next one (their attempts count them).
  const failedNow: string[] = [];
  while (summary.batches < maxBatches) {
    const batch = await dispatchBatch(deps, fanOuts, options.batchSize ?? DEFAULT_BATCH, failedNow);
    if (batch.claimed === 0) break;
    summary.batches += 1;
    summary.dispatched += batch.dispatched;
    summary.failed += batch.failed;
  }
  return summary;
}

type EventRow = typeof notificationEvents.$inferSelect;

async function dispatchBatch(deps: DispatchDeps, fanOuts: ChannelFanOuts, size: number, failedNow: string[]) {
  const afterCommit: AfterCommit[] = [];
  const outcome = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .select()
      .from(notificationEvents)
      .where(
        and(
          isNull(notificationEvents.dispatchedAt),
          lt(notificationEvents.attempts, MAX_DISPATCH_ATTEMPTS),
          failedNow.length > 0 ? notInArray(notificationEvents.id, failedNow) : undefined,
        ),
      )
      .orderBy(asc(notificationEvents.occurredAt), asc(notificationEvents.id))
      .limit(size)
      .for("update", { skipLocked: true });
    const dispatched: string[] = [];
    let failed = 0;
    for (const row of rows) {
      try {
        // A savepoint per event: one event's failing fan-out undoes its own rows only.
        const after = await tx.transaction((sp) => fanOutEvent(sp, deps, fanOuts, row));
        afterCommit.push(...after);
        dispatched.push(row.id);
      } catch (error) {
        failed += 1;
        failedNow.push(row.id);
        await recordFailure(tx, deps.log, row, error);
      }
    }
    if (dispatched.length > 0) {
      await tx
        .update(notificationEvents)
        .set({ dispatchedAt: sql`now()` })
        .where(inArray(notificationEvents.id, dispatched));
    }
    return { claimed: rows.length, dispatched: dispatched.length, failed };
  });
  for (const after of new Set(afterCommit)) {
    await after(deps).catch((error) => deps.log.warn({ err: error }, "notifications: after-commit work failed"));
  }
  return outcome;
}

async function fanOutEvent(
  tx: Transaction,
  deps: DispatchDeps,
  fanOuts: ChannelFanOuts,
  row: EventRow,
): Promise<AfterCommit[]> {
  const event: NotificationEvent = {
    id: row.id,
    type: row.type,
    occurredAt: row.occurredAt,
    recipients: row.recipients,
    data: row.data as unknown as NotificationEvent["data"],
  };
  const people = row.recipients.length
    ? await deps.queries.notificationRecipients({ db: tx }, row.recipients, row.type as NotificationEventType)
    : [];
  const after: AfterCommit[] = [];
  // In the catalogue's order of channels, whatever order they were composed in.
  for (const channel of NOTIFICATION_CHANNELS) {
    const fanOut = fanOuts[channel];
    if (!fanOut) continue;
    const switched = SWITCHED.includes(channel);
    const recipients = people
      .filter((person) => !switched || person.channels[channel as "in_app" | "email"])
      .map(({ userId, email, locale }) => ({ userId, email, locale }));
    if (switched && recipients.length === 0) continue;
    const done = await fanOut(tx, event, recipients);
    if (done) after.push(done);
  }
  return after;
}

async function recordFailure(tx: Transaction, log: Logger, row: EventRow, error: unknown): Promise<void> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
  const attempts = row.attempts + 1;
  await tx
    .update(notificationEvents)
    .set({ attempts, lastError: message })
    .where(inArray(notificationEvents.id, [row.id]));
  const level = attempts >= MAX_DISPATCH_ATTEMPTS ? "error" : "warn";
  log[level](
    { eventId: row.id, type: row.type, attempts, err: error },
    attempts >= MAX_DISPATCH_ATTEMPTS
      ? "notifications: gave up dispatching an event (set attempts back to 0 to retry it)"
      : "notifications: an event's fan-out failed; it is retried at the next run",
  );
}
