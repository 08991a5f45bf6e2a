// Kit on a real Redis Cluster (3 masters, 3 replicas; test/redis-cluster.ts): two API processes and an
// in-process Kit share it. Sign-up, sign-in and sessions; the rate limit exact across both processes;
// the fx and settings caches; an SSE stream on one process receiving what another publishes; a BullMQ
// job round trip. Then masters fail over under load (a manual CLUSTER FAILOVER, then a killed
// master): every call answers or fails with a typed 503, and afterwards sessions, counts, streams
// and jobs are right. Skipped, saying why, where redis-server is absent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { loadConfig, type ResolvedConfig, requireResolved } from "../src/config";
import type { Deps, JobDefinition } from "../src/deps";
import { refreshRates } from "../src/domains/exchange-rates/refresh";
import { dispatchNotifications } from "../src/domains/notifications/dispatch";
import { inAppFanOut } from "../src/domains/notifications/inbox";
import { recordNotification } from "../src/domains/notifications/record";
import { createLogger } from "../src/infra/log";
import { rateLimitKey } from "../src/infra/rate-limiter";
import { RedisSkippedError, redisReady } from "../src/infra/redis";
import { createJobQueue } from "../src/jobs/queue";
import { startWorker } from "../src/jobs/worker";
import { closeDeps, createDeps } from "../src/runtime";
import { eventually } from "./eventually";
import { startProviderStub } from "./fx-providers";
import { createTestEnvironment } from "./kit";
import { type LocalRedisCluster, redisBinariesMissing, startRedisCluster } from "./redis-cluster";
import { type ServedKit, serveKit } from "./serve";
import { readServerSentEvents } from "./sse";
import { TRUSTED_ORIGIN } from "./users";

const LIMIT = 40;
const missing = redisBinariesMissing();
if (missing) console.warn(`[redis-cluster] skipped: ${missing}`);

// At the top: it stops itself after the file (an afterAll registered in a beforeAll would run too soon).
const stub = await startProviderStub();

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

interface Answer {
  status: number;
  code?: string;
  body: unknown;
  headers: Headers;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  const code = (body as { code?: string } | null)?.code;
  return { status: response.status, code, body, headers: response.headers };
}

/** A user signed up and signed in over HTTP on `server`: their session cookie. */
async function signUp(server: ServedKit, name: string): Promise<{ email: string; cookie: string }> {
  const email = `${name}-${unique()}@example.com`;
  const post = (path: string, body: unknown) =>
    call(`${server.url}/api/auth${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
      body: JSON.stringify(body),
    });
  const credentials = { email, password: "a long test password" };
  expect((await post("/sign-up/email", { ...credentials, name })).status).toBe(200);
  const response = await fetch(`${server.url}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
    body: JSON.stringify(credentials),
  });
  expect(response.status).toBe(200);
  const cookie = response.headers.get("set-cookie")?.split(";")[0] ?? "";
  expect(cookie).toContain("=");
  return { email, cookie };
}

/** `total` concurrent GET /api/me, alternating between the processes. */
async function burst(servers: ServedKit[], cookie: string, total: number): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: total }, (_, i) =>
      call(`${servers[i % servers.length]?.url}/api/me`, { headers: { cookie } }),
    ),
  );
}

/** Answers a client may see while a master fails over: a result, a refusal by the limit, or a typed 503. */
function acceptable(answer: Answer): boolean {
  return (
    answer.status === 200 || answer.status === 429 || (answer.status === 503 && answer.code === "SERVICE_UNAVAILABLE")
  );
}

describe.skipIf(missing !== null)("Kit on a Redis Cluster (3 masters, 3 replicas)", () => {
  let cluster: LocalRedisCluster;
  let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
  let servers: ServedKit[] = [];
  let config: ResolvedConfig;
  /** A third Kit, in this process: publishes, runs jobs, reads Redis directly. */
  let deps: Deps;
  let alice: { email: string; cookie: string };
  const ran: string[] = [];
  const probe: JobDefinition<string> = {
    name: "test.cluster-probe",
    attempts: 3,
    backoffMs: 200,
    run: async (_, data) => {
      ran.push(String(data.mark));
      return { mark: data.mark };
    },
  };
  let queue: ReturnType<typeof createJobQueue>;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    const started = performance.now();
    cluster = await startRedisCluster();
    environment = await createTestEnvironment({
      env: {
        ...stub.env,
        REDIS_CLUSTER_NODES: cluster.seeds,
        RATE_LIMITS: JSON.stringify({ default: { limit: LIMIT, windowSeconds: 60 } }),
        PUBLIC_URL: TRUSTED_ORIGIN,
        CORS_ORIGINS: TRUSTED_ORIGIN,
      },
    });
    servers = await Promise.all([serveKit(environment.env), serveKit(environment.env)]);
    config = requireResolved(loadConfig(environment.env));
    deps = createDeps(config, createLogger(config));
    expect(await redisReady(deps.redis, 5_000)).toBe(true);
    queue = createJobQueue(config, deps.log, [probe]);
    worker = await startWorker(deps, [probe]);
    console.warn(`[redis-cluster] cluster and three Kits up in ${Math.round(performance.now() - started)} ms`);
  }, 90_000);

  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    if (deps) await closeDeps(deps);
    await Promise.allSettled(servers.map((s) => s.stop()));
    await environment?.cleanup();
    await cluster?.remove();
  }, 30_000);

  test("sign-up, sign-in, and the session on both processes (its entry in the Cluster)", async () => {
    const [a, b] = servers as [ServedKit, ServedKit];
    alice = await signUp(a, "alice");
    for (const server of [a, b]) {
      const me = await call(`${server.url}/api/me`, { headers: { cookie: alice.cookie } });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ user: { email: alice.email } });
    }
    // The session entry better-auth keeps in Redis is there (on whichever master holds its slot).
    const token = decodeURIComponent(alice.cookie.split("=")[1] ?? "").split(".")[0] ?? "";
    expect(await deps.redis.exists(`auth:${token}`)).toBe(1);
  });

  test("a refused sign-in is counted for the hourly summary (one window's keys in one slot)", async () => {
    const [a] = servers as [ServedKit];
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString();
    const before = Number((await deps.redis.hget(`auth-failures:{${hour}}:counts`, "failed")) ?? 0);
    const refused = await call(`${a.url}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
      body: JSON.stringify({ email: alice.email, password: "not the password at all" }),
    });
    expect(refused.status).toBe(401);
    // Counted with one MULTI over the window's keys: a CROSSSLOT there would leave the count as it was.
    expect(Number(await deps.redis.hget(`auth-failures:{${hour}}:counts`, "failed"))).toBe(before + 1);
  });

  test(`the rate limit is exact across two processes: ${LIMIT} of 100 concurrent calls pass`, async () => {
    const bob = await signUp(servers[0] as ServedKit, "bob");
    const answers = await burst(servers, bob.cookie, 100);
    const statuses: Record<string, number> = {};
    for (const x of answers) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
    expect(statuses).toEqual({ "200": LIMIT, "429": 100 - LIMIT });
    const remaining = answers.filter((x) => x.status === 200).map((x) => Number(x.headers.get("ratelimit-remaining")));
    expect(remaining.sort((p, q) => p - q)).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
  });

  test("the fx cache and the settings cache answer alike on both processes", async () => {
    await refreshRates(deps);
    const [a, b] = servers as [ServedKit, ServedKit];
    const headers = { cookie: alice.cookie };
    for (const server of [a, b, a]) {
      const converted = await call(`${server.url}/api/fx/convert?from=EUR&to=USD&amount=10`, { headers });
      expect(converted.status).toBe(200);
      expect(converted.body).toMatchObject({ result: "10.84" });
    }
    // The answer and its generation share the `{fx}` slot (one MGET reads both).
    expect(await deps.redis.exists("cache:{fx}:EUR:USD")).toBe(1);
    expect(Number(await deps.redis.get("cache:{fx}:version"))).toBeGreaterThan(0);

    const saved = await call(`${a.url}/api/settings`, {
      method: "PATCH",
      headers: { ...headers, "content-type": "application/json", origin: TRUSTED_ORIGIN },
      body: JSON.stringify({ theme: "dark" }),
    });
    expect(saved.status).toBe(200);
    const read = await call(`${b.url}/api/settings`, { headers });
    expect(read.body).toMatchObject({ theme: "dark" });
  });

  test("an SSE stream served by one process receives what another Kit publishes", async () => {
    const b = servers[1] as ServedKit;
    const me = (await call(`${b.url}/api/me`, { headers: { cookie: alice.cookie } })).body as { user: { id: string } };
    const response = await fetch(`${b.url}/api/notifications/events`, { headers: { cookie: alice.cookie } });
    expect(response.status).toBe(200);
    const events = readServerSentEvents(response.body as ReadableStream<Uint8Array>);
    try {
      expect(await events.message()).toEqual({ unread: 0 });
      await notify(me.user.id, "before-failover");
      expect(await events.message()).toMatchObject({ unread: 1, notification: { type: "kyc.submitted" } });
    } finally {
      await events.close();
    }
  });

  test("a BullMQ job round trip (hash-tagged queue prefix)", async () => {
    await queue.enqueue("test.cluster-probe" as never, { mark: "first" });
    await eventually("the job ran", async () => ran.includes("first"), 10_000);
  });

  test("a silent master costs one command timeout, then the breaker skips the Cluster until it answers", async () => {
    const key = `breaker:${unique()}`;
    await deps.redis.set(key, "1");
    const master = cluster.masterOf(`${config.redis.keyPrefix}${key}`);
    cluster.pause(master);
    try {
      let started = performance.now();
      await expect(deps.redis.get(key)).rejects.toThrow("Command timed out");
      const timedOut = performance.now() - started;
      expect(timedOut).toBeGreaterThanOrEqual(config.redis.commandTimeoutMs - 50);
      // Open: any command, whichever master it is for, fails at once (the callers' fallbacks apply).
      started = performance.now();
      await expect(deps.redis.get(`other:${unique()}`)).rejects.toBeInstanceOf(RedisSkippedError);
      expect(performance.now() - started).toBeLessThan(100);
    } finally {
      // Well within cluster-node-timeout (1 s): the cluster does not fail this master over.
      cluster.resume(master);
    }
    // The probe (every master answering) closes it.
    await eventually("the breaker closed", async () => (await deps.redis.get(key).catch(() => null)) === "1", 5_000);
  });

  test("masters fail over under load: every call answers or is a typed 503, and nothing stays wrong", async () => {
    const [a, b] = servers as [ServedKit, ServedKit];
    const me = (await call(`${a.url}/api/me`, { headers: { cookie: alice.cookie } })).body as { user: { id: string } };
    const aliceLog = rateLimitKey({ name: "default", limit: LIMIT, windowSeconds: 60 }, `user:${me.user.id}`);
    const seen: Answer[] = [];
    let loading = true;
    // A steady trickle of signed-in calls on both processes while masters change.
    const load = (async () => {
      while (loading) {
        seen.push(...(await burst(servers, alice.cookie, 4)));
        await Bun.sleep(100);
      }
    })();

    // 1. A manual failover of the master holding Alice's count (and her revocation mark): no write is lost.
    const countMaster = cluster.masterOf(`${config.redis.keyPrefix}${aliceLog}`);
    await Bun.sleep(300);
    const promoted = await cluster.failover(countMaster);
    expect(cluster.masters()).toContain(promoted);
    await Bun.sleep(500);

    // 2. The master holding the fx cache's slot is killed: its replica takes over after ~2 s.
    const fxMaster = cluster.masterOf(`${config.redis.keyPrefix}cache:{fx}:version`);
    const replacement = await cluster.kill(fxMaster);
    expect(cluster.masters()).toContain(replacement);
    await Bun.sleep(1_500);
    loading = false;
    await load;

    const wrong = seen.filter((x) => !acceptable(x)).map((x) => `${x.status} ${x.code ?? ""}`);
    expect(wrong).toEqual([]);
    expect(seen.length).toBeGreaterThan(10);
    const counts: Record<string, number> = {};
    for (const x of seen) counts[x.status] = (counts[x.status] ?? 0) + 1;
    console.warn(`[redis-cluster] during the failovers: ${JSON.stringify(counts)}`);

    // Afterwards: sessions valid on both processes, counts sane, caches, streams and jobs working.
    await eventually(
      "calls answered again on both processes",
      async () =>
        (await Promise.all([a, b].map((s) => call(`${s.url}/api/me`, { headers: { cookie: alice.cookie } })))).every(
          (x) => x.status === 200 || x.status === 429,
        ),
      10_000,
    );
    expect(await deps.redis.zcard(aliceLog)).toBeLessThanOrEqual(LIMIT);

    const carol = await signUp(a, "carol");
    const answers = await burst(servers, carol.cookie, 60);
    expect(answers.filter((x) => x.status === 200).length).toBe(LIMIT);
    expect(answers.filter((x) => x.status === 429).length).toBe(60 - LIMIT);

    const dave = await signUp(b, "dave");
    const converted = await call(`${a.url}/api/fx/convert?from=EUR&to=USD&amount=10`, {
      headers: { cookie: dave.cookie },
    });
    expect(converted.status).toBe(200);
    expect(converted.body).toMatchObject({ result: "10.84" });

    const daveId = (
      (await call(`${b.url}/api/me`, { headers: { cookie: dave.cookie } })).body as { user: { id: string } }
    ).user.id;
    const response = await fetch(`${b.url}/api/notifications/events`, { headers: { cookie: dave.cookie } });
    expect(response.status).toBe(200);
    const events = readServerSentEvents(response.body as ReadableStream<Uint8Array>);
    try {
      expect(await events.message()).toEqual({ unread: 0 });
      await notify(daveId, "after-failover");
      expect(await events.message()).toMatchObject({ unread: 1 });
    } finally {
      await events.close();
    }

    // 3. The node carrying a process's subscriber connection dies: that process's streams end (what
    // was published meanwhile cannot reach them; clients reconnect), and its next stream subscribes
    // on a node that is up. A master that lost its replica above cannot be killed without losing
    // its slots for good: then only the subscriber's connection is cut (the same loss to the client).
    const open = await fetch(`${b.url}/api/notifications/events`, { headers: { cookie: dave.cookie } });
    const stream = readServerSentEvents(open.body as ReadableStream<Uint8Array>);
    try {
      expect(await stream.message()).toEqual({ unread: 1 });
      const [subscriberNode] = cluster.nodesWithClient("kit-notification-events");
      if (subscriberNode === undefined) throw new Error("no node carries the stream's subscriber");
      const isMaster = cluster.masters().includes(subscriberNode);
      if (!isMaster) await cluster.stop(subscriberNode);
      else if (cluster.hasReplica(subscriberNode)) await cluster.kill(subscriberNode);
      else cluster.killClient(subscriberNode, "kit-notification-events");
      expect(await stream.next(10_000)).toBe("end");
    } finally {
      await stream.close();
    }
    await eventually(
      "a new stream on a live node",
      async () => {
        const again = await fetch(`${b.url}/api/notifications/events`, { headers: { cookie: dave.cookie } });
        if (again.status !== 200) return false;
        const reopened = readServerSentEvents(again.body as ReadableStream<Uint8Array>);
        try {
          expect(await reopened.message()).toEqual({ unread: 1 });
          await notify(daveId, "after-subscriber-node");
          expect(await reopened.message()).toMatchObject({ unread: 2 });
          return true;
        } finally {
          await reopened.close();
        }
      },
      10_000,
    );

    await queue.enqueue("test.cluster-probe" as never, { mark: "after" });
    await eventually("a job after the failovers", async () => ran.includes("after"), 15_000);
  }, 60_000);

  /** A kyc.submitted notification for `userId`, recorded and dispatched by the in-process Kit (it publishes). */
  async function notify(userId: string, applicationId: string): Promise<void> {
    await deps.db.transaction((tx) => recordNotification(tx, "kyc.submitted", { subject: userId }, { applicationId }));
    await dispatchNotifications(deps, { in_app: inAppFanOut });
  }
});
