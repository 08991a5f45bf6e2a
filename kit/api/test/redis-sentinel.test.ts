// Kit on Redis under Sentinel (test/redis-cluster.ts: a primary, a replica, three sentinels): an API
// process and an in-process Kit find the primary through REDIS_SENTINELS. Sessions, the rate limit,
// pub/sub and a job work; a SENTINEL FAILOVER under load leaves every call answered or a typed 503,
// and afterwards the new primary serves sessions, exact counts, streams and jobs. Skipped, saying
// why, where redis-server is absent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig, type ResolvedConfig, requireResolved } from "../src/config";
import type { Deps, JobDefinition } from "../src/deps";
import { dispatchNotifications } from "../src/domains/notifications/dispatch";
import { inAppFanOut } from "../src/domains/notifications/inbox";
import { recordNotification } from "../src/domains/notifications/record";
import { createLogger } from "../src/infra/log";
import { redisReady } from "../src/infra/redis";
import { createJobQueue } from "../src/jobs/queue";
import { startWorker } from "../src/jobs/worker";
import { closeDeps, createDeps } from "../src/runtime";
import { eventually } from "./eventually";
import { createTestEnvironment } from "./kit";
import { type LocalSentinels, redisBinariesMissing, startRedisSentinels } from "./redis-cluster";
import { type ServedKit, serveKit } from "./serve";
import { readServerSentEvents } from "./sse";
import { TRUSTED_ORIGIN } from "./users";

const LIMIT = 20;
const missing = redisBinariesMissing();
if (missing) console.warn(`[redis-sentinel] skipped: ${missing}`);

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; code?: string; body: unknown }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, code: (body as { code?: string } | null)?.code, body };
}

async function signUp(server: ServedKit, name: string): Promise<{ id: string; cookie: string }> {
  const credentials = { email: `${name}-${unique()}@example.com`, password: "a long test password" };
  const post = (path: string, body: unknown) =>
    fetch(`${server.url}/api/auth${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
      body: JSON.stringify(body),
    });
  expect((await post("/sign-up/email", { ...credentials, name })).status).toBe(200);
  const signedIn = await post("/sign-in/email", credentials);
  expect(signedIn.status).toBe(200);
  const cookie = signedIn.headers.get("set-cookie")?.split(";")[0] ?? "";
  const me = (await call(`${server.url}/api/me`, { headers: { cookie } })).body as { user: { id: string } };
  return { id: me.user.id, cookie };
}

describe.skipIf(missing !== null)("Kit on Redis under Sentinel (a primary, a replica, three sentinels)", () => {
  let sentinels: LocalSentinels;
  let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
  let server: ServedKit;
  let config: ResolvedConfig;
  let deps: Deps;
  const ran: string[] = [];
  const probe: JobDefinition<string> = {
    name: "test.sentinel-probe",
    attempts: 3,
    backoffMs: 200,
    run: async (_, data) => {
      ran.push(String(data.mark));
      return {};
    },
  };
  let queue: ReturnType<typeof createJobQueue>;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    sentinels = await startRedisSentinels();
    environment = await createTestEnvironment({
      env: {
        REDIS_SENTINELS: sentinels.sentinels,
        REDIS_SENTINEL_NAME: sentinels.name,
        RATE_LIMITS: JSON.stringify({ default: { limit: LIMIT, windowSeconds: 60 } }),
        PUBLIC_URL: TRUSTED_ORIGIN,
        CORS_ORIGINS: TRUSTED_ORIGIN,
      },
    });
    server = await serveKit(environment.env);
    config = requireResolved(loadConfig(environment.env));
    deps = createDeps(config, createLogger(config));
    expect(await redisReady(deps.redis, 5_000)).toBe(true);
    queue = createJobQueue(config, deps.log, [probe]);
    worker = await startWorker(deps, [probe]);
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    if (deps) await closeDeps(deps);
    await server?.stop();
    await environment?.cleanup();
    await sentinels?.remove();
  }, 30_000);

  /** `total` concurrent GET /api/me: the HTTP statuses, counted. */
  async function burst(cookie: string, total: number) {
    const answers = await Promise.all(
      Array.from({ length: total }, () => call(`${server.url}/api/me`, { headers: { cookie } })),
    );
    return answers;
  }

  /** A notification for `userId`, recorded and dispatched in this process (it publishes); the served process's stream must see it. */
  async function expectPublished(userId: string, cookie: string): Promise<void> {
    const response = await fetch(`${server.url}/api/notifications/events`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const events = readServerSentEvents(response.body as ReadableStream<Uint8Array>);
    try {
      expect(await events.message()).toMatchObject({ unread: expect.any(Number) });
      await deps.db.transaction((tx) =>
        recordNotification(tx, "kyc.submitted", { subject: userId }, { applicationId: unique() }),
      );
      await dispatchNotifications(deps, { in_app: inAppFanOut });
      expect(await events.message()).toMatchObject({ notification: { type: "kyc.submitted" } });
    } finally {
      await events.close();
    }
  }

  test("sessions, the exact limit, pub/sub and a job, through the primary the sentinels name", async () => {
    const alice = await signUp(server, "alice");
    const answers = await burst(alice.cookie, 30);
    // Sign-in's own /api/me was the first call of her budget.
    expect(answers.filter((x) => x.status === 200).length).toBe(LIMIT - 1);
    expect(answers.filter((x) => x.status === 429).length).toBe(30 - (LIMIT - 1));
    const bob = await signUp(server, "bob");
    await expectPublished(bob.id, bob.cookie);
    await queue.enqueue("test.sentinel-probe" as never, { mark: "first" });
    await eventually("the job ran", async () => ran.includes("first"), 10_000);
  });

  test("a SENTINEL FAILOVER under load: calls answer or are a typed 503; then the new primary serves everything", async () => {
    const carol = await signUp(server, "carol");
    const seen: Array<{ status: number; code?: string }> = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        seen.push(...(await burst(carol.cookie, 2)));
        await Bun.sleep(100);
      }
    })();
    const before = sentinels.primary();
    const after = await sentinels.failover();
    expect(after).not.toBe(before);
    await Bun.sleep(1_000);
    loading = false;
    await load;
    const wrong = seen.filter(
      (x) => !(x.status === 200 || x.status === 429 || (x.status === 503 && x.code === "SERVICE_UNAVAILABLE")),
    );
    expect(wrong).toEqual([]);
    expect(seen.length).toBeGreaterThan(4);

    // The clients write to the new primary (a write to the old one, now a replica, would be refused).
    await eventually("writes reach the new primary", async () => {
      await deps.redis.set(`sentinel:${unique()}`, "1").catch(() => null);
      return (
        Number(sentinels.cli(after, "dbsize")) > 0 &&
        sentinels.cli(after, "info", "replication").includes("role:master")
      );
    });
    await eventually(
      "the session still valid",
      async () => (await call(`${server.url}/api/me`, { headers: { cookie: carol.cookie } })).status !== 503,
      10_000,
    );
    const dave = await signUp(server, "dave");
    const answers = await burst(dave.cookie, 30);
    expect(answers.filter((x) => x.status === 200).length).toBe(LIMIT - 1);
    expect(answers.filter((x) => x.status === 429).length).toBe(30 - (LIMIT - 1));
    const erin = await signUp(server, "erin");
    await expectPublished(erin.id, erin.cookie);
    await queue.enqueue("test.sentinel-probe" as never, { mark: "after" });
    await eventually("a job after the failover", async () => ran.includes("after"), 15_000);
  }, 60_000);
});
