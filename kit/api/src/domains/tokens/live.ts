// tokens.events: a token's live transfers, from what the indexer publishes on
// `{prefix}token:{address}:transfers` (events.ts) after each committed batch. The approach is the
// one of kyc/events.ts: one subscriber connection per process, opened on the first stream; a
// channel is SUBSCRIBEd while at least one local stream listens to it; each stream has a bounded
// buffer. Pub/sub keeps nothing, so a stream that cannot stay exact ends instead (connection lost,
// reader too slow, shutdown) and the client re-reads tokens.transfers and reconnects.
import { AsyncIteratorClass } from "@orpc/server";
import { getAddress } from "viem";
import type { Config } from "../../config";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { closeRedis, type Redis, redisReady } from "../../infra/redis";
import type { TokenStreamEvent } from "./contract";
import { type TokenTransfersEvent, tokenTransfersEvent, transfersChannel } from "./events";
import { amountOf, requireToken } from "./service";

export interface TokenStreamDeps {
  config: Pick<Config, "redis" | "auth">;
  db: Database;
  redis: Redis;
  log: Logger;
}

/** Open token streams one user may hold on one process (tabs, tokens); more is a leak or abuse. */
export const MAX_TOKEN_STREAMS_PER_USER = 10;
/** Messages (each up to 1,000 transfers) a stream may fall behind its reader before it is ended. */
export const MAX_BUFFERED_MESSAGES = 32;
const SUBSCRIBER_READY_TIMEOUT_MS = 2_000;

const unavailable = () =>
  new KitError("SERVICE_UNAVAILABLE", "Live token transfers are unavailable right now; retry in a few seconds.");

/** The token's transfers as they are indexed, until `signal` aborts or the stream is returned. */
export async function watchTokenTransfers(
  deps: TokenStreamDeps,
  userId: string,
  address: string,
  signal: AbortSignal | undefined,
): Promise<AsyncIteratorClass<TokenStreamEvent, undefined>> {
  const token = await requireToken(deps, address);
  const hub = hubFor(deps);
  const release = hub.reserve(userId);
  let listener: Listener;
  try {
    listener = await hub.listen(transfersChannel(deps.config, token.address), token.decimals);
  } catch (error) {
    release();
    throw error;
  }
  listener.onEnd(release);
  if (signal) {
    const onAbort = () => listener.end("aborted");
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      listener.onEnd(() => signal.removeEventListener("abort", onAbort));
    }
  }
  // Not an async generator: its `return()` would wait for the next event, holding the subscription.
  return new AsyncIteratorClass(
    () => listener.next(),
    async () => listener.end("returned"),
  );
}

/** Ends every token stream of the process `redis` belongs to and closes its subscriber connection. */
export async function closeTokenStreams(redis: Redis): Promise<void> {
  await hubs.get(redis)?.close();
}

/** Test hook: subscribed channels and open streams of the process. */
export function tokenStreamStats(redis: Redis): { channels: number; streams: number } {
  return hubs.get(redis)?.stats() ?? { channels: 0, streams: 0 };
}

/** A published message as the events a client sees. */
export function toStreamEvents(message: TokenTransfersEvent, decimals: number): TokenStreamEvent[] {
  const token = getAddress(message.token.toLowerCase());
  if (message.type === "reorg") {
    return [{ type: "reorg", token, ancestorBlock: String(message.ancestorBlock), removed: message.removed }];
  }
  return message.transfers.map((t) => ({
    type: "transfer" as const,
    token,
    from: getAddress(t.from.toLowerCase()),
    to: getAddress(t.to.toLowerCase()),
    value: amountOf(t.amount, decimals),
    blockNumber: String(t.blockNumber),
    transactionHash: t.txHash,
    logIndex: t.logIndex,
  }));
}

// ---------------------------------------------------------------------------------------------

type EndReason = "aborted" | "returned" | "failed" | "overflow" | "connection lost" | "closed";
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

class Listener {
  private readonly messages: TokenTransfersEvent[] = [];
  private pending: TokenStreamEvent[] = [];
  private waiting: ((result: IteratorResult<TokenStreamEvent, undefined>) => void) | undefined;
  private readonly cleanups: (() => void)[] = [];
  private ended = false;

  constructor(
    readonly channel: string,
    private readonly decimals: number,
    private readonly log: Logger,
  ) {}

  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups.push(cleanup);
  }

  deliver(message: TokenTransfersEvent): void {
    if (this.ended) return;
    if (this.waiting && this.pending.length === 0 && this.messages.length === 0) {
      const [first, ...rest] = toStreamEvents(message, this.decimals);
      if (!first) return;
      this.pending = rest;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting({ done: false, value: first });
    } else if (this.messages.length >= MAX_BUFFERED_MESSAGES) {
      this.log.warn({ channel: this.channel }, "a token stream fell too far behind its reader; ended it");
      this.end("overflow");
    } else {
      this.messages.push(message);
    }
  }

  next(): Promise<IteratorResult<TokenStreamEvent, undefined>> {
    while (this.pending.length === 0 && this.messages.length > 0) {
      this.pending = toStreamEvents(this.messages.shift() as TokenTransfersEvent, this.decimals);
    }
    const event = this.pending.shift();
    if (event) return Promise.resolve({ done: false, value: event });
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    // On shutdown or a lost connection the reader still gets what arrived; otherwise nobody reads it.
    if (reason !== "closed" && reason !== "connection lost") {
      this.messages.length = 0;
      this.pending = [];
    }
    this.waiting?.(DONE);
    this.waiting = undefined;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}

interface Channel {
  listeners: Set<Listener>;
  subscribed: Promise<unknown>;
}

const hubs = new WeakMap<Redis, TokenStreamHub>();

function hubFor(deps: TokenStreamDeps): TokenStreamHub {
  let hub = hubs.get(deps.redis);
  if (!hub) {
    hub = new TokenStreamHub(deps.redis, deps.log.child({ component: "token-streams" }));
    hubs.set(deps.redis, hub);
  }
  return hub;
}

class TokenStreamHub {
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, Channel>();
  private readonly streamsPerUser = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {}

  reserve(userId: string): () => void {
    const open = this.streamsPerUser.get(userId) ?? 0;
    if (open >= MAX_TOKEN_STREAMS_PER_USER) {
      throw new KitError(
        "TOO_MANY_REQUESTS",
        `You already have ${MAX_TOKEN_STREAMS_PER_USER} live token streams open; close one first.`,
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

  async listen(channel: string, decimals: number): Promise<Listener> {
    const subscriber = await this.connect();
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), subscribed: subscriber.subscribe(channel) };
      this.channels.set(channel, entry);
    }
    const listener = new Listener(channel, decimals, this.log);
    entry.listeners.add(listener);
    listener.onEnd(() => this.release(listener));
    try {
      await entry.subscribed;
    } catch (error) {
      if (this.channels.get(channel) === entry) this.channels.delete(channel);
      listener.end("failed");
      this.log.warn({ err: error }, "could not subscribe to a token channel");
      throw unavailable();
    }
    if (this.closed) {
      listener.end("closed");
      throw unavailable();
    }
    return listener;
  }

  stats(): { channels: number; streams: number } {
    let streams = 0;
    for (const entry of this.channels.values()) streams += entry.listeners.size;
    return { channels: this.channels.size, streams };
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
      // Resubscribing after a reconnect would hide the gap: streams end instead (see "close").
      const subscriber = this.redis.duplicate({ connectionName: "kit-token-streams", autoResubscribe: false });
      subscriber.on("message", (channel: string, message: string) => this.dispatch(channel, message));
      subscriber.on("error", (err) => this.log.debug({ err }, "token streams subscriber: redis connection error"));
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
    this.subscriber?.unsubscribe(listener.channel).catch(() => {});
  }

  private dispatch(channel: string, raw: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    let message: TokenTransfersEvent;
    try {
      message = tokenTransfersEvent.parse(JSON.parse(raw));
    } catch (error) {
      this.log.warn({ err: error }, "ignored a malformed token transfers message");
      return;
    }
    for (const listener of [...entry.listeners]) listener.deliver(message);
  }
}
