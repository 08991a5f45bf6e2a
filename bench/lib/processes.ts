// `bench/http.ts --processes N`: the bench's Kit served again by `main.ts --processes 1` and
// `main.ts --processes N` (child process trees on ports of their own, the same database, Redis
// prefix and environment), the same routes loaded against each, interleaved. The CPU per request is
// the whole tree's (supervisor and api processes, from /proc), not the bench process's.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../../kit/api/src/dev/ports";
import { readState, stateFilePath } from "../../kit/api/src/processes/state-file";
import { compareTargets, type LoadOptions, type TargetSummary } from "./load";
import { note, table } from "./report";

const MAIN = join(import.meta.dir, "../../kit/api/src/main.ts");

/** Takes `--processes N` (or `--processes=N`) out of the arguments; the rest go to parseLoadOptions. */
export function takeProcessesFlag(argv: string[] = Bun.argv.slice(2)): { processes?: number; rest: string[] } {
  const rest: string[] = [];
  let raw: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--processes") raw = argv[++i];
    else if (arg.startsWith("--processes=")) raw = arg.slice("--processes=".length);
    else rest.push(arg);
  }
  if (raw === undefined) return { rest };
  const processes = Number(raw);
  if (!Number.isInteger(processes) || processes < 2)
    throw new Error(`--processes must be a whole number >= 2, got "${raw}"`);
  return { processes, rest };
}

interface Tree {
  processes: number;
  url: string;
  /** The supervisor and its api processes. */
  pids(): number[];
  stop(): Promise<void>;
}

async function startTree(env: Record<string, string>, processes: number): Promise<Tree> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), "kit-bench-processes-"));
  const statePath = stateFilePath(dataDir, port);
  const child: Subprocess = Bun.spawn(["bun", MAIN, "--role", "api", "--processes", String(processes)], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...env,
      DATABASE_MIGRATE: "false",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await child.exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const children = () => (readState(statePath)?.processes ?? []).flatMap((p) => (p.pid ? [p.pid] : []));
  const deadline = Date.now() + 120_000;
  while (children().length < processes) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`main.ts --processes ${processes} did not start (exit ${child.exitCode})`);
    }
    await Bun.sleep(100);
  }
  return { processes, url: `http://127.0.0.1:${port}`, pids: () => [child.pid, ...children()], stop };
}

export interface ProcessCountFigures {
  processes: number;
  route: string;
  path: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the whole tree (supervisor + api processes) per request, in microseconds. */
  apiCpuUsPerRequest: number;
  /** × the 1-process figure of the same route. */
  rpsRatio: number;
  cpuPercent: Record<string, number>;
  rpsRounds: number[];
}

/**
 * Serves `routes` from 1 and from `processes` api processes, loads each (interleaved rounds), and
 * returns the figures side by side. `watch` (e.g. Redis, the Postgres backends) is reported as in
 * the main comparison.
 */
export async function compareProcessCounts(
  env: Record<string, string>,
  processes: number,
  routes: { name: string; path: string; headers?: Record<string, string> }[],
  options: LoadOptions,
  watch: Record<string, number | (() => number[])>,
): Promise<ProcessCountFigures[]> {
  const trees: Tree[] = [];
  try {
    for (const count of [1, processes]) {
      note(`starting main.ts --processes ${count}`);
      trees.push(await startTree(env, count));
    }
    const label = (tree: Tree) => `api×${tree.processes}`;
    const targets = trees.flatMap((tree) =>
      routes.map((route) => ({
        name: `${route.name}@${tree.processes}`,
        url: `${tree.url}${route.path}`,
        headers: route.headers,
      })),
    );
    const results: Record<string, TargetSummary> = await compareTargets(targets, options, {
      watch: { ...watch, ...Object.fromEntries(trees.map((tree) => [label(tree), tree.pids])) },
    });
    return trees.flatMap((tree) =>
      routes.map((route) => {
        const r = results[`${route.name}@${tree.processes}`] as TargetSummary;
        const one = results[`${route.name}@1`] as TargetSummary;
        // Percent of a core × 10,000 = µs of CPU per second; divided by requests per second.
        const apiPercent = r.cpu[label(tree)] ?? 0;
        return {
          processes: tree.processes,
          route: route.name,
          path: route.path,
          rps: r.rps,
          p50Ms: r.latencyMs.p50,
          p99Ms: r.latencyMs.p99,
          apiCpuUsPerRequest: r.rps > 0 ? Math.round(((apiPercent * 10_000) / r.rps) * 10) / 10 : 0,
          rpsRatio: Math.round((r.rps / one.rps) * 1000) / 1000,
          cpuPercent: r.cpu,
          rpsRounds: r.rpsRounds,
        };
      }),
    );
  } finally {
    for (const tree of trees) await tree.stop();
  }
}

export function processCountsTable(figures: ProcessCountFigures[]): string {
  return table(
    [
      "route",
      "api processes",
      "req/s",
      "× 1 process",
      "p50 ms",
      "p99 ms",
      "api CPU µs/req",
      "CPU % api/loader/redis/pg/others",
      "req/s per round",
    ],
    figures.map((f) => [
      `GET ${f.path}`,
      String(f.processes),
      f.rps.toFixed(0),
      f.rpsRatio.toFixed(3),
      String(f.p50Ms),
      String(f.p99Ms),
      f.apiCpuUsPerRequest.toFixed(1),
      [
        f.cpuPercent[`api×${f.processes}`],
        f.cpuPercent.loader,
        f.cpuPercent.redis,
        f.cpuPercent.postgres,
        f.cpuPercent.others,
      ]
        .map((v) => (v === undefined ? "?" : v.toFixed(0)))
        .join(" / "),
      f.rpsRounds.map((v) => v.toFixed(0)).join(" "),
    ]),
  );
}
