// Live streams over Redis pub/sub (KYC status, token transfers). Each process holds one subscriber
// connection per kind of stream, opened on the first stream, and fans messages out to its local
// streams: a channel is SUBSCRIBEd while at least one stream listens to it. Pub/sub keeps nothing,
// so a stream that cannot be kept exact ends instead (lost connection, a reader too slow, shutdown):
// the client reconnects and reads the current state again.
import { AsyncIteratorClass } from "@orpc/server";
import { KitError } from "../errors";
import type { Logger } from "./log";
import { closeRedis, createSubscriber, type Redis, redisReady, type SubscriberConnection } from "./redis";

export interface LiveStreamOptions<M> {
  /** The subscriber connection is `kit-{name}`; logs say `{name}` too. */
  name: string;
  /** Checks a published message (JSON); one it throws on is logged and skipped. */
  schema: { parse: (value: unknown) => M };
  /** Messages a stream may fall behind its reader before it is ended (memory per stream stays bounded). */
  maxBuffered: number;
  /** SERVICE_UNAVAILABLE message while Redis is away or after `close`. */
  unavailable: string;
  /**
   * `warn` (the default) once per outage and `info` when it is over; `debug` each error, where
   * another component already reports the outages.
   */
  connectionErrors?: "warn" | "debug";
}

/** At most `max` open streams per `key` (a user) on one process; past it TOO_MANY_REQUESTS with `message`. */
export interface StreamCap {
  key: string;
  max: number;
  message: string;
}

export interface OpenOptions<M, E> {
  /** Without one the stream is not capped. */
  cap?: StreamCap;
  /** The events a buffered message stands for, computed when the reader gets to it. */
  expand: (message: M) => E[];
  /** For this stream's own warnings; the hub's log otherwise. */
  log?: Logger;
}

export interface LiveStreamStats {
  channels: number;
  streams: number;
  subscriber?: SubscriberConnection;
}

type EndReason = "aborted" | "returned" | "failed" | "overflow" | "connection lost" | "closed";

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** One stream's view of a channel: a bounded buffer between the subscriber and the reader. */
export class Listener<M, E> {
  private readonly buffer: M[] = [];
  /** Events of the message being read, not yet taken. */
  private pending: E[] = [];
  private waiting: ((result: IteratorResult<E, undefined>) => void) | undefined;
  private readonly cleanups: (() => void)[] = [];
  private accept: ((message: M) => boolean) | undefined;
  private ended = false;

  constructor(
    readonly channel: string,
    private readonly expand: (message: M) => E[],
    private readonly maxBuffered: number,
    private readonly overflowWarning: string,
    private readonly log: Logger,
  ) {}

  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  /** Before the stream is read: replaces what is buffered (a snapshot read after subscribing goes first). */
  rewrite(replace: (buffered: M[]) => M[]): void {
    this.buffer.splice(0, this.buffer.length, ...replace([...this.buffer]));
  }

  /** Messages delivered from now on are dropped unless `accept` takes them. */
  filter(accept: (message: M) => boolean): void {
    this.accept = accept;
  }

  deliver(message: M): void {
    if (this.ended) return;
    if (this.accept && !this.accept(message)) return;
    if (this.waiting && this.pending.length === 0 && this.buffer.length === 0) {
      const [first, ...rest] = this.expand(message);
      if (first === undefined) return;
      this.pending = rest;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting({ done: false, value: first });
    } else if (this.buffer.length >= this.maxBuffered) {
      this.log.warn({ channel: this.channel, buffered: this.buffer.length }, this.overflowWarning);
      this.end("overflow");
    } else {
      this.buffer.push(message);
    }
  }

  next(): Promise<IteratorResult<E, undefined>> {
    while (this.pending.length === 0 && this.buffer.length > 0) {
      this.pending = this.expand(this.buffer.shift() as M);
    }
    const event = this.pending.shift();
    if (event !== undefined) return Promise.resolve({ done: false, value: event });
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
    if (reason !== "closed" && reason !== "connection lost") {
      this.buffer.length = 0;
      this.pending = [];
    }
    this.waiting?.(DONE);
    this.waiting = undefined;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  /**
   * The reader's side, until `signal` aborts or it is returned. An AsyncIteratorClass, not an async
   * generator: `return()` on a generator waits until it next yields, so a stream cancelled while
   * idle would hold its subscription until the next event; this one ends (and unsubscribes) at once.
   */
  stream(signal: AbortSignal | undefined): AsyncIteratorClass<E, undefined> {
    if (signal) {
      const onAbort = () => this.end("aborted");
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        this.onEnd(() => signal.removeEventListener("abort", onAbort));
      }
    }
    return new AsyncIteratorClass(
      () => this.next(),
      async () => this.end("returned"),
    );
  }
}

/** What the hub sees of a listener, whatever events it yields. */
interface Subscription<M> {
  readonly channel: string;
  deliver(message: M): void;
  end(reason: EndReason): void;
}

interface Channel<M> {
  listeners: Set<Subscription<M>>;
  subscribed: Promise<unknown>;
}

const SUBSCRIBER_READY_TIMEOUT_MS = 2_000;

/**
 * One kind of stream in one process (createDeps makes each hub, `deps.local`): its subscriber
 * connection, its channels and their listeners.
 */
export class LiveStreamHub<M> {
  private subscriber: SubscriberConnection | undefined;
  private readonly channels = new Map<string, Channel<M>>();
  private readonly streamsPerKey = new Map<string, number>();
  private readonly redis: Redis;
  private readonly log: Logger;
  private closed = false;
  private outageReported = false;

  constructor(
    deps: { redis: Redis; log: Logger },
    private readonly options: LiveStreamOptions<M>,
  ) {
    this.redis = deps.redis;
    this.log = deps.log.child({ component: options.name });
  }

  /**
   * A listener on `channel`, once the subscriber connection has confirmed the subscription; it holds
   * one of `key`'s slots until it ends. SERVICE_UNAVAILABLE without Redis.
   */
  async open<E>(channel: string, { cap, expand, log = this.log }: OpenOptions<M, E>): Promise<Listener<M, E>> {
    const release = cap ? this.reserve(cap) : () => {};
    let listener: Listener<M, E>;
    try {
      listener = await this.listen(channel, expand, log);
    } catch (error) {
      release();
      throw error;
    }
    listener.onEnd(release);
    return listener;
  }

  stats(): LiveStreamStats {
    let streams = 0;
    for (const entry of this.channels.values()) streams += entry.listeners.size;
    return { channels: this.channels.size, streams, subscriber: this.subscriber };
  }

  /**
   * Ends every stream (each after what it has buffered) and closes the subscriber connection; later
   * streams are refused. Call before a graceful HTTP stop, which otherwise waits for open streams.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.endAll("closed");
    if (this.subscriber) await closeRedis(this.subscriber);
  }

  /** Takes one of the key's stream slots; the returned function gives it back (once). */
  private reserve({ key, max, message }: StreamCap): () => void {
    const open = this.streamsPerKey.get(key) ?? 0;
    if (open >= max) throw new KitError("TOO_MANY_REQUESTS", message);
    this.streamsPerKey.set(key, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.streamsPerKey.get(key) ?? 1) - 1;
      if (left > 0) this.streamsPerKey.set(key, left);
      else this.streamsPerKey.delete(key);
    };
  }

  private async listen<E>(channel: string, expand: (message: M) => E[], log: Logger): Promise<Listener<M, E>> {
    const subscriber = await this.connect();
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), subscribed: subscriber.subscribe(channel) };
      this.channels.set(channel, entry);
    }
    const overflow = `${this.options.name}: a stream fell too far behind its reader; ended it (the client reconnects)`;
    const listener = new Listener(channel, expand, this.options.maxBuffered, overflow, log);
    entry.listeners.add(listener);
    listener.onEnd(() => this.release(listener));
    try {
      await entry.subscribed;
    } catch (error) {
      // The next stream on this channel tries a fresh SUBSCRIBE.
      if (this.channels.get(channel) === entry) this.channels.delete(channel);
      listener.end("failed");
      this.log.warn({ err: error }, `${this.options.name}: could not subscribe to a channel`);
      throw this.unavailable();
    }
    if (this.closed) {
      listener.end("closed");
      throw this.unavailable();
    }
    return listener;
  }

  private unavailable(): KitError {
    return new KitError("SERVICE_UNAVAILABLE", this.options.unavailable);
  }

  private async connect(): Promise<SubscriberConnection> {
    if (this.closed) throw this.unavailable();
    if (!this.subscriber) {
      const { name } = this.options;
      // Resubscribing after a reconnect would hide the gap: streams end instead (see `close` handler).
      const subscriber = createSubscriber(this.redis, name);
      if (!subscriber) throw this.unavailable();
      subscriber.on("message", (channel: string, message: string) => this.dispatch(channel, message));
      subscriber.on("error", (err) => {
        if (this.options.connectionErrors === "debug") {
          this.log.debug({ err }, `${name} subscriber: redis connection error`);
          return;
        }
        if (!this.outageReported) this.log.warn({ err }, `${name} subscriber: redis connection error`);
        this.outageReported = true;
      });
      subscriber.on("ready", () => {
        if (this.outageReported) this.log.info(`${name} subscriber: redis connection restored`);
        this.outageReported = false;
      });
      // The server dropped our subscriptions with the connection, and what was published meanwhile
      // is gone: end the streams so that clients reconnect and read the current state again.
      subscriber.on("close", () => this.endAll("connection lost"));
      // A connection that will not come back (a Cluster node's, see createSubscriber): the next
      // stream opens another.
      subscriber.on("end", () => {
        if (this.subscriber === subscriber) this.subscriber = undefined;
      });
      this.subscriber = subscriber;
    }
    if (!(await redisReady(this.subscriber, SUBSCRIBER_READY_TIMEOUT_MS)) || this.closed) throw this.unavailable();
    return this.subscriber;
  }

  private endAll(reason: EndReason): void {
    for (const entry of [...this.channels.values()]) {
      for (const listener of [...entry.listeners]) listener.end(reason);
    }
    this.channels.clear();
  }

  private release(listener: Subscription<M>): void {
    const entry = this.channels.get(listener.channel);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.channels.delete(listener.channel);
    // Sent at once, not after a pending SUBSCRIBE settles: commands keep their order on the
    // connection, so a new SUBSCRIBE for the same channel right after still wins.
    this.subscriber?.unsubscribe(listener.channel).catch(() => {});
  }

  private dispatch(channel: string, raw: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    let message: M;
    try {
      message = this.options.schema.parse(JSON.parse(raw));
    } catch (error) {
      this.log.warn({ err: error }, `${this.options.name}: ignored a malformed message`);
      return;
    }
    for (const listener of [...entry.listeners]) listener.deliver(message);
  }
}
