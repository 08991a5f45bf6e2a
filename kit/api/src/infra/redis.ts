import { Redis } from "ioredis";
import type { Config } from "../config";
import type { Logger } from "./log";

export type { Redis };

/**
 * The one Redis client factory. Every key gets the configured prefix, so tests and tenants
 * sharing a server never collide. Commands fail fast instead of queueing forever while Redis is
 * away, so a request sees an error (and a clear log line) rather than hanging.
 */
export function createRedis(config: Pick<Config, "redis">, log: Logger, name = "main"): Redis {
  const redis = new Redis(config.redis.url, {
    keyPrefix: config.redis.keyPrefix,
    connectionName: `kit-${name}`,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
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
  return redis;
}
