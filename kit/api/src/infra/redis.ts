import diagnosticsChannel from "node:diagnostics_channel";
import { Command, Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config";
import type { Logger } from "./log";

export type { Redis };

// ioredis 6 traces a command unless its tracing channel says `hasSubscribers === false`. Bun's
// TracingChannel has no such property (Node 22's has), so every command paid for argument
// sanitising and a traced promise with nobody listening: ~10 µs of CPU per signed-in call
// (bench/README.md). The property answers what Node's does: whether any of its channels has a
// subscriber, so a real tracer still sees every command.
const tracingChannelPrototype = Object.getPrototypeOf(diagnosticsChannel.tracingChannel("kit:probe")) as object;
if (!("hasSubscribers" in tracingChannelPrototype)) {
  Object.defineProperty(tracingChannelPrototype, "hasSubscribers", {
    configurable: true,
    get(this: Record<string, { hasSubscribers?: boolean } | undefined>) {
      return ["start", "end", "asyncStart", "asyncEnd", "error"].some((name) => this[name]?.hasSubscribers === true);
    },
  });
}

/** What a command fails with while the breaker is open (see `BreakingRedis`): the caller's fallback applies. */
export class RedisSkippedError extends Error {
  constructor() {
    super("Redis skipped: a command timed out and Redis has not answered since (circuit breaker open)");
    this.name = "RedisSkippedError";
  }
}

/** ioredis's error for a command that outlived `commandTimeout`. */
const COMMAND_TIMED_OUT = "Command timed out";

type SendCommandStream = Parameters<Redis["sendCommand"]>[1];

/**
 * A client with a circuit breaker. A Redis that is connected but silent (stopped, overloaded) makes
 * each command wait out the command timeout, and a signed-in call sends up to three in a row. So
 * the first timeout opens the breaker: while the connection stays up, every command fails at once
 * with `RedisSkippedError` (callers take the fallback they take when Redis is down), and a PING
 * probes Redis every `breakerMs`; its reply, or a new connection's handshake, closes the breaker.
 * A call then pays at most one timeout (the one in flight when Redis stalled), and no caller pays
 * for a probe. Closed, it costs each command a boolean test and one promise reaction.
 */
class BreakingRedis extends Redis {
  private skipping = false;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly breakerMs: number;
  private readonly onBreaker: (open: boolean) => void;

  constructor(
    url: string,
    options: RedisOptions & { replyMapping?: "legacy" },
    breaker: { ms: number; onChange: (open: boolean) => void },
  ) {
    super(url, options);
    this.breakerMs = breaker.ms;
    this.onBreaker = breaker.onChange;
    // A new connection answered its handshake: Redis answers again.
    this.on("ready", () => this.closeBreaker());
    this.on("end", () => clearTimeout(this.probeTimer));
  }

  override sendCommand(command: Command, stream?: SendCommandStream): unknown {
    // Only a connected client skips: while (re)connecting, ioredis already fails commands at once,
    // and the handshake's own commands must get through.
    if (this.skipping && this.status === "ready") {
      command.reject(new RedisSkippedError());
      return command.promise;
    }
    const reply = super.sendCommand(command, stream);
    command.promise.catch(this.openOnTimeout);
    return reply;
  }

  private readonly openOnTimeout = (error: unknown): void => {
    if (this.skipping || !(error instanceof Error) || error.message !== COMMAND_TIMED_OUT) return;
    this.skipping = true;
    this.onBreaker(true);
    this.scheduleProbe();
  };

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      if (!this.skipping || this.status === "end") return;
      const ping = new Command("ping");
      // Past the breaker: the probe is the one command let through.
      super.sendCommand(ping);
      ping.promise.then(
        () => this.closeBreaker(),
        () => this.scheduleProbe(),
      );
    }, this.breakerMs);
    this.probeTimer.unref?.();
  }

  private closeBreaker(): void {
    clearTimeout(this.probeTimer);
    if (!this.skipping) return;
    this.skipping = false;
    this.onBreaker(false);
  }
}

/**
 * The one Redis client factory. Every key gets the configured prefix, so tests and tenants
 * sharing a server never collide. While Redis is away, commands fail at once (no offline queue)
 * instead of waiting out reconnect attempts: callers then take their documented fallback (fail
 * open or closed) in microseconds, not seconds. A Redis that is connected but does not answer
 * (stopped, overloaded, a half-open link) fails a command after `commandTimeoutMs`, to the same
 * fallbacks, and then every command at once until it answers again (the breaker, above). Call
 * `redisReady` before serving.
 */
export function createRedis(config: Pick<Config, "redis">, log: Logger, name = "main"): Redis {
  const redis = new BreakingRedis(
    config.redis.url,
    {
      keyPrefix: config.redis.keyPrefix,
      connectionName: `kit-${name}`,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
      commandTimeout: config.redis.commandTimeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      lazyConnect: false,
    },
    { ms: config.redis.breakerMs, onChange: reportBreaker(log, name, config.redis.commandTimeoutMs) },
  );
  reportOutages(redis, log, name);
  return redis;
}

/**
 * BullMQ's connections, apart from every other client as BullMQ requires: it refuses an ioredis key
 * prefix (it prefixes its own keys, see jobs/queue.ts) and its blocking reads need
 * `maxRetriesPerRequest: null`. A `worker` connection queues commands while Redis is away and runs
 * them when it returns; a `producer` one fails at once, like every other caller, so an enqueue
 * during an outage is an error rather than a hang — and, having no blocking reads, it gets the same
 * command timeout and breaker as the shared client, for a Redis that is connected but silent.
 */
export function createQueueRedis(config: Pick<Config, "redis">, log: Logger, use: "producer" | "worker"): Redis {
  const name = `jobs-${use}`;
  const options = {
    connectionName: `kit-${name}`,
    maxRetriesPerRequest: null,
    enableOfflineQueue: use === "worker",
    connectTimeout: 2_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
  };
  const redis =
    use === "producer"
      ? new BreakingRedis(
          config.redis.url,
          { ...options, commandTimeout: config.redis.commandTimeoutMs },
          { ms: config.redis.breakerMs, onChange: reportBreaker(log, name, config.redis.commandTimeoutMs) },
        )
      : new Redis(config.redis.url, options);
  reportOutages(redis, log, name);
  return redis;
}

function reportBreaker(log: Logger, name: string, timeoutMs: number): (open: boolean) => void {
  return (open) => {
    if (open) log.warn({ client: name, timeoutMs }, "redis did not answer in time; skipping it until it answers again");
    else log.info({ client: name }, "redis answers again");
  };
}

function reportOutages(redis: Redis, log: Logger, name: string): void {
  let reported = false;
  redis.on("error", (err) => {
    // ioredis emits on every failed reconnect; one line per outage is enough.
    if (!reported) log.warn({ err, client: name }, "redis connection error");
    reported = true;
  });
  redis.on("ready", () => {
    if (reported) log.info({ client: name }, "redis connection restored");
    reported = false;
  });
}

/** Resolves true once connected, or false after `timeoutMs` (the caller decides whether that is fatal). */
export function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once("ready", onReady);
  });
}

/** QUIT when connected (pending replies arrive first); otherwise drop the socket, so a stop never waits on an outage. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "ready") await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/**
 * Deletes every key under `prefix` (a test file's or a bench run's). SCAN patterns are not
 * prefixed by ioredis and it returns full names, while DEL re-adds the client's prefix.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  const own = redis.options.keyPrefix ?? "";
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys.map((k) => (k.startsWith(own) ? k.slice(own.length) : k)));
  } while (cursor !== "0");
}
