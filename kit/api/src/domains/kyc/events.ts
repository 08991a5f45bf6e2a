// Live KYC status over Redis pub/sub. `{prefix}kyc:{userId}` carries one user's status changes,
// `{prefix}kyc:queue` every change a reviewer cares about (all but drafts). Each process holds one
// subscriber connection, opened on the first stream, and fans messages out to its local streams:
// a channel is SUBSCRIBEd while at least one stream listens to it. Pub/sub keeps nothing, so a
// stream that cannot be kept exact ends instead (lost connection, a reader too slow, shutdown):
// the client reconnects, and its own stream starts with the current status again.
import { AsyncIteratorClass } from "@orpc/server";
import { desc, eq, sql } from "drizzle-orm";
import type { Config } from "../../config";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { closeRedis, type Redis, redisReady } from "../../infra/redis";
import { type StatusEvent, statusEvent } from "./contract";
import { type KycStatus, kycApplications } from "./schema";

export interface KycEventDeps {
  config: Pick<Config, "redis">;
  redis: Redis;
  log: Logger;
}

export interface KycWatchDeps extends KycEventDeps {
  db: Database;
}

/** Open own-status streams one user may hold on one process (tabs, devices); more is a leak or abuse. */
export const MAX_STREAMS_PER_USER = 5;
/** Events a stream may fall behind its reader before it is ended (memory per stream stays bounded). */
export const MAX_BUFFERED_EVENTS = 32;
const SUBSCRIBER_READY_TIMEOUT_MS = 2_000;

// ioredis prefixes keys, not channels: the prefix is added here, so that processes (and test
// files) configured with different prefixes never hear each other. User ids are generated, never
// the word `queue`.
export const userChannel = (config: Pick<Config, "redis">, userId: string) => `${config.redis.keyPrefix}kyc:${userId}`;
export const queueChannel = (config: Pick<Config, "redis">) => `${config.redis.keyPrefix}kyc:queue`;

/** Publishes to `kyc:{userId}` and `kyc:queue`. Never throws: a lost event is logged, the change stands. */
export async function publishStatusEvent(deps: KycEventDeps, userId: string, event: StatusEvent): Promise<void> {
  const message = JSON.stringify(event);
  const channels = [userChannel(deps.config, userId)];
  // A draft is the applicant's private work: reviewers hear of it once it is submitted.
  if (event.status !== "draft") channels.push(queueChannel(deps.config));
  try {
    await Promise.all(channels.map((channel) => deps.redis.publish(channel, message)));
  } catch (error) {
    deps.log.warn(
      { err: error, applicationId: event.applicationId, status: event.status },
      "could not publish a KYC status event; open streams miss this change until they reconnect",
    );
  }
}

/**
 * The user's own status changes: first the current status (of their latest application; nothing
 * when they have none), then each change, until `signal` aborts or the stream is returned.
 * TOO_MANY_REQUESTS past MAX_STREAMS_PER_USER on this process; SERVICE_UNAVAILABLE without Redis.
 */
export async function watchOwnStatus(
  deps: KycWatchDeps,
  userId: string,
  signal: AbortSignal | undefined,
): Promise<AsyncIteratorClass<StatusEvent, undefined>> {
  const hub = hubFor(deps);
  const releaseSlot = hub.reserveStream(userId);
  let listener: Listener | undefined;
  try {
    // Subscribed before the read: a change committed in between is in the buffer, not lost.
    listener = await hub.listen(userChannel(deps.config, userId), deps.log);
    listener.onEnd(releaseSlot);
    const current = await readCurrentStatus(deps.db, userId);
    if (current) listener.prepend(current);
  } catch (error) {
    if (listener) listener.end("failed");
    else releaseSlot();
    throw error;
  }
  return streamOf(listener, signal);
}

/** Every queue change (submissions, claims, decisions), until `signal` aborts or the stream is returned. */
export async function watchQueue(
  deps: KycEventDeps,
  signal: AbortSignal | undefined,
): Promise<AsyncIteratorClass<StatusEvent, undefined>> {
  const listener = await hubFor(deps).listen(queueChannel(deps.config), deps.log);
  return streamOf(listener, signal);
}

/**
 * Ends every stream of the process that `redis` belongs to (each ends after what it has buffered)
 * and closes its subscriber connection; later streams are refused. Call before a graceful HTTP
 * stop, which otherwise waits for open streams forever, and when closing the process's clients.
 */
export async function closeStatusEvents(redis: Redis): Promise<void> {
  await hubs.get(redis)?.close();
}

/** Test hook: channels this process is subscribed to, its open streams, and its subscriber connection. */
export function statusEventStats(redis: Redis): { channels: number; streams: number; subscriber?: Redis } {
  return hubs.get(redis)?.stats() ?? { channels: 0, streams: 0 };
}

async function readCurrentStatus(db: Database, userId: string): Promise<StatusEvent | undefined> {
  const [row] = await db
    .select({
      applicationId: kycApplications.id,
      status: kycApplications.status,
      reviewerId: kycApplications.reviewerId,
      updatedAt: kycApplications.updatedAt,
      version: kycApplications.version,
      // The history row that made the current status says what it was before. Spelled out:
      // drizzle drops table names from columns in a one-table select, which the subquery needs.
      previousStatus: sql<KycStatus | null>`(
        select h.from_status from kyc_status_history h
        where h.application_id = kyc_applications.id and h.to_status = kyc_applications.status
        order by h.id desc limit 1)`,
    })
    .from(kycApplications)
    .where(eq(kycApplications.userId, userId))
    .orderBy(desc(kycApplications.createdAt))
    .limit(1);
  if (!row) return undefined;
  return {
    applicationId: row.applicationId,
    status: row.status,
    previousStatus: row.previousStatus ?? null,
    reviewerId: row.reviewerId,
    version: row.version,
    at: row.updatedAt.toISOString(),
  };
}

// An AsyncIteratorClass, not an async generator: `return()` on a generator waits until it next
// yields, so a stream cancelled while idle would hold its subscription until the next event; this
// one ends (and unsubscribes) at once.
function streamOf(listener: Listener, signal: AbortSignal | undefined): AsyncIteratorClass<StatusEvent, undefined> {
  if (signal) {
    const onAbort = () => listener.end("aborted");
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      listener.onEnd(() => signal.removeEventListener("abort", onAbort));
    }
  }
  return new AsyncIteratorClass(
    () => listener.next(),
    async () => listener.end("returned"),
  );
}

// ---------------------------------------------------------------------------------------------

type EndReason = "aborted" | "returned" | "failed" | "overflow" | "connection lost" | "closed";

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** One stream's view of a channel: a bounded buffer between the subscriber and the reader. */
class Listener {
  private readonly buffer: StatusEvent[] = [];
  private waiting: ((result: IteratorResult<StatusEvent, undefined>) => void) | undefined;
  private readonly cleanups: (() => void)[] = [];
  /**
   * Own-status streams only: the application and version last queued. An event at or below it
   * (the change the first read already showed, or an older one published late) is not sent, so
   * the reader never steps back.
   */
  private floor: { applicationId: string; version: number } | undefined;
  private ended = false;

  constructor(
    readonly channel: string,
    private readonly log: Logger,
  ) {}

  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  prepend(current: StatusEvent): void {
    const stale = (event: StatusEvent) =>
      event.applicationId === current.applicationId && event.version <= current.version;
    const newer = this.buffer.filter((event) => !stale(event));
    this.buffer.splice(0, this.buffer.length, current, ...newer);
    this.floor = {
      applicationId: current.applicationId,
      version: Math.max(
        current.version,
        ...newer.filter((e) => e.applicationId === current.applicationId).map((e) => e.version),
      ),
    };
  }

  deliver(event: StatusEvent): void {
    if (this.ended) return;
    if (this.floor?.applicationId === event.applicationId) {
      if (event.version <= this.floor.version) return;
      this.floor.version = event.version;
    }
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting({ done: false, value: event });
    } else if (this.buffer.length >= MAX_BUFFERED_EVENTS) {
      this.log.warn(
        { buffered: this.buffer.length },
        "a KYC event stream fell too far behind its reader; ended it (the client reconnects)",
      );
      this.end("overflow");
    } else {
      this.buffer.push(event);
    }
  }

  next(): Promise<IteratorResult<StatusEvent, undefined>> {
    const event = this.buffer.shift();
    if (event) return Promise.resolve({ done: false, value: event });
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    // On shutdown or a lost connection the reader still gets what arrived; otherwise nobody reads
    // it (aborted, returned) or it is stale (overflow: the client resynchronises on reconnect).
    if (reason !== "closed" && reason !== "connection lost") this.buffer.length = 0;
    this.waiting?.(DONE);
    this.waiting = undefined;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}

interface Channel {
  listeners: Set<Listener>;
  subscribed: Promise<unknown>;
}

const hubs = new WeakMap<Redis, StatusEventHub>();

/** One hub per process, keyed by its main Redis client (a test file's kit is a process of its own). */
function hubFor(deps: KycEventDeps): StatusEventHub {
  let hub = hubs.get(deps.redis);
  if (!hub) {
    hub = new StatusEventHub(deps.redis, deps.log.child({ component: "kyc-events" }));
    hubs.set(deps.redis, hub);
  }
  return hub;
}

const unavailable = () =>
  new KitError("SERVICE_UNAVAILABLE", "Live KYC status is unavailable right now; retry in a few seconds.");

class StatusEventHub {
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, Channel>();
  private readonly streamsPerUser = new Map<string, number>();
  private closed = false;
  private outageReported = false;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  /** Takes one of the user's stream slots; the returned function gives it back (once). */
  reserveStream(userId: string): () => void {
    const open = this.streamsPerUser.get(userId) ?? 0;
    if (open >= MAX_STREAMS_PER_USER) {
      throw new KitError(
        "TOO_MANY_REQUESTS",
        `You already have ${MAX_STREAMS_PER_USER} live status streams open; close one (another tab or device) first.`,
      );
    }
    this.streamsPerUser.set(userId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.streamsPerUser.get(userId) ?? 1) - 1;
      if (left > 0) this.streamsPerUser.set(userId, left);
      else this.streamsPerUser.delete(userId);
    };
  }

  /** A listener on `channel`, once the subscriber connection has confirmed the subscription. */
  async listen(channel: string, log: Logger): Promise<Listener> {
    const subscriber = await this.connect();
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), subscribed: subscriber.subscribe(channel) };
      this.channels.set(channel, entry);
    }
    const listener = new Listener(channel, log);
    entry.listeners.add(listener);
    listener.onEnd(() => this.release(listener));
    try {
      await entry.subscribed;
    } catch (error) {
      // The next stream on this channel tries a fresh SUBSCRIBE.
      if (this.channels.get(channel) === entry) this.channels.delete(channel);
      listener.end("failed");
      this.log.warn({ err: error }, "could not subscribe to a KYC channel");
      throw unavailable();
    }
    if (this.closed) {
      listener.end("closed");
      throw unavailable();
    }
    return listener;
  }

  stats(): { channels: number; streams: number; subscriber?: Redis } {
    let streams = 0;
    for (const entry of this.channels.values()) streams += entry.listeners.size;
    return { channels: this.channels.size, streams, subscriber: this.subscriber };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.endAll("closed");
    if (this.subscriber) await closeRedis(this.subscriber);
  }

  private async connect(): Promise<Redis> {
    if (this.closed) throw unavailable();
    if (!this.subscriber) {
      // Resubscribing after a reconnect would hide the gap: streams end instead (see `close` handler).
      const subscriber = this.redis.duplicate({ connectionName: "kit-kyc-events", autoResubscribe: false });
      subscriber.on("message", (channel: string, message: string) => this.dispatch(channel, message));
      subscriber.on("error", (err) => {
        if (!this.outageReported) this.log.warn({ err }, "kyc events subscriber: redis connection error");
        this.outageReported = true;
      });
      subscriber.on("ready", () => {
        if (this.outageReported) this.log.info("kyc events subscriber: redis connection restored");
        this.outageReported = false;
      });
      // The server dropped our subscriptions with the connection, and what was published meanwhile
      // is gone: end the streams so that clients reconnect and start from the current status.
      subscriber.on("close", () => this.endAll("connection lost"));
      this.subscriber = subscriber;
    }
    if (!(await redisReady(this.subscriber, SUBSCRIBER_READY_TIMEOUT_MS)) || this.closed) throw unavailable();
    return this.subscriber;
  }

  private endAll(reason: EndReason): void {
    for (const entry of [...this.channels.values()]) {
      for (const listener of [...entry.listeners]) listener.end(reason);
    }
    this.channels.clear();
  }

  private release(listener: Listener): void {
    const entry = this.channels.get(listener.channel);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.channels.delete(listener.channel);
    // Sent at once, not after a pending SUBSCRIBE settles: commands keep their order on the
    // connection, so a new SUBSCRIBE for the same channel right after still wins.
    this.subscriber?.unsubscribe(listener.channel).catch(() => {});
  }

  private dispatch(channel: string, message: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    let event: StatusEvent;
    try {
      event = statusEvent.parse(JSON.parse(message));
    } catch (error) {
      this.log.warn({ err: error }, "ignored a malformed KYC status event");
      return;
    }
    for (const listener of [...entry.listeners]) listener.deliver(event);
  }
}
