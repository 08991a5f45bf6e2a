// better-auth's secondaryStorage over the shared ioredis client (keys get REDIS_KEY_PREFIX).
import type { SecondaryStorage } from "better-auth";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";

/** Where better-auth's entries live inside our prefix, so they are easy to find and never collide. */
export const AUTH_KEY_PREFIX = "auth:";

/**
 * Reads fail open: a Redis error reads as "not cached", and better-auth then reads the session
 * from Postgres (sessions are stored in both). Writes and deletes fail closed: a sign-out that
 * cannot reach Redis errors instead of leaving a cache that disagrees with Postgres.
 */
export function createSecondaryStorage(redis: Redis, log: Logger): SecondaryStorage {
  const key = (k: string) => `${AUTH_KEY_PREFIX}${k}`;
  return {
    async get(k) {
      try {
        return await redis.get(key(k));
      } catch (err) {
        log.warn({ err }, "session cache read failed; using Postgres");
        return null;
      }
    },
    async set(k, value, ttl) {
      if (ttl && ttl > 0) await redis.set(key(k), value, "EX", Math.ceil(ttl));
      else await redis.set(key(k), value);
    },
    async delete(k) {
      await redis.del(key(k));
    },
    async getAndDelete(k) {
      return await redis.getdel(key(k));
    },
    // better-auth's per-address limiter. It fails open here: the endpoints where guessing matters
    // are already refused without Redis by Kit's own check (brute-force.ts).
    async increment(k, ttl) {
      try {
        const result = await redis.multi().incr(key(k)).expire(key(k), ttl, "NX").exec();
        const value = result?.[0]?.[1];
        return typeof value === "number" ? value : 1;
      } catch (err) {
        log.warn({ err }, "better-auth rate limit unavailable; letting the request through");
        return 1;
      }
    },
  };
}
