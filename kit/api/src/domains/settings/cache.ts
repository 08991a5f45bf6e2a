// The settings' write-through copy in Redis: a key (`cache:system:settings`) or one field of a
// user's hash (`cache:settings:{userId}`). A save writes Postgres and then the copy while its rows
// are still locked, so concurrent saves reach Redis in commit order; a read that misses fills the
// copy only if no save got there first (HSETNX / SET NX). Without Redis every read goes to Postgres
// and every save still succeeds. Copies expire, so one missed write cannot last.
import type { Database, Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";

/** Bounds how long a copy can outlive a save whose cache write failed while Redis stayed up. */
const CACHE_TTL_SECONDS = 15 * 60;

interface CacheSlot {
  key: string;
  /**
   * `notification-switches` since the switches follow the notifications catalogue: copies cached
   * under the old `notifications` field (another shape) are never read, and expire on their own.
   */
  field?: "preferences" | "notification-switches";
}

export const userSlot = (userId: string, field: "preferences" | "notification-switches"): CacheSlot => ({
  key: `cache:settings:${userId}`,
  field,
});
export const SYSTEM_SLOT: CacheSlot = { key: "cache:system:settings" };

/** The cached value, or undefined on a miss, an unreadable entry or an unreachable Redis. */
async function cacheRead<T>(redis: Redis, slot: CacheSlot): Promise<T | undefined> {
  try {
    const raw = slot.field ? await redis.hget(slot.key, slot.field) : await redis.get(slot.key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  } catch {
    return undefined;
  }
}

/** After a miss: stores what Postgres said unless a save stored something meanwhile. */
async function cacheFill(redis: Redis, slot: CacheSlot, value: unknown): Promise<void> {
  try {
    const json = JSON.stringify(value);
    if (slot.field) await redis.multi().hsetnx(slot.key, slot.field, json).expire(slot.key, CACHE_TTL_SECONDS).exec();
    else await redis.set(slot.key, json, "EX", CACHE_TTL_SECONDS, "NX");
  } catch {
    // Redis away: the next read goes to Postgres again.
  }
}

async function cacheWrite(redis: Redis, slot: CacheSlot, value: unknown): Promise<boolean> {
  try {
    const json = JSON.stringify(value);
    const results = slot.field
      ? await redis.multi().hset(slot.key, slot.field, json).expire(slot.key, CACHE_TTL_SECONDS).exec()
      : await redis.multi().set(slot.key, json, "EX", CACHE_TTL_SECONDS).exec();
    return Boolean(results) && (results ?? []).every(([error]) => !error);
  } catch {
    return false;
  }
}

async function cacheDrop(redis: Redis, slot: CacheSlot): Promise<void> {
  try {
    if (slot.field) await redis.hdel(slot.key, slot.field);
    else await redis.del(slot.key);
  } catch {
    // Redis away: the copy expires on its own.
  }
}

export async function readThrough<T>(redis: Redis, slot: CacheSlot, load: () => Promise<T>): Promise<T> {
  const cached = await cacheRead<T>(redis, slot);
  if (cached !== undefined) return cached;
  const value = await load();
  await cacheFill(redis, slot, value);
  return value;
}

/**
 * Runs `save` in a transaction and writes its result to the cache before the commit, while the
 * rows (or the advisory lock) are held. If the commit fails the copy is dropped; if the cache write
 * failed the old copy is dropped, best effort (with Redis gone, the TTL ends it).
 */
export async function saveThrough<T>(
  { db, redis, log }: { db: Database; redis: Redis; log: Logger },
  slot: CacheSlot,
  save: (tx: Transaction) => Promise<T>,
): Promise<T> {
  let cached = false;
  try {
    const value = await db.transaction(async (tx) => {
      const result = await save(tx);
      cached = await cacheWrite(redis, slot, result);
      return result;
    });
    if (!cached) {
      log.warn({ cacheKey: slot.key }, "settings saved, but the cache could not be updated");
      await cacheDrop(redis, slot);
    }
    return value;
  } catch (error) {
    if (cached) await cacheDrop(redis, slot);
    throw error;
  }
}
