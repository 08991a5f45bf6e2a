// Cache-aside for rate answers in Redis: `cache:fx:{base}:{quote}` (a pair) and `cache:fx:{base}`
// (all quotes of a base). Correctness never depends on it:
// - every entry carries the generation (`cache:fx:version`) it was computed in; every write of
//   rates bumps the generation after its commit, so an entry computed from older rows (even one
//   written late by a slow reader) is ignored;
// - an entry whose answer is fresh lives no longer than that freshness, and staleness is computed
//   at read time from `expiresAt`;
// - any Redis failure reads as a miss and skips the write.
// Keys read recently are remembered in `cache:fx:hot`, so that a refresh recomputes them at once.
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";

export const CACHE_TTL_SECONDS = 300;
/** A key not read for this long is dropped from the hot set (and its entry deleted). */
const HOT_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Bound on the keys one refresh recomputes. */
const HOT_LIMIT = 5_000;

const VERSION_KEY = "cache:fx:version";
const HOT_KEY = "cache:fx:hot";

/** `EUR:USD` for a pair, `EUR` for a base. */
export type CacheMember = string;

export const cacheKey = (member: CacheMember) => `cache:fx:${member}`;

interface Envelope<T> {
  v: string;
  value: T;
}

export interface CacheRead<T> {
  value: T | null;
  /** The generation to tag a recomputed entry with (null: Redis is unavailable, do not write). */
  version: string | null;
}

export async function readEntry<T>(redis: Redis, log: Logger, member: CacheMember): Promise<CacheRead<T>> {
  try {
    const [raw, version] = await redis.mget(cacheKey(member), VERSION_KEY);
    const current = version ?? "0";
    if (raw) {
      const envelope = JSON.parse(raw) as Envelope<T>;
      if (envelope.v === current) return { value: envelope.value, version: current };
    }
    return { value: null, version: current };
  } catch (err) {
    log.warn({ err, member }, "fx cache read failed; answering from Postgres");
    return { value: null, version: null };
  }
}

/** Milliseconds an entry may live: never past the moment its answer turns stale. */
export function entryTtl(freshUntil: number | null, now: number): number {
  const longest = CACHE_TTL_SECONDS * 1000;
  if (freshUntil === null || freshUntil <= now) return longest;
  return Math.max(1, Math.min(longest, freshUntil - now));
}

export async function writeEntry<T>(
  redis: Redis,
  log: Logger,
  member: CacheMember,
  version: string | null,
  value: T,
  ttlMs: number,
): Promise<void> {
  if (version === null) return;
  try {
    await redis
      .multi()
      .set(cacheKey(member), JSON.stringify({ v: version, value } satisfies Envelope<T>), "PX", ttlMs)
      .zadd(HOT_KEY, Date.now(), member)
      .exec();
  } catch (err) {
    log.warn({ err, member }, "fx cache write failed");
  }
}

/**
 * After rates changed in Postgres: starts a new generation, then recomputes every hot key with
 * `compute` (null: the key has no answer any more). Keys nobody read for a day are forgotten.
 */
export async function rewriteHotEntries<T>(
  redis: Redis,
  log: Logger,
  compute: (members: CacheMember[]) => Promise<Map<CacheMember, { value: T; ttlMs: number } | null>>,
): Promise<number> {
  try {
    const cutoff = Date.now() - HOT_RETENTION_MS;
    const [[, versionResult] = [], [, forgottenResult] = []] =
      (await redis.multi().incr(VERSION_KEY).zrangebyscore(HOT_KEY, "-inf", cutoff).exec()) ?? [];
    const version = String(versionResult);
    const forgotten = (forgottenResult as string[] | undefined) ?? [];
    if (forgotten.length > 0) {
      await redis
        .multi()
        .del(...forgotten.map(cacheKey))
        .zremrangebyscore(HOT_KEY, "-inf", cutoff)
        .exec();
    }
    const members = await redis.zrevrange(HOT_KEY, 0, HOT_LIMIT - 1);
    if (members.length === 0) return 0;
    const entries = await compute(members);
    const pipeline = redis.multi();
    for (const member of members) {
      const entry = entries.get(member);
      if (entry) {
        pipeline.set(
          cacheKey(member),
          JSON.stringify({ v: version, value: entry.value } satisfies Envelope<T>),
          "PX",
          entry.ttlMs,
        );
      } else pipeline.del(cacheKey(member));
    }
    await pipeline.exec();
    return members.length;
  } catch (err) {
    // The generation may not have moved: drop what could be outdated rather than serve it.
    log.warn({ err }, "fx cache refresh failed; dropping hot entries");
    await redis
      .zrange(HOT_KEY, "0", "-1")
      .then((members) => (members.length > 0 ? redis.del(...members.map(cacheKey)) : 0))
      .catch(() => {});
    return 0;
  }
}

/** Makes every cached entry outdated at once (their generation is no longer the current one). */
export async function startNewGeneration(redis: Redis): Promise<void> {
  await redis.incr(VERSION_KEY);
}
