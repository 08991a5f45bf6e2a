import diagnosticsChannel from "node:diagnostics_channel";
import { Redis } from "ioredis";
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

/**
 * The one Redis client factory. Every key gets the configured prefix, so tests and tenants
 * sharing a server never collide. While Redis is away, commands fail at once (no offline queue)
 * instead of waiting out reconnect attempts: callers then take their documented fallback (fail
 * open or closed) in microseconds, not seconds. A Redis that is connected but does not answer
 * (stopped, overloaded, a half-open link) fails each command after `commandTimeoutMs`, to the same
 * fallbacks. Call `redisReady` before serving.
 */
export function createRedis(config: Pick<Config, "redis">, log: Logger, name = "main"): Redis {
  const redis = new Redis(config.redis.url, {
    keyPrefix: config.redis.keyPrefix,
    connectionName: `kit-${name}`,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    commandTimeout: config.redis.commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
  reportOutages(redis, log, name);
  return redis;
}

/**
 * BullMQ's connections, apart from every other client as BullMQ requires: it refuses an ioredis key
 * prefix (it prefixes its own keys, see jobs/queue.ts) and its blocking reads need
 * `maxRetriesPerRequest: null`. A `worker` connection queues commands while Redis is away and runs
 * them when it returns; a `producer` one fails at once, like every other caller, so an enqueue
 * during an outage is an error rather than a hang — and, having no blocking reads, it gets the same
 * command timeout as the shared client, for a Redis that is connected but silent.
 */
export function createQueueRedis(config: Pick<Config, "redis">, log: Logger, use: "producer" | "worker"): Redis {
  const name = `jobs-${use}`;
  const redis = new Redis(config.redis.url, {
    connectionName: `kit-${name}`,
    maxRetriesPerRequest: null,
    enableOfflineQueue: use === "worker",
    connectTimeout: 2_000,
    ...(use === "producer" ? { commandTimeout: config.redis.commandTimeoutMs } : {}),
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  reportOutages(redis, log, name);
  return redis;
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
