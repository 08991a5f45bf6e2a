// The rate limiter: exact against real Redis under concurrency, and exact across two real server
// processes sharing one Redis prefix (the acceptance test for per-user limits behind a balancer).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestEnvironment, createTestKit } from "../../test/kit";
import { type ServedKit, serveKit } from "../../test/serve";
import { TRUSTED_ORIGIN } from "../../test/users";
import { loadConfig } from "../config";
import { createLogger } from "./log";
import {
  consumeRateLimit,
  consumeRateLimitAndRead,
  consumeRateLimits,
  type RateLimitRule,
  rateLimitKey,
  subjectTag,
} from "./rate-limiter";
import { createRedis, deleteKeysWithPrefix, redisReady } from "./redis";

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

describe("consumeRateLimit against real Redis", () => {
  const prefix = `test:rl-unit:${unique()}:`;
  const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", REDIS_KEY_PREFIX: prefix });
  const redis = createRedis(config, createLogger(config), "rate-limiter-test");
  beforeAll(() => redisReady(redis, 3_000));
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });
  const rule = (limit: number, windowSeconds: number): RateLimitRule => ({
    name: `unit-${unique()}`,
    limit,
    windowSeconds,
  });

  test("exactly `limit` of 300 concurrent calls are allowed, each with a distinct remaining count", async () => {
    const r = rule(100, 60);
    const results = await Promise.all(Array.from({ length: 300 }, () => consumeRateLimit(redis, r, "user:a")));
    const allowed = results.filter((x) => x.allowed);
    expect(allowed.length).toBe(100);
    expect(results.filter((x) => !x.allowed).length).toBe(200);
    // Every allowed call saw its own slot: remaining is 99, 98, ..., 0 exactly once each.
    expect(allowed.map((x) => x.remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const x of results) {
      expect(x.limit).toBe(100);
      expect(x.resetSeconds).toBeGreaterThanOrEqual(0);
      expect(x.resetSeconds).toBeLessThanOrEqual(60);
    }
    for (const x of results.filter((y) => !y.allowed)) {
      expect(x.remaining).toBe(0);
      expect(x.resetSeconds).toBeGreaterThanOrEqual(1);
    }
    // Refused calls are not recorded: the log holds exactly `limit` entries.
    expect(await redis.zcard(rateLimitKey(r, "user:a"))).toBe(100);
    const ttl = await redis.pttl(rateLimitKey(r, "user:a"));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  test("remaining counts down one by one, then the call is refused", async () => {
    const r = rule(5, 30);
    const seen: Array<[boolean, number]> = [];
    for (let i = 0; i < 7; i++) {
      const x = await consumeRateLimit(redis, r, "user:b");
      seen.push([x.allowed, x.remaining]);
      expect(x.resetSeconds).toBeGreaterThanOrEqual(1);
      expect(x.resetSeconds).toBeLessThanOrEqual(30);
    }
    expect(seen).toEqual([
      [true, 4],
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
    ]);
  });

  test("once the window has passed, calls are allowed again", async () => {
    const r = rule(3, 1);
    for (let i = 0; i < 3; i++) expect((await consumeRateLimit(redis, r, "user:c")).allowed).toBe(true);
    const refused = await consumeRateLimit(redis, r, "user:c");
    expect(refused.allowed).toBe(false);
    expect(refused.resetSeconds).toBe(1);
    await Bun.sleep(1_100);
    const again = await Promise.all(Array.from({ length: 10 }, () => consumeRateLimit(redis, r, "user:c")));
    expect(again.filter((x) => x.allowed).length).toBe(3);
    // The entries expire with the window: nothing is left behind in Redis.
    await Bun.sleep(1_100);
    expect(await redis.exists(rateLimitKey(r, "user:c"))).toBe(0);
  });

  test("the window slides: a slot frees when the oldest call leaves it, not all at once", async () => {
    const r = rule(2, 2);
    expect((await consumeRateLimit(redis, r, "user:s")).allowed).toBe(true);
    await Bun.sleep(1_000);
    expect((await consumeRateLimit(redis, r, "user:s")).allowed).toBe(true);
    expect((await consumeRateLimit(redis, r, "user:s")).allowed).toBe(false);
    await Bun.sleep(1_100); // the first call has left the window, the second has not
    const [one, two] = [await consumeRateLimit(redis, r, "user:s"), await consumeRateLimit(redis, r, "user:s")];
    expect(one.allowed).toBe(true);
    expect(two.allowed).toBe(false);
  });

  test("subjects and rules are independent", async () => {
    const r = rule(10, 60);
    const other = rule(10, 60);
    const [x, y] = await Promise.all([
      Promise.all(Array.from({ length: 30 }, () => consumeRateLimit(redis, r, "user:x"))),
      Promise.all(Array.from({ length: 30 }, () => consumeRateLimit(redis, r, "user:y"))),
    ]);
    expect(x.filter((v) => v.allowed).length).toBe(10);
    expect(y.filter((v) => v.allowed).length).toBe(10);
    // Same subject, another rule: a fresh budget.
    expect((await consumeRateLimit(redis, other, "user:x")).remaining).toBe(9);
  });

  test("keys read with the count come back in order, under the client's prefix, null when absent", async () => {
    const r = rule(2, 60);
    const [present, absent] = [`rl-read:${unique()}`, `rl-read:${unique()}`];
    await redis.set(present, "value");
    const first = await consumeRateLimitAndRead(redis, r, "user:r", [present, absent]);
    expect(first.result).toMatchObject({ allowed: true, remaining: 1, limit: 2 });
    expect(first.values).toEqual(["value", null]);
    // The reads still answer when the call is refused, and each call counts once.
    await consumeRateLimitAndRead(redis, r, "user:r", [absent]);
    const refused = await consumeRateLimitAndRead(redis, r, "user:r", [absent, present]);
    expect(refused.result.allowed).toBe(false);
    expect(refused.values).toEqual([null, "value"]);
    expect(await redis.zcard(rateLimitKey(r, "user:r"))).toBe(2);
  });

  test("several rules at once: counted in all when all have room, in none when one refuses", async () => {
    const narrow = rule(2, 60);
    const wide = rule(5, 60);
    const both = [
      { rule: narrow, subject: "{acct:n}:from-a" },
      { rule: wide, subject: "{acct:n}" },
    ];
    const first = await consumeRateLimits(redis, both);
    expect(first.allowed).toBe(true);
    expect(first.results.map((x) => x.remaining)).toEqual([1, 4]);
    expect((await consumeRateLimits(redis, both)).allowed).toBe(true);
    // The narrow rule is full: refused, it says which rule refused, and the wide one spent nothing.
    const refused = await consumeRateLimits(redis, both);
    expect(refused.allowed).toBe(false);
    expect(refused.results.map((x) => x.allowed)).toEqual([false, true]);
    expect(refused.results[0]?.resetSeconds).toBeGreaterThanOrEqual(1);
    expect(await redis.zcard(rateLimitKey(wide, "{acct:n}"))).toBe(2);
    // Concurrent calls: the narrow rule's limit holds exactly, and the wide one counts the same calls.
    const other = [
      { rule: narrow, subject: "{acct:n2}:from-a" },
      { rule: wide, subject: "{acct:n2}" },
    ];
    const results = await Promise.all(Array.from({ length: 20 }, () => consumeRateLimits(redis, other)));
    expect(results.filter((x) => x.allowed).length).toBe(2);
    expect(await redis.zcard(rateLimitKey(wide, "{acct:n2}"))).toBe(2);
  });

  test("logs are hash-tagged by subject, and one call's subjects must share the tag (a Redis Cluster slot)", async () => {
    const r = rule(5, 60);
    expect(rateLimitKey(r, "user:42")).toBe(`rl:${r.name}:{user:42}`);
    expect(rateLimitKey(r, "{email:ab}:cd")).toBe(`rl:${r.name}:{email:ab}:cd`);
    expect(subjectTag("user:42")).toBe("{user:42}");
    expect(subjectTag("{email:ab}:cd")).toBe("{email:ab}");
    // On one server the mix would work; it is refused anyway, so this test catches it, not a Cluster.
    await expect(
      consumeRateLimits(redis, [
        { rule: r, subject: "user:a" },
        { rule: r, subject: "user:b" },
      ]),
    ).rejects.toThrow("must share a hash tag");
    expect(await redis.exists(rateLimitKey(r, "user:a"))).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Two real API processes, one database, one Redis prefix.

const LIMIT = 100;
const TOTAL = 1_000;

interface Answer {
  status: number;
  code?: string;
  headers: Headers;
}

async function call(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
  const text = await response.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {}
  return { status: response.status, code, headers: response.headers };
}

describe("two API processes share one limit", () => {
  let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
  const servers: ServedKit[] = [];

  beforeAll(async () => {
    environment = await createTestEnvironment({
      env: {
        RATE_LIMITS: JSON.stringify({ default: { limit: LIMIT, windowSeconds: 60 } }),
        // 1,000 calls at once on a loaded CI machine: the exact count is the subject here, not the
        // 500 ms budget (a slow Redis answer is a typed 503: infra/redis.test.ts).
        REDIS_COMMAND_TIMEOUT_MS: "5000",
        PUBLIC_URL: TRUSTED_ORIGIN,
        CORS_ORIGINS: TRUSTED_ORIGIN,
      },
    });
    servers.push(...(await Promise.all([serveKit(environment.env), serveKit(environment.env)])));
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    // The child processes' Redis entries, then the database and S3.
    await environment.cleanup();
  }, 30_000);

  test(`${TOTAL} concurrent GET /api/me for one user over two processes: exactly ${LIMIT} succeed`, async () => {
    const [a, b] = servers as [ServedKit, ServedKit];
    const credentials = { email: `limit-${unique()}@example.com`, password: "a long test password" };
    const authPost = (path: string, body: unknown) =>
      fetch(`${a.url}/api/auth${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    expect((await authPost("/sign-up/email", { ...credentials, name: "Limit" })).status).toBe(200);
    const signIn = await authPost("/sign-in/email", credentials);
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get("set-cookie")?.split(";")[0];
    expect(cookie).toBeString();

    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: TOTAL }, (_, i) => call(`${(i % 2 === 0 ? a : b).url}/api/me`, { cookie: cookie ?? "" })),
    );
    const ms = performance.now() - started;

    const ok = answers.filter((x) => x.status === 200);
    const limited = answers.filter((x) => x.status === 429);
    const statuses: Record<string, number> = {};
    for (const x of answers) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
    expect(statuses).toEqual({ "200": LIMIT, "429": TOTAL - LIMIT });
    for (const x of limited) {
      expect(x.code).toBe("TOO_MANY_REQUESTS");
      expect(Number(x.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(x.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect(x.headers.get("ratelimit-limit")).toBe(String(LIMIT));
      expect(x.headers.get("ratelimit-remaining")).toBe("0");
      expect(Number(x.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1);
    }
    for (const x of ok) {
      expect(x.headers.get("ratelimit-limit")).toBe(String(LIMIT));
      expect(x.headers.get("ratelimit-reset")).toMatch(/^\d+$/);
      expect(x.headers.get("retry-after")).toBeNull();
    }
    // Each success took its own slot, across both processes: remaining 99..0, each exactly once.
    expect(ok.map((x) => Number(x.headers.get("ratelimit-remaining"))).sort((p, q) => p - q)).toEqual(
      Array.from({ length: LIMIT }, (_, i) => i),
    );
    // Still limited afterwards, on either process.
    for (const server of servers) {
      const after = await call(`${server.url}/api/me`, { cookie: cookie ?? "" });
      expect(after.status).toBe(429);
    }
    console.warn(`[rate-limiter] ${TOTAL} calls over 2 processes in ${Math.round(ms)} ms`);
  }, 60_000);

  test("anonymous callers are limited by IP (127.0.0.1 over a real port), across both processes", async () => {
    const [a, b] = servers as [ServedKit, ServedKit];
    // X-Forwarded-For is not believed without TRUST_PROXY_HOPS: it cannot buy a fresh budget.
    const answers = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        call(`${(i % 2 === 0 ? a : b).url}/api/system/info`, { "x-forwarded-for": `203.0.113.${i % 250}` }),
      ),
    );
    expect(answers.filter((x) => x.status === 200).length).toBe(LIMIT);
    expect(answers.filter((x) => x.status === 429).length).toBe(150 - LIMIT);
    const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", REDIS_KEY_PREFIX: environment.redisKeyPrefix });
    const redis = createRedis(config, createLogger(config), "rate-limiter-inspect");
    await redisReady(redis, 3_000);
    try {
      const key = rateLimitKey({ name: "default", limit: LIMIT, windowSeconds: 60 }, "ip:127.0.0.1");
      expect(await redis.zcard(key)).toBe(LIMIT);
    } finally {
      await redis.quit();
    }
    // An anonymous call to a signed-in procedure is counted against the address too, then refused.
    const me = await call(`${a.url}/api/me`);
    expect(me.status).toBe(429);
  }, 60_000);
});

// In-process requests (the test harness) have no socket, so no address: they count as `ip:unknown`.
const inProcess = await createTestKit({
  env: { RATE_LIMITS: JSON.stringify({ default: { limit: 5, windowSeconds: 60 } }) },
});

describe("anonymous callers in-process (no socket, hence no address)", () => {
  test("share one bucket, whatever X-Forwarded-For says", async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        inProcess.request("/api/system/info", { headers: { "x-forwarded-for": `198.51.100.${i}` } }),
      ),
    );
    expect(answers.filter((r) => r.status === 200).length).toBe(5);
    expect(answers.filter((r) => r.status === 429).length).toBe(7);
    const key = rateLimitKey(inProcess.deps.rateLimitRules.default, "ip:unknown");
    expect(await inProcess.deps.redis.zcard(key)).toBe(5);
  });
});
