// Cache-aside for rate answers in Redis: `cache:{fx}:EUR:USD` (a pair) and `cache:{fx}:EUR` (all
// quotes of a base). Every key of this cache carries the hash tag `{fx}`: a read fetches an entry
// with the generation (MGET) and a refresh rewrites entries with it (MULTI), which on a Redis
// Cluster works only within one slot. Correctness never depends on it:
// - every entry carries the generation (`cache:{fx}:version`) it was computed in; every write of
//   rates bumps the generation after its commit, so an entry computed from older rows (even one
//   written late by a slow reader) is ignored;
// - an entry whose answer is fresh lives no longer than that freshness, and staleness is computed
//   at read time from `expiresAt`;
// - any Redis failure reads as a miss and skips the write.
// Keys read recently are remembered in `cache:{fx}:hot`, so that a refresh recomputes them at once.
//
// In front of Redis, each process keeps copies of the entries it read (conversions then cost no
// Redis trip at all). A copy is used only while the process is subscribed to the generation
// channel, on which every new generation is announced once it is current: an announcement drops
// every copy, and so does a lost subscription (until it is back, reads go to Redis). A copy can thus
// outlive a change of rates only by the time the announcement takes to arrive.
import { BoundedMap } from "../../infra/bounded-map";
import { InvalidationChannel } from "../../infra/invalidation-channel";
import type { Logger } from "../../infra/log";
import type { Redis, SubscriberConnection } from "../../infra/redis";

const CACHE_TTL_SECONDS = 300;
/** A key not read for this long is dropped from the hot set (and its entry deleted). */
const HOT_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Bound on the keys one refresh recomputes. */
const HOT_LIMIT = 5_000;

const VERSION_KEY = "cache:{fx}:version";
const HOT_KEY = "cache:{fx}:hot";
/** Announces each new generation (a plain channel, under REDIS_KEY_PREFIX). */
const GENERATION_CHANNEL = "cache:fx:generation";
/** A process's copy lives at most this long, however long its entry does. */
const COPY_MAX_AGE_MS = 60_000;
/** Bound on the copies one process keeps (the oldest go first). */
const COPY_LIMIT = 10_000;

/** `EUR:USD` for a pair, `EUR` for a base. */
export type CacheMember = string;

/** The process's clients and its copies (deps.local.fxCopies). */
export interface FxCacheDeps {
  redis: Redis;
  log: Logger;
  local: { fxCopies: RateCopies };
}

const cacheKey = (member: CacheMember) => `cache:{fx}:${member}`;

interface Envelope<T> {
  v: string;
  value: T;
  /** When the entry expires in Redis (epoch ms): its copies expire then too. */
  until?: number;
}

export interface CacheRead<T> {
  value: T | null;
  /** The generation to tag a recomputed entry with (null: Redis is unavailable, do not write). */
  version: string | null;
}

export async function readEntry<T>({ redis, log, local }: FxCacheDeps, member: CacheMember): Promise<CacheRead<T>> {
  const copies = local.fxCopies;
  const copy = copies.get(member);
  if (copy) return { value: copy.value as T, version: copy.v };
  const round = copies.round();
  try {
    const [raw, version] = await redis.mget(cacheKey(member), VERSION_KEY);
    const current = version ?? "0";
    copies.learnGeneration(current, round);
    if (raw) {
      const envelope = JSON.parse(raw) as Envelope<T>;
      if (envelope.v === current) {
        copies.keep(member, envelope);
        return { value: envelope.value, version: current };
      }
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
  { redis, log }: Pick<FxCacheDeps, "redis" | "log">,
  member: CacheMember,
  version: string | null,
  value: T,
  ttlMs: number,
): Promise<void> {
  if (version === null) return;
  try {
    await redis
      .multi()
      .set(cacheKey(member), envelope(version, value, ttlMs), "PX", ttlMs)
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
  deps: FxCacheDeps,
  compute: (members: CacheMember[]) => Promise<Map<CacheMember, { value: T; ttlMs: number } | null>>,
): Promise<number> {
  const { redis, log } = deps;
  try {
    const cutoff = Date.now() - HOT_RETENTION_MS;
    const [[, versionResult] = [], [, forgottenResult] = []] =
      (await redis.multi().incr(VERSION_KEY).zrangebyscore(HOT_KEY, "-inf", cutoff).exec()) ?? [];
    const version = String(versionResult);
    await announceGeneration(deps);
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
        pipeline.set(cacheKey(member), envelope(version, entry.value, entry.ttlMs), "PX", entry.ttlMs);
      } else pipeline.del(cacheKey(member));
    }
    await pipeline.exec();
    return members.length;
  } catch (err) {
    // The generation may not have moved: drop what could be outdated rather than serve it.
    log.warn({ err }, "fx cache refresh failed; dropping hot entries");
    await announceGeneration(deps);
    await redis
      .zrange(HOT_KEY, "0", "-1")
      .then((members) => (members.length > 0 ? redis.del(...members.map(cacheKey)) : 0))
      .catch(() => {});
    return 0;
  }
}

/** Makes every cached entry outdated at once (their generation is no longer the current one). */
export async function startNewGeneration(deps: FxCacheDeps): Promise<void> {
  await deps.redis.incr(VERSION_KEY);
  await announceGeneration(deps);
}

function envelope<T>(version: string, value: T, ttlMs: number): string {
  return JSON.stringify({ v: version, value, until: Date.now() + ttlMs } satisfies Envelope<T>);
}

/** Best effort: a process that misses the announcement has lost its subscription, which drops its copies too. */
async function announceGeneration({ local }: FxCacheDeps): Promise<void> {
  await local.fxCopies.announce();
}

// ---------------------------------------------------------------------------------------------
// Copies in this process

interface Copy {
  v: string;
  value: unknown;
  until: number;
}

/** One process's copies (deps.local.fxCopies, made by createDeps), and its subscription to the generations. */
export class RateCopies {
  private readonly copies = new BoundedMap<CacheMember, Copy>(COPY_LIMIT);
  private readonly generations: InvalidationChannel;
  /** The generation current in Redis, as last read after the last announcement; null: not known. */
  private generation: string | null = null;
  /** Counts announcements and subscription changes: a read learns the generation only if none came in between. */
  private rounds = 0;

  constructor(redis: Redis, log: Logger) {
    this.generations = new InvalidationChannel(redis, log, {
      name: "fx-cache",
      channel: GENERATION_CHANNEL,
      onAnnouncement: () => this.forget(),
      onReset: () => this.forget(),
    });
  }

  get(member: CacheMember): Copy | undefined {
    if (!this.generations.listening()) return undefined;
    const copy = this.copies.get(member);
    if (!copy || copy.v !== this.generation) return undefined;
    if (copy.until <= Date.now()) {
      this.copies.delete(member);
      return undefined;
    }
    return copy;
  }

  round(): number {
    return this.rounds;
  }

  learnGeneration(version: string, round: number): void {
    if (this.generations.listening() && round === this.rounds) this.generation = version;
  }

  keep(member: CacheMember, entry: Envelope<unknown>): void {
    if (!this.generations.listening()) return;
    const until = Math.min(entry.until ?? Number.POSITIVE_INFINITY, Date.now() + COPY_MAX_AGE_MS);
    this.copies.set(member, { v: entry.v, value: entry.value, until });
  }

  /**
   * Tells every process to drop its copies: this one at once (it reads its own changes), the others
   * when the announcement arrives.
   */
  async announce(): Promise<void> {
    this.forget();
    // The message says nothing but that it happened.
    await this.generations.announce({});
  }

  /** Drops the copies and closes the subscription (when closing the process's clients). */
  async close(): Promise<void> {
    this.forget();
    await this.generations.close();
  }

  /** Whether this process may use its copies, how many it holds, and its subscriber connection. */
  status(): RateCopiesStatus {
    return {
      subscribed: this.generations.listening(),
      copies: this.copies.size,
      subscriber: this.generations.subscriber(),
    };
  }

  /** Drops the copies (the next reads go to Redis and learn the generation again). */
  forget(): void {
    this.rounds += 1;
    this.generation = null;
    this.copies.clear();
  }
}

interface RateCopiesStatus {
  subscribed: boolean;
  copies: number;
  subscriber?: SubscriberConnection;
}
