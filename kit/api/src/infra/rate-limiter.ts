// The one rate limiter: a sliding-window log in Redis, checked and recorded by one Lua script,
// so it is exact under any concurrency and across any number of processes.
import { isCluster, type Redis } from "./redis";

export interface RateLimitRule {
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the oldest counted call leaves the window, freeing a slot. */
  resetSeconds: number;
}

/** How a result is told to HTTP callers: the IETF draft RateLimit fields, plus Retry-After when refused. */
export function setRateLimitHeaders(headers: Headers, result: RateLimitResult): void {
  headers.set("ratelimit-limit", String(result.limit));
  headers.set("ratelimit-remaining", String(result.remaining));
  headers.set("ratelimit-reset", String(result.resetSeconds));
  if (!result.allowed) headers.set("retry-after", String(Math.max(1, result.resetSeconds)));
}

/**
 * KEYS[1] the subject's log (a sorted set of request times); KEYS[2..n] keys to read in the same
 * round trip (the session check reads its entries here, so a signed-in call costs one trip).
 * ARGV: window (ms), limit, a unique member for this request.
 * Time comes from the Redis server, so processes with skewed clocks still agree.
 * Returns { allowed (0/1), remaining, ms until the oldest entry leaves the window (a slot frees),
 * then the value of each KEYS[2..n] (nil when absent) }.
 */
const SLIDING_WINDOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
  allowed = 1
end
local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
local reply = { allowed, limit - count, reset }
for i = 2, #KEYS do reply[#reply + 1] = redis.call('GET', KEYS[i]) end
return reply
`;

type RedisWithLimiter = Redis & {
  /** `keys`: the log, then the keys to read; ARGV after them. */
  kitRateLimit(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<unknown[]>;
};

/** The client with the script as a command, defined on it once (the client keeps it). */
function withScript(redis: Redis): RedisWithLimiter {
  if (!("kitRateLimit" in redis)) {
    // defineCommand sends EVALSHA and falls back to EVAL once if the script is not cached.
    // No fixed key count: the caller passes it first (the log, plus any keys read alongside).
    redis.defineCommand("kitRateLimit", { lua: SLIDING_WINDOW });
  }
  return redis as RedisWithLimiter;
}

/**
 * A subject's log: `rl:<rule>:{user:42}`. The subject is the key's hash tag, so that the keys a
 * script touches together can share a Redis Cluster slot: a subject with a tag of its own
 * (`{email:ab12}:cd34`) keeps it, so that its logs share the slot of another subject's with the same
 * tag (`{email:ab12}`); keys read with a count carry `subjectTag(subject)` to be read atomically.
 */
export function rateLimitKey(rule: RateLimitRule, subject: string): string {
  return `rl:${rule.name}:${subject.includes("{") ? subject : `{${subject}}`}`;
}

/** The hash tag of `subject`'s logs, for keys that must share their slot: `{user:42}`. */
export function subjectTag(subject: string): string {
  return subject.includes("{") ? `{${hashTag(subject)}}` : `{${subject}}`;
}

/** What Redis Cluster hashes of `key`: the text between its first `{` and the next `}` if not empty, else all of it. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

let sequence = 0;
function uniqueMember(): string {
  sequence = (sequence + 1) % 1_000_000_000;
  return `${process.pid}:${sequence}:${Math.random().toString(36).slice(2, 8)}`;
}

function toResult(rule: RateLimitRule, raw: unknown[]): RateLimitResult {
  const [allowed, remaining, resetMs] = raw as [number, number, number];
  return {
    allowed: allowed === 1,
    limit: rule.limit,
    remaining: Math.max(0, remaining),
    resetSeconds: Math.ceil(Math.max(0, resetMs) / 1000),
  };
}

/** Counts one request against `rule` for `subject`; one round trip. Throws if Redis is unavailable. */
export async function consumeRateLimit(redis: Redis, rule: RateLimitRule, subject: string): Promise<RateLimitResult> {
  return (await consumeRateLimitAndRead(redis, rule, subject, [])).result;
}

/**
 * Counts one request and reads `keys` (GET) in the same round trip, atomically with the count. On a
 * Redis Cluster only the keys carrying the subject's tag (`subjectTag`) are read by the script; the
 * others, in other slots, by GETs sent alongside it (same round trip, not atomic with the count).
 * Throws if Redis is unavailable.
 */
export async function consumeRateLimitAndRead(
  redis: Redis,
  rule: RateLimitRule,
  subject: string,
  keys: string[],
): Promise<{ result: RateLimitResult; values: Array<string | null> }> {
  const log = rateLimitKey(rule, subject);
  const count = (read: string[]) =>
    withScript(redis).kitRateLimit(
      1 + read.length,
      log,
      ...read,
      rule.windowSeconds * 1000,
      rule.limit,
      uniqueMember(),
    );
  if (!isCluster(redis)) {
    // One server: every key in the script (the hot path of a signed-in call; nothing else to allocate).
    const raw = await count(keys);
    return { result: toResult(rule, raw), values: keys.map((_, i) => (raw[3 + i] as string | null) ?? null) };
  }
  const inScript = keys.filter((key) => hashTag(key) === hashTag(log));
  const [raw, apart] = await Promise.all([
    count(inScript),
    Promise.all(keys.map((key) => (inScript.includes(key) ? null : redis.get(key)))),
  ]);
  return {
    result: toResult(rule, raw),
    values: keys.map((key, i) => {
      const at = inScript.indexOf(key);
      return (at < 0 ? apart[i] : (raw[3 + at] as string | null)) ?? null;
    }),
  };
}

/**
 * KEYS: one log per rule. ARGV: a unique member, then window (ms) and limit for each key in turn.
 * All or nothing: the call is recorded in every log only when every one has room, so a call one
 * rule refuses spends nobody's budget. Returns { allowed (0/1), then per key: limit minus its count,
 * ms until its oldest entry leaves the window }.
 */
const ALL_WINDOWS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local allowed = 1
local counts = {}
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - tonumber(ARGV[2 * i]))
  counts[i] = redis.call('ZCARD', KEYS[i])
  if counts[i] >= tonumber(ARGV[2 * i + 1]) then allowed = 0 end
end
local reply = { allowed }
for i = 1, #KEYS do
  local window = tonumber(ARGV[2 * i])
  if allowed == 1 then
    redis.call('ZADD', KEYS[i], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], window)
    counts[i] = counts[i] + 1
  end
  local reset = 0
  local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  if oldest[2] then reset = tonumber(oldest[2]) + window - now end
  reply[#reply + 1] = tonumber(ARGV[2 * i + 1]) - counts[i]
  reply[#reply + 1] = reset
end
return reply
`;

type RedisWithAllWindows = Redis & {
  kitRateLimitAll(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
};

function withAllWindowsScript(redis: Redis): RedisWithAllWindows {
  if (!("kitRateLimitAll" in redis)) redis.defineCommand("kitRateLimitAll", { lua: ALL_WINDOWS });
  return redis as RedisWithAllWindows;
}

/**
 * Counts one request against several rules at once (one round trip), or against none: `allowed` is
 * true only when every rule had room. Each result's `allowed` says whether that rule had room, so
 * a refusal names the rule that refused. The subjects must share one tag (`subjectTag`: one Redis
 * Cluster slot), checked on any Redis so that a test on one server catches a mix. Throws if Redis
 * is unavailable.
 */
export async function consumeRateLimits(
  redis: Redis,
  limits: ReadonlyArray<{ rule: RateLimitRule; subject: string }>,
): Promise<{ allowed: boolean; results: RateLimitResult[] }> {
  const logs = limits.map(({ rule, subject }) => rateLimitKey(rule, subject));
  const tags = new Set(logs.map(hashTag));
  if (tags.size > 1) throw new Error(`rate-limit subjects of one call must share a hash tag: ${[...tags].join(", ")}`);
  const raw = await withAllWindowsScript(redis).kitRateLimitAll(
    limits.length,
    ...logs,
    uniqueMember(),
    ...limits.flatMap(({ rule }) => [rule.windowSeconds * 1000, rule.limit]),
  );
  const allowed = raw[0] === 1;
  const results = limits.map(({ rule }, i) => {
    const remaining = Number(raw[1 + 2 * i]);
    const resetMs = Number(raw[2 + 2 * i]);
    return {
      allowed: allowed || remaining > 0,
      limit: rule.limit,
      remaining: Math.max(0, remaining),
      resetSeconds: Math.ceil(Math.max(0, resetMs) / 1000),
    };
  });
  return { allowed, results };
}
