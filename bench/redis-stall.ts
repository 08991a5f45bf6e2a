// Latency of a signed-in call while Redis hangs: connected, but answering nothing (SIGSTOP), as
// when it is overloaded or its host stalls. The Kit runs on a redis-server of the bench's own (the
// shared one is never stopped). Each round loads GET /api/me as a signed-in user twice: once with
// Redis answering, then with Redis stopped for the whole run (SIGSTOP before the load starts,
// SIGCONT after it ends). While stopped, every call must still answer 200 from its fallbacks (the
// session from Postgres, the rate limit failing open); the target is p99 ≤ 600 ms, i.e. a
// call pays at most one command timeout (REDIS_COMMAND_TIMEOUT_MS, 500 ms), not one per command.
//
//   bun bench/redis-stall.ts [--duration 5] [--connections 10] [--warmup 2] [--rounds 1]
//
// Progress goes to stderr; the results to stdout, whose last line is a JSON summary.
import { startPrivateRedis } from "../kit/api/test/redis-server";
import { signedInCookie, startBenchKit } from "./lib/kit";
import {
  checkLoad,
  DEFAULT_LOAD_OPTIONS,
  type LoadResult,
  loadRuntime,
  loadSummary,
  medianOf,
  parseLoadOptions,
  runLoad,
  stopRunningLoads,
} from "./lib/load";
import { gitCommit, machineInfo, note, print, printSummary, runBench, table, today } from "./lib/report";

const ROUTE = "/api/me";
const TARGET_P99_MS = 600;
/** A 5 s stall, as the issue measured it; fewer connections than http.ts: this is about latency, not throughput. */
const DEFAULTS = { ...DEFAULT_LOAD_OPTIONS, duration: 5, connections: 10, rounds: 1 };

async function main(): Promise<void> {
  const options = parseLoadOptions(Bun.argv.slice(2), process.env, DEFAULTS);
  const machine = machineInfo();
  note(
    `redis-stall bench: ${options.rounds} round(s) of ${options.duration}s answering + ${options.duration}s stopped, ` +
      `${options.connections} connections, warm-up ${options.warmup}s`,
  );
  const redis = await startPrivateRedis();
  const kit = await startBenchKit({
    env: {
      REDIS_URL: redis.url,
      // One user makes every call: counted by the limiter, never refused.
      RATE_LIMITS: JSON.stringify({ default: { limit: 1_000_000_000, windowSeconds: 1 } }),
    },
  });
  try {
    const headers = { cookie: await signedInCookie(kit) };
    const url = `${kit.url}${ROUTE}`;
    await waitUntilLimited(url, headers);
    if (options.warmup > 0) {
      note(`warm-up (${options.warmup}s)`);
      checkLoad(await runLoad(url, { ...options, duration: options.warmup }, { headers }), "warm-up");
    }

    const rounds: { answering: LoadResult; stopped: LoadResult }[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      note(`round ${round}/${options.rounds}: Redis answering (${options.duration}s)`);
      const answering = await runLoad(url, options, { headers });
      checkLoad(answering, "load with Redis answering");
      note(`round ${round}/${options.rounds}: Redis stopped (${options.duration}s)`);
      redis.pause();
      let stopped: LoadResult;
      try {
        stopped = await runLoad(url, options, { headers });
      } finally {
        redis.resume();
      }
      checkLoad(stopped, "load with Redis stopped");
      rounds.push({ answering, stopped });
      // The next round starts with Redis in use again (the limiter answering).
      await waitUntilLimited(url, headers);
    }

    const figures = (pick: (r: (typeof rounds)[number]) => LoadResult) => ({
      rps: medianOf(rounds.map((r) => pick(r).rps)),
      p50Ms: medianOf(rounds.map((r) => pick(r).latencyMs.p50)),
      p90Ms: medianOf(rounds.map((r) => pick(r).latencyMs.p90)),
      p99Ms: medianOf(rounds.map((r) => pick(r).latencyMs.p99)),
      maxMs: medianOf(rounds.map((r) => pick(r).latencyMs.max)),
      requests: rounds.reduce((sum, r) => sum + pick(r).requests, 0),
      p99MsRounds: rounds.map((r) => pick(r).latencyMs.p99),
    });
    const answering = figures((r) => r.answering);
    const stopped = figures((r) => r.stopped);
    const met = stopped.p99Ms <= TARGET_P99_MS;

    print(
      `redis-stall — ${today()}, commit ${gitCommit() ?? "?"}, ${machine.cpus} × ${machine.cpuModel}, Bun ${machine.bun}, ` +
        `load average ${machine.loadAvg1m}; autocannon on ${loadRuntime().name}, ${options.connections} connections, ` +
        `${options.rounds} round(s) × ${options.duration}s each, median round`,
    );
    print();
    print(
      table(
        ["GET /api/me, signed in", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "requests"],
        [
          ["Redis answering", answering],
          ["Redis stopped (SIGSTOP)", stopped],
        ].map(([label, f]) => {
          const v = f as typeof answering;
          return [
            label as string,
            v.rps.toFixed(0),
            String(v.p50Ms),
            String(v.p90Ms),
            String(v.p99Ms),
            String(v.maxMs),
            String(v.requests),
          ];
        }),
      ),
    );
    print();
    print(
      `target: p99 of a signed-in call while Redis is stopped ≤ ${TARGET_P99_MS} ms — ${met ? "met" : "MISSED"} ` +
        `(${stopped.p99Ms} ms; REDIS_COMMAND_TIMEOUT_MS ${kit.config.redis.commandTimeoutMs}, REDIS_BREAKER_MS ${kit.config.redis.breakerMs})`,
    );
    printSummary("redis-stall", machine, {
      load: loadSummary(options),
      route: ROUTE,
      redis: { commandTimeoutMs: kit.config.redis.commandTimeoutMs, breakerMs: kit.config.redis.breakerMs },
      answering,
      stopped,
      target: { p99Ms: TARGET_P99_MS, value: stopped.p99Ms, met },
    });
  } finally {
    await kit.stop();
    await redis.remove();
  }
}

/** Until a call is counted by the limiter again (Redis in use, the breaker closed); fails after 10 s. */
async function waitUntilLimited(url: string, headers: Record<string, string>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET ${url} answered HTTP ${response.status}`);
    if (response.headers.get("ratelimit-limit") !== null) return;
    if (Date.now() > deadline) throw new Error(`GET ${url}: the rate limiter did not answer again within 10 s`);
    await Bun.sleep(50);
  }
}

// Ctrl-C or SIGTERM: end the load; the run then fails, and main's `finally` cleans up (Redis resumed first).
runBench("redis-stall", main, { interrupt: stopRunningLoads });
