// What lets a process keep copies of shared data (rates, a user's wallets) and still read every
// change: each change is announced on a pub/sub channel, and the copies are trusted only while the
// process is subscribed to it. Pub/sub keeps nothing, so a lost subscription drops every copy
// (`onReset`) and reads go to the source until the subscription is back.
import { LiveStreamHub } from "./live-streams";
import type { Logger } from "./log";
import type { Redis, SubscriberConnection } from "./redis";

/** A lost subscription is tried again on a read at most this often. */
const RESUBSCRIBE_EVERY_MS = 1_000;

export interface InvalidationChannelOptions {
  /** The subscriber connection is `kit-{name}`. */
  name: string;
  /** The channel, under REDIS_KEY_PREFIX. */
  channel: string;
  /** An announcement arrived (its JSON message). */
  onAnnouncement(message: unknown): void;
  /** Subscribed anew, or the subscription was lost: whatever was copied before may be out of date. */
  onReset(): void;
}

export class InvalidationChannel {
  private readonly hub: LiveStreamHub<unknown>;
  private readonly channel: string;
  private subscribed = false;
  private subscribing = false;
  private lastAttempt = 0;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    log: Logger,
    private readonly options: InvalidationChannelOptions,
  ) {
    this.channel = `${redis.options.keyPrefix ?? ""}${options.channel}`;
    this.hub = new LiveStreamHub(
      { redis, log },
      {
        name: options.name,
        schema: { parse: (value) => value },
        maxBuffered: 1_000,
        unavailable: `The ${options.name} channel is unavailable.`,
        // The main client reports Redis outages already.
        connectionErrors: "debug",
      },
    );
  }

  /** Whether copies may be used now. Opens the subscription in the background when it is not; never waits. */
  listening(): boolean {
    if (!this.subscribed) this.subscribe();
    return this.subscribed;
  }

  /** Announces a change to every process, this one included. Best effort: a process that misses it has lost its subscription, which resets it too. */
  async announce(message: unknown): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(message)).catch(() => {});
  }

  /** The subscriber connection (for tests that cut it). */
  subscriber(): SubscriberConnection | undefined {
    return this.hub.stats().subscriber;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.hub.close();
  }

  private subscribe(): void {
    const now = Date.now();
    if (this.subscribing || this.closed || now - this.lastAttempt < RESUBSCRIBE_EVERY_MS) return;
    this.subscribing = true;
    this.lastAttempt = now;
    this.hub
      .open(this.channel, { expand: (message) => [message] })
      .then(async (listener) => {
        this.options.onReset();
        this.subscribed = true;
        this.subscribing = false;
        for await (const message of listener.stream(undefined)) this.options.onAnnouncement(message);
      })
      .catch(() => {})
      .finally(() => {
        this.subscribed = false;
        this.subscribing = false;
        this.options.onReset();
      });
  }
}
