// The worker against real Redis and Postgres: schedules, retries, two workers on one queue, a
// producer without a worker, graceful stop. Jobs are defined here, so the tests do not depend on
// what the registry's jobs do.
import { afterAll, describe, expect, test } from "bun:test";
import type { Counter } from "prom-client";
import { eventually } from "../../test/eventually";
import { createTestKit } from "../../test/kit";
import { startPrivateRedis } from "../../test/redis-server";
import { serveKit } from "../../test/serve";
import { createOperationalApp } from "../app";
import type { ResolvedConfig } from "../config";
import type { Deps, JobDefinition } from "../deps";
import { CLOSED_PORT } from "../dev/ports";
import { createLogger } from "../infra/log";
import { closeDeps, createDeps } from "../runtime";
import type { JobName } from "./names";
import { createJobQueue } from "./queue";
import { startWorker } from "./worker";

const kit = await createTestKit();
const logLines: Record<string, unknown>[] = [];
// Flushed and restarted by the tests of lost schedules; the shared Redis is never touched that way.
const privateRedis = await startPrivateRedis();
afterAll(() => privateRedis.remove());

/** Its own queue and keys (under the file's prefix, so the harness sweeps them). */
function isolatedConfig(name: string): ResolvedConfig {
  return { ...kit.config, redis: { ...kit.config.redis, keyPrefix: `${kit.config.redis.keyPrefix}${name}:` } };
}

/** A process's clients, logging to `logLines`. */
function processDeps(config: ResolvedConfig): Deps {
  const log = createLogger(
    { log: { level: "info", pretty: false } },
    {},
    {
      write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>),
    },
  );
  return createDeps(config, log);
}

async function counted(counter: Counter<"job">, job: string): Promise<number> {
  return (await counter.get()).values.find((v) => v.labels.job === job)?.value ?? 0;
}

describe("worker", () => {
  test("a recurring job runs on its schedule; it is counted, recorded and reported by /ready and /metrics", async () => {
    const deps = processDeps(isolatedConfig("recurring"));
    const tick: JobDefinition<string> = {
      name: "test.tick",
      everySeconds: 1,
      attempts: 3,
      run: async (d) => ({ ticks: await d.redis.incr("test:ticks") }),
    };
    const worker = await startWorker(deps, [tick]);
    try {
      // The first run is due at once, the next one a second later.
      await eventually("two runs", async () => Number(await deps.redis.get("test:ticks")) >= 2, 4_000);
      await eventually(
        "the second run counted",
        async () => (await counted(worker.metrics.jobsCompleted, "test.tick")) >= 2,
      );

      const app = createOperationalApp(deps, { metrics: worker.metrics, worker });
      const ready = await app.fetch(new Request("http://kit.test/ready"));
      // Informative only: the jobs section never decides readiness (503 here: this file runs no chain).
      const body = (await ready.json()) as { failing: string[]; jobs: Record<string, Record<string, string | null>> };
      expect(body.failing).toEqual(["chain"]);
      expect(body.jobs["test.tick"]?.lastSuccessAt).toEqual(expect.any(String));
      expect(body.jobs["test.tick"]?.lastFailureAt).toBeNull();
      const metrics = await (await app.fetch(new Request("http://kit.test/metrics"))).text();
      expect(metrics).toMatch(/kit_jobs_completed_total\{job="test\.tick"\} [2-9]/);
      expect(metrics).toMatch(/kit_job_duration_seconds_count\{job="test\.tick"\} [2-9]/);
      expect((await app.fetch(new Request("http://kit.test/api/system/info"))).status).toBe(404);
    } finally {
      await worker.close();
      await closeDeps(deps);
    }
  });

  test("a failing job is retried with growing delays, then counted as failed and logged without a stack", async () => {
    const config = isolatedConfig("failing");
    const deps = processDeps(config);
    const failing: JobDefinition<string> = {
      name: "test.fail",
      attempts: 3,
      backoffMs: 150,
      run: async (d, _data, job) => {
        await d.redis.rpush("test:attempts", `${job.attempt}:${Date.now()}`);
        throw new Error("provider said no");
      },
    };
    const producer = createJobQueue(config, deps.log, [failing]);
    const worker = await startWorker(deps, [failing]);
    try {
      const { id } = await producer.enqueue("test.fail" as JobName);
      await eventually(
        "the job to fail for good",
        async () => (await counted(worker.metrics.jobsFailed, "test.fail")) === 1,
      );

      const attempts = (await deps.redis.lrange("test:attempts", 0, -1)).map((entry) => entry.split(":").map(Number));
      expect(attempts.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
      const [first, second, third] = attempts.map(([, at]) => at ?? 0);
      // Exponential: 150 ms, then 300 ms.
      expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(140);
      expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(290);
      expect(await counted(worker.metrics.jobsCompleted, "test.fail")).toBe(0);
      expect((await worker.status())["test.fail"]).toEqual({
        lastSuccessAt: null,
        lastFailureAt: expect.any(String),
        overdue: false,
      });

      const lines = logLines.filter((l) => l.jobId === id);
      expect(lines.filter((l) => l.msg === "job attempt failed; it will be retried").map((l) => l.attempt)).toEqual([
        1, 2,
      ]);
      const final = lines.find((l) => l.msg === "job failed");
      expect(final).toMatchObject({ level: 50, job: "test.fail", attempt: 3, err: { message: "provider said no" } });
      expect(JSON.stringify(lines)).not.toContain("stack");
    } finally {
      await worker.close();
      await producer.close();
      await closeDeps(deps);
    }
  });

  test("two workers on one queue run each scheduled run exactly once", async () => {
    const config = isolatedConfig("pair");
    const processes = [processDeps(config), processDeps(config)];
    const pair = (which: number): JobDefinition<string> => ({
      name: "test.pair",
      everySeconds: 1,
      attempts: 3,
      run: async (d, _data, job) => d.redis.rpush("test:runs", `${job.id}|${Date.now()}|${which}`),
    });
    const workers = await Promise.all(processes.map((deps, i) => startWorker(deps, [pair(i)])));
    try {
      await Bun.sleep(3_300);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    const runs = (await processes[0]?.redis.lrange("test:runs", 0, -1)) ?? [];
    await Promise.all(processes.map((deps) => closeDeps(deps)));

    // Runs due at about 0, 1, 2 and 3 s: one each, not one per worker.
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.length).toBeLessThanOrEqual(5);
    const ids = runs.map((r) => r.split("|")[0]);
    expect(new Set(ids).size).toBe(runs.length);
    const times = runs.map((r) => Number(r.split("|")[1]));
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThan(500);
  });

  test("a job enqueued by a process without a worker is run by a worker; no Redis, no enqueue", async () => {
    const config = isolatedConfig("handoff");
    const api = processDeps(config);
    const workerProcess = processDeps(config);
    const echo: JobDefinition<string> = {
      name: "test.echo",
      attempts: 3,
      run: async (d, data) => d.redis.rpush("test:echoed", JSON.stringify(data)),
    };
    const worker = await startWorker(workerProcess, [echo]);
    try {
      await api.jobs.enqueue("test.echo" as JobName, { amount: "12.50" });
      await eventually("the worker to run it", async () => (await workerProcess.redis.llen("test:echoed")) === 1);
      expect(await workerProcess.redis.lrange("test:echoed", 0, -1)).toEqual([JSON.stringify({ amount: "12.50" })]);
    } finally {
      await worker.close();
      await Promise.all([closeDeps(api), closeDeps(workerProcess)]);
    }

    const unreachable = createJobQueue(
      { ...config, redis: { ...config.redis, url: `redis://127.0.0.1:${CLOSED_PORT}` } },
      createLogger({ log: { level: "silent", pretty: false } }),
    );
    const started = Date.now();
    await expect(unreachable.enqueue("fx.refresh")).rejects.toThrow("job queue unavailable");
    expect(Date.now() - started).toBeLessThan(500);
    await unreachable.close();
  });

  test("stopping the worker waits for the running job, then takes no more", async () => {
    const config = isolatedConfig("graceful");
    const deps = processDeps(config);
    const slow: JobDefinition<string> = {
      name: "test.slow",
      attempts: 3,
      run: async (d) => {
        await d.redis.set("test:slow:started", "1");
        await Bun.sleep(700);
        await d.redis.incr("test:slow:finished");
      },
    };
    const worker = await startWorker(deps, [slow]);
    try {
      await deps.jobs.enqueue("test.slow" as JobName);
      await eventually("the job to start", async () => (await deps.redis.get("test:slow:started")) === "1");
      const stopping = Date.now();
      await worker.close();
      expect(Date.now() - stopping).toBeGreaterThanOrEqual(400);
      expect(await deps.redis.get("test:slow:finished")).toBe("1");
      expect(await counted(worker.metrics.jobsCompleted, "test.slow")).toBe(1);

      await deps.jobs.enqueue("test.slow" as JobName);
      await Bun.sleep(300);
      expect(await deps.redis.get("test:slow:finished")).toBe("1");
    } finally {
      await worker.close();
      await closeDeps(deps);
    }
  });

  test("the worker role alone answers /health, /ready (with its jobs) and /metrics on PORT, and stops cleanly", async () => {
    // FX_PROVIDERS=manual: the registry's fx.refresh then succeeds without the network.
    const served = await serveKit(
      { ...kit.env, REDIS_KEY_PREFIX: `${kit.config.redis.keyPrefix}role:`, FX_PROVIDERS: "manual" },
      { role: "worker" },
    );
    try {
      expect((await fetch(`${served.url}/health`)).status).toBe(200);
      let jobs: Record<string, { lastSuccessAt: string | null }> = {};
      await eventually("fx.refresh to run at start", async () => {
        jobs = ((await (await fetch(`${served.url}/ready`)).json()) as { jobs: typeof jobs }).jobs;
        return jobs["fx.refresh"]?.lastSuccessAt != null;
      });
      const metrics = await (await fetch(`${served.url}/metrics`)).text();
      expect(metrics).toMatch(/kit_jobs_completed_total\{job="fx\.refresh"\} 1/);
      expect((await fetch(`${served.url}/api/system/info`)).status).toBe(404);
    } finally {
      expect(await served.stop()).toBe(0);
    }
  });

  test("a scheduled job that no longer runs makes /ready not ready, naming it; a job whose first run is to come does not", async () => {
    const deps = processDeps(isolatedConfig("overdue"));
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Both hang until released: no run ends, none is recorded.
    const stuck: JobDefinition<string> = { name: "test.stuck", everySeconds: 1, attempts: 1, run: () => gate };
    const quarterHour: JobDefinition<string> = {
      name: "test.quarter-hour",
      everySeconds: 15 * 60,
      attempts: 1,
      run: () => gate,
    };
    const worker = await startWorker(deps, [stuck, quarterHour]);
    const app = createOperationalApp(deps, { worker });
    const ready = async () =>
      (await (await app.fetch(new Request("http://kit.test/ready"))).json()) as {
        failing: string[];
        jobs: Record<string, { overdue: boolean; lastSuccessAt: string | null; lastFailureAt: string | null }>;
      };
    try {
      // More than twice its interval since the worker started, without a run.
      let body = await ready();
      await eventually("the stuck job to be overdue", async () => {
        body = await ready();
        return body.failing.includes("job:test.stuck");
      });
      // This file runs no chain, hence "chain".
      expect(body.failing).toEqual(["chain", "job:test.stuck"]);
      expect(body.jobs["test.stuck"]).toEqual({ lastSuccessAt: null, lastFailureAt: null, overdue: true });
      expect(body.jobs["test.quarter-hour"]?.overdue).toBe(false);

      release();
      await eventually("a run to end and the job not to be overdue", async () => {
        body = await ready();
        return body.jobs["test.stuck"]?.lastSuccessAt != null && !body.failing.includes("job:test.stuck");
      });
      expect(body.failing).toEqual(["chain"]);
    } finally {
      release();
      await worker.close();
      await closeDeps(deps);
    }
  });

  describe("Redis loses its data", () => {
    /** A process of its own on the private Redis, with a job that counts its runs in memory (Redis forgets). */
    function onPrivateRedis(name: string, everySeconds: number) {
      const config: ResolvedConfig = { ...kit.config, redis: { ...kit.config.redis, url: privateRedis.url } };
      const runs: number[] = [];
      const job: JobDefinition<string> = {
        name,
        everySeconds,
        attempts: 1,
        run: async () => {
          runs.push(Date.now());
        },
      };
      return { deps: processDeps(config), job, runs };
    }

    test("flushed: the worker sets its schedules again and the job runs again", async () => {
      const { deps, job, runs } = onPrivateRedis("test.flushed", 1);
      const worker = await startWorker(deps, [job]);
      try {
        await eventually("a first run", () => runs.length >= 1);
        const flushedAt = Date.now();
        expect(privateRedis.cli("flushall")).toBe("OK");
        await eventually("two runs after the flush", () => runs.filter((at) => at > flushedAt).length >= 2, 8_000);
        expect(logLines.some((l) => l.msg?.toString().startsWith("job schedules were missing"))).toBe(true);
        expect((await worker.status())["test.flushed"]?.overdue).toBe(false);
      } finally {
        await worker.close();
        await closeDeps(deps);
      }
    });

    test("restarted without persistence: the schedules are set again on reconnect, not only after minutes", async () => {
      // An hourly job: only the reconnect (not the periodic check, once a minute) can bring it back in time.
      const { deps, job, runs } = onPrivateRedis("test.hourly", 60 * 60);
      const worker = await startWorker(deps, [job]);
      try {
        await eventually("the first run, at start", () => runs.length === 1);
        await privateRedis.stop();
        await privateRedis.start();
        expect(privateRedis.cli("dbsize")).toBe("0");
        await eventually("a run after the restart", () => runs.length === 2, 10_000);
      } finally {
        await worker.close();
        await closeDeps(deps);
      }
    }, 20_000);
  });
});
