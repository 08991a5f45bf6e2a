// Load from a second process: the autocannon CLI, under Node when it is installed (its home
// runtime), else under Bun. The server's process never shares an event loop with the load.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { note } from "./report";

export interface LoadOptions {
  /** Seconds of measured load per target and round. */
  duration: number;
  /** Concurrent keep-alive connections. */
  connections: number;
  /** Requests in flight per connection (1 = no pipelining). */
  pipelining: number;
  /** Seconds of unmeasured load per target before the first round (0 skips it). */
  warmup: number;
  /** Measured runs per target, interleaved (a, b, a, b, …); figures are the median round. */
  rounds: number;
}

export const DEFAULT_LOAD_OPTIONS: LoadOptions = { duration: 10, connections: 50, pipelining: 1, warmup: 2, rounds: 3 };

/**
 * `--duration 5 --connections 50 --pipelining 1 --warmup 2 --rounds 3`, or the same as
 * BENCH_DURATION, BENCH_CONNECTIONS, …; flags win over the environment.
 */
export function parseLoadOptions(
  argv: string[] = Bun.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  defaults: LoadOptions = DEFAULT_LOAD_OPTIONS,
): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string", short: "d" },
      connections: { type: "string", short: "c" },
      pipelining: { type: "string", short: "p" },
      warmup: { type: "string", short: "w" },
      rounds: { type: "string", short: "r" },
    },
    strict: true,
  });
  const pick = (name: keyof LoadOptions, min: number): number => {
    const variable = `BENCH_${name.toUpperCase()}`;
    const raw = values[name] ?? env[variable];
    if (raw === undefined || raw === "") return defaults[name];
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`--${name} (or ${variable}) must be a whole number >= ${min}, got "${raw}"`);
    }
    return value;
  };
  return {
    duration: pick("duration", 1),
    connections: pick("connections", 1),
    pipelining: pick("pipelining", 1),
    warmup: pick("warmup", 0),
    rounds: pick("rounds", 1),
  };
}

/**
 * Where the CPU went during a run, in percent of one core: `server` (this process: the server under
 * test and anything idle it hosts, e.g. s3rver), `loader` (autocannon), one entry per watched
 * process (e.g. `redis`), and on Linux `others` (every other process on the machine: noise), `irq`
 * (interrupts, mostly the loopback network) and `steal` (time the hypervisor gave to other guests).
 */
type CpuShare = Record<string, number>;

export interface RunLoadExtras {
  /**
   * Processes on this machine whose CPU time is reported apart from `others`, by name: one pid, or
   * a function listing the pids of a group whose members come and go (e.g. the Postgres backends
   * of the bench's database), called at the start and at the end of each run.
   */
  watch?: Record<string, number | (() => number[])>;
  /** Request headers sent with every request (e.g. a session cookie). */
  headers?: Record<string, string>;
}

/** The figures kept from one autocannon run; latencies in milliseconds (autocannon's resolution is 1 ms). */
export interface LoadResult {
  url: string;
  durationSeconds: number;
  requests: number;
  /** Mean of the per-second request counts. */
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Server CPU time per completed request, in microseconds: steadier than req/s on a busy machine. */
  serverCpuUsPerRequest: number;
  cpu: CpuShare;
}

/** The subset of autocannon's JSON result that we read. */
interface AutocannonJson {
  url: string;
  duration: number;
  requests: { average: number; total: number };
  latency: { average: number; p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}

export function loadRuntime(): { name: "node" | "bun"; path: string } {
  const node = Bun.which("node");
  return node ? { name: "node", path: node } : { name: "bun", path: process.execPath };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

const running = new Set<Bun.Subprocess>();
let stopped = false;

/** Ends the load processes still running and refuses new ones (for an interrupted bench). */
/** How the load was made, for a bench's summary line. */
export function loadSummary(options: LoadOptions) {
  return { tool: "autocannon", runtime: loadRuntime().name, ...options };
}

export function stopRunningLoads(): void {
  stopped = true;
  for (const child of running) child.kill();
}

/** Runs autocannon in a child process against `url` and returns its figures. */
export async function runLoad(
  url: string,
  options: Pick<LoadOptions, "duration" | "connections" | "pipelining">,
  extras: RunLoadExtras = {},
): Promise<LoadResult> {
  if (stopped) throw new Error("load stopped");
  const cli = createRequire(import.meta.url).resolve("autocannon/autocannon.js");
  const args = [
    cli,
    "--json",
    "--connections",
    String(options.connections),
    "--pipelining",
    String(options.pipelining),
    "--duration",
    String(options.duration),
    // "name:value": autocannon splits at the first ":" or "=", whichever comes first.
    ...Object.entries(extras.headers ?? {}).flatMap(([name, value]) => ["--headers", `${name}:${value}`]),
    url,
  ];
  const watched = Object.entries(extras.watch ?? {});
  const pidsOf = (entry: number | (() => number[])) => (typeof entry === "number" ? [entry] : entry());
  const watchedBefore = watched.map(([, entry]) => groupCpuUs(pidsOf(entry)));
  const machineBefore = machineTicks();
  const serverBefore = process.cpuUsage();
  const started = performance.now();
  const child = Bun.spawn([loadRuntime().path, ...args], { stdout: "pipe", stderr: "pipe" });
  running.add(child);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]).finally(() => running.delete(child));
  const wallUs = (performance.now() - started) * 1000;
  const server = process.cpuUsage(serverBefore);
  const machineAfter = machineTicks();
  const watchedAfter = watched.map(([, entry]) => groupCpuUs(pidsOf(entry)));

  const line = stdout.trim().split("\n").at(-1) ?? "";
  if (exitCode !== 0 || !line.startsWith("{")) {
    throw new Error(`autocannon failed (exit ${exitCode}) against ${url}: ${(stderr || stdout).trim().slice(-2_000)}`);
  }
  const raw = JSON.parse(line) as AutocannonJson;

  const serverUs = server.user + server.system;
  const loaderUs = Number(child.resourceUsage()?.cpuTime.total ?? 0n);
  const share = (us: number) => round2((us / wallUs) * 100);
  const cpu: CpuShare = { server: share(serverUs), loader: share(loaderUs) };
  let accountedUs = serverUs + loaderUs;
  watched.forEach(([name], i) => {
    const before = watchedBefore[i];
    const after = watchedAfter[i];
    if (!before || !after || after.size === 0) return;
    // A process that started during the run spent all its CPU time in it; one that ended is lost.
    let us = 0;
    for (const [pid, end] of after) us += Math.max(0, end - (before.get(pid) ?? 0));
    cpu[name] = share(us);
    accountedUs += us;
  });
  if (machineBefore && machineAfter) {
    cpu.others = share(Math.max(0, machineAfter.busyUs - machineBefore.busyUs - accountedUs));
    cpu.irq = share(machineAfter.irqUs - machineBefore.irqUs);
    cpu.steal = share(machineAfter.stealUs - machineBefore.stealUs);
  }
  return {
    url,
    durationSeconds: raw.duration,
    requests: raw.requests.total,
    rps: round2(raw.requests.average),
    latencyMs: {
      mean: round2(raw.latency.average),
      p50: raw.latency.p50,
      p90: raw.latency.p90,
      p99: raw.latency.p99,
      max: raw.latency.max,
    },
    errors: raw.errors,
    timeouts: raw.timeouts,
    non2xx: raw.non2xx,
    statusCodes: Object.fromEntries(Object.entries(raw.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    serverCpuUsPerRequest: raw.requests.total > 0 ? round2(serverUs / raw.requests.total) : 0,
    cpu,
  };
}

const TICK_US = 1_000_000 / 100; // /proc counts in USER_HZ, which is 100 on every Linux we run on

/**
 * Machine-wide process time (user + system), interrupt time (mostly loopback networking) and
 * steal time from /proc/stat, in microseconds; undefined off Linux.
 */
function machineTicks(): { busyUs: number; irqUs: number; stealUs: number } | undefined {
  try {
    const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return { busyUs: (user + nice + system) * TICK_US, irqUs: (irq + softirq) * TICK_US, stealUs: steal * TICK_US };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of one process from /proc/<pid>/stat, in microseconds; undefined if unreadable. */
function processCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return undefined;
  }
}

/** CPU time of each readable process among `pids`, in microseconds. */
function groupCpuUs(pids: number[]): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    const us = processCpuUs(pid);
    if (us !== undefined) times.set(pid, us);
  }
  return times;
}

/** Pids of the processes whose command line (NULs read as spaces) matches `pattern`; empty off Linux. */
export function processesMatching(pattern: RegExp): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    try {
      if (pattern.test(readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " "))) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** What went wrong in a run (connection errors, timeouts, non-2xx answers), or undefined if it was clean. */
function loadProblems(result: LoadResult): string | undefined {
  const problems: string[] = [];
  if (result.requests === 0) problems.push("no request completed");
  if (result.errors > 0) problems.push(`${result.errors} connection errors`);
  if (result.timeouts > 0) problems.push(`${result.timeouts} timeouts`);
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx responses (${JSON.stringify(result.statusCodes)})`);
  return problems.length > 0 ? `${result.url}: ${problems.join(", ")}` : undefined;
}

/** Throws when a run had errors, timeouts or non-2xx answers: its figures would not mean anything. */
export function checkLoad(result: LoadResult, what: string): void {
  const problem = loadProblems(result);
  if (problem) throw new Error(`${what} failed: ${problem}`);
}

/** The middle value (an even count averages the middle two); 0 for none. */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const middle = sorted.length % 2 === 1 ? [sorted[mid]] : [sorted[mid - 1], sorted[mid]];
  const present = middle.filter((v): v is number => v !== undefined);
  return present.length === 0 ? 0 : present.reduce((a, b) => a + b, 0) / present.length;
}

export interface Target<Name extends string = string> {
  name: Name;
  url: string;
  /** Headers for this target's requests only (e.g. the cookie of a signed-in user). */
  headers?: Record<string, string>;
}

/** One target's figures over all rounds: the median round for each figure, plus every round's req/s. */
export interface TargetSummary {
  url: string;
  rps: number;
  latencyMs: { p50: number; p99: number; mean: number };
  serverCpuUsPerRequest: number;
  requests: number;
  rpsRounds: number[];
  cpu: CpuShare;
}

/**
 * Warms each target up, then runs `rounds` measured runs per target, interleaved, one at a time.
 * Throws on the first run with errors, timeouts or non-2xx answers.
 */
export async function compareTargets<Name extends string>(
  targets: readonly Target<Name>[],
  options: LoadOptions,
  extras: RunLoadExtras = {},
): Promise<Record<Name, TargetSummary>> {
  if (options.warmup > 0) {
    for (const target of targets) {
      note(`warm-up ${target.name} (${options.warmup}s)`);
      checkLoad(
        await runLoad(target.url, { ...options, duration: options.warmup }, { ...extras, headers: target.headers }),
        "warm-up",
      );
    }
  }
  const runs = new Map<Name, LoadResult[]>(targets.map((t) => [t.name, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const target of targets) {
      note(`round ${round}/${options.rounds}: ${target.name} (${options.duration}s)`);
      const result = await runLoad(target.url, options, { ...extras, headers: target.headers });
      checkLoad(result, "load run");
      runs.get(target.name)?.push(result);
    }
  }
  return Object.fromEntries(targets.map((t) => [t.name, summarize(t.url, runs.get(t.name) ?? [])])) as Record<
    Name,
    TargetSummary
  >;
}

function summarize(url: string, results: LoadResult[]): TargetSummary {
  /** Median over the rounds that have the figure. */
  const median = (pick: (r: LoadResult) => number | undefined): number =>
    round2(medianOf(results.map(pick).filter((v): v is number => v !== undefined)));
  return {
    url,
    rps: median((r) => r.rps),
    latencyMs: {
      p50: median((r) => r.latencyMs.p50),
      p99: median((r) => r.latencyMs.p99),
      mean: median((r) => r.latencyMs.mean),
    },
    serverCpuUsPerRequest: median((r) => r.serverCpuUsPerRequest),
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    rpsRounds: results.map((r) => r.rps),
    cpu: Object.fromEntries(
      [...new Set(results.flatMap((r) => Object.keys(r.cpu)))].map((key) => [key, median((r) => r.cpu[key])]),
    ),
  };
}
