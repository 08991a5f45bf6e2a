// Machine facts and output helpers shared by the benches. Results go to stdout; the last line a
// bench prints is one JSON object, so scripts can `tail -n 1` it.
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  bun: string;
  platform: string;
  /** 1-minute load average when this was called (call it before starting any load). */
  loadAvg1m: number;
}

export function machineInfo(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match?.[1]) cpuModel = match[1].trim();
  } catch {
    // not Linux: os.cpus() is the best we have
  }
  return {
    cpus: availableParallelism(),
    cpuModel,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    loadAvg1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** The checked-out commit (short), with "-dirty" when the tree has changes; undefined outside git. */
export function gitCommit(): string | undefined {
  const git = (...args: string[]) => {
    const result = Bun.spawnSync(["git", ...args], { cwd: import.meta.dir, stdout: "pipe", stderr: "ignore" });
    return result.success ? result.stdout.toString().trim() : undefined;
  };
  const commit = git("rev-parse", "--short", "HEAD");
  if (!commit) return undefined;
  return git("status", "--porcelain") ? `${commit}-dirty` : commit;
}

/** Today as YYYY-MM-DD (local time, as `date` shows it). */
export function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export function print(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** Progress notes go to stderr, so stdout holds only the results. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The last line a bench prints: one JSON object, with the bench, the time, the commit and the machine first. */
export function printSummary(bench: string, machine: MachineInfo, figures: Record<string, unknown>): void {
  print(JSON.stringify({ bench, date: new Date().toISOString(), commit: gitCommit() ?? null, machine, ...figures }));
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * Runs a bench's `main`, then exits: 0 when it returns; 1, with one line on stderr, when it throws;
 * 130 when Ctrl-C or SIGTERM came first, which note it and call `interrupt` (end the load: main then
 * fails, and its `finally` cleans up). `cleanUp` runs before a failed bench exits.
 */
export function runBench(
  name: string,
  main: () => Promise<void>,
  { interrupt, cleanUp }: { interrupt: () => void; cleanUp?: () => Promise<unknown> },
): void {
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    note("interrupted: cleaning up");
    interrupt();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  main().then(
    () => process.exit(0),
    async (error: unknown) => {
      await cleanUp?.();
      if (interrupted) process.exit(130);
      console.error(`${name} bench failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
