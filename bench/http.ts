// HTTP throughput of the API: a cached procedure (GET /api/system/info, one Redis GET when warm)
// against a bare Hono route doing the same single Redis GET, under the same middlewares, in the
// same run. The ratio is what the oRPC/OpenAPI layer and the handler cost on top of the bare path.
//
//   bun bench/http.ts [--duration 10] [--connections 50] [--pipelining 1] [--warmup 2] [--rounds 3]
//
// Progress goes to stderr; the results to stdout, whose last line is a JSON summary.
import { startBenchKit } from "./lib/kit";
import { compareTargets, loadRuntime, parseLoadOptions, stopRunningLoads } from "./lib/load";
import { gitCommit, machineInfo, note, print, table, today } from "./lib/report";

const BARE_KEY = "bench:redis-get";

const routes = {
  cached: "/api/system/info",
  bare: "/bench/redis-get",
} as const;

async function main(): Promise<void> {
  const options = parseLoadOptions();
  const machine = machineInfo(); // before we add load of our own: its load average is the machine's
  note(
    `http bench: ${options.rounds} × ${options.duration}s per route, ${options.connections} connections, ` +
      `warm-up ${options.warmup}s`,
  );
  const kit = await startBenchKit({
    env: {
      // Long enough that every measured request is a cache hit (the refill is not what we measure).
      SYSTEM_INFO_CACHE_MS: String(60 * 60 * 1000),
      // All the load comes from one address: the limiter still counts every call (its cost is
      // measured) but never refuses one. A 1 s window keeps its log of calls small, as a real
      // limit would. Ignored by a Kit without rate limits.
      RATE_LIMITS: JSON.stringify({ default: { limit: 1_000_000_000, windowSeconds: 1 } }),
    },
    routes: async (app, deps) => {
      await deps.redis.set(BARE_KEY, "ok");
      app.hono.get(routes.bare, async (c) => c.json({ value: await deps.redis.get(BARE_KEY) }));
    },
  });
  try {
    // One call each before any load: it fills the system.info cache, and a broken route fails here.
    const info = await getJson(`${kit.url}${routes.cached}`);
    const down = Object.entries((info as { dependencies?: Record<string, { up: boolean }> }).dependencies ?? {})
      .filter(([, status]) => !status.up)
      .map(([name]) => name);
    if (down.length > 0) throw new Error(`${routes.cached} reports dependencies down: ${down.join(", ")}`);
    if ((await getJson(`${kit.url}${routes.bare}`)).value !== "ok") throw new Error(`${routes.bare}: unexpected body`);

    // Redis serves every request of both routes: its CPU is reported apart from the machine's noise.
    const redisPid = Number(/^process_id:(\d+)/m.exec(await kit.deps.redis.info("server"))?.[1]);
    const results = await compareTargets(
      [
        { name: "cached", url: `${kit.url}${routes.cached}` },
        { name: "bare", url: `${kit.url}${routes.bare}` },
      ],
      options,
      { watch: Number.isInteger(redisPid) && redisPid > 0 ? { redis: redisPid } : {} },
    );
    const noise = Math.max(results.cached.cpu.others ?? 0, results.bare.cpu.others ?? 0);
    if (noise > 25) {
      note(`warning: other processes used ${noise.toFixed(0)}% of a core during the runs: the figures are noisy`);
    }
    const ratio = Math.round((results.cached.rps / results.bare.rps) * 1000) / 1000;
    const cpuRatio =
      Math.round((results.cached.serverCpuUsPerRequest / results.bare.serverCpuUsPerRequest) * 1000) / 1000;
    const runtime = loadRuntime().name;

    print();
    print(
      `${today()} · ${machine.cpus} × ${machine.cpuModel} · Bun ${machine.bun} · autocannon on ${runtime}, ` +
        `${options.connections} connections, median of ${options.rounds} × ${options.duration}s`,
    );
    print();
    print(
      table(
        [
          "route",
          "req/s",
          "p50 ms",
          "p99 ms",
          "server CPU µs/req",
          "CPU % server/loader/redis/others",
          "req/s per round",
        ],
        (["cached", "bare"] as const).map((name) => {
          const r = results[name];
          return [
            `GET ${routes[name]}`,
            r.rps.toFixed(0),
            String(r.latencyMs.p50),
            String(r.latencyMs.p99),
            r.serverCpuUsPerRequest.toFixed(1),
            [r.cpu.server, r.cpu.loader, r.cpu.redis, r.cpu.others]
              .map((v) => (v === undefined ? "?" : v.toFixed(0)))
              .join(" / "),
            r.rpsRounds.map((v) => v.toFixed(0)).join(" "),
          ];
        }),
      ),
    );
    print();
    print(`cached / bare: req/s ${ratio.toFixed(3)}, server CPU per request ${cpuRatio.toFixed(3)}`);
    print(
      JSON.stringify({
        bench: "http",
        date: new Date().toISOString(),
        commit: gitCommit() ?? null,
        machine,
        load: { tool: "autocannon", runtime, ...options },
        routes: Object.fromEntries(
          (["cached", "bare"] as const).map((name) => {
            const r = results[name];
            return [
              name,
              {
                path: routes[name],
                rps: r.rps,
                p50Ms: r.latencyMs.p50,
                p99Ms: r.latencyMs.p99,
                serverCpuUsPerRequest: r.serverCpuUsPerRequest,
                requests: r.requests,
                rpsRounds: r.rpsRounds,
                cpuPercent: r.cpu,
              },
            ];
          }),
        ),
        ratio,
        cpuRatio,
      }),
    );
  } finally {
    await kit.stop();
  }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

// Ctrl-C or SIGTERM: end the load; the run then fails, and main's `finally` cleans up.
let interrupted = false;
const interrupt = () => {
  interrupted = true;
  note("interrupted: cleaning up");
  stopRunningLoads();
};
process.once("SIGINT", interrupt);
process.once("SIGTERM", interrupt);

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (interrupted) process.exit(130);
    console.error(`http bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
