// `main.ts --processes N` as a real process tree for tests: the supervisor and its processes on a
// free port, their JSON log lines collected (they share the supervisor's stdout and stderr).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../src/dev/ports";
import { processAlive, readState, type SupervisorState, stateFilePath } from "../src/processes/state-file";
import { kernelMigratesQueuedConnections } from "../src/processes/supervisor";
import { eventually } from "./eventually";

const MAIN = join(import.meta.dir, "../src/main.ts");

export interface SupervisedKit {
  url: string;
  /** The environment it runs with: what `bun run kit restart` needs to find it. */
  env: Record<string, string>;
  supervisor: Subprocess<"ignore", "pipe", "pipe">;
  statePath: string;
  /** Each slot's current pid, from the supervisor's state file (null while one restarts). */
  pids(): (number | null)[];
  state(): SupervisorState | undefined;
  logLines(): Record<string, unknown>[];
  /** SIGKILLs whatever is left and removes the data folder. */
  cleanup(): Promise<void>;
}

export async function startSupervisedKit(
  env: Record<string, string>,
  args: string[],
  slots: number,
): Promise<SupervisedKit> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), "kit-processes-"));
  const statePath = stateFilePath(dataDir, port);
  const fullEnv = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    ...env,
    LOG_LEVEL: "info",
    PORT: String(port),
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
  };
  const supervisor = Bun.spawn(["bun", MAIN, ...args], {
    env: fullEnv,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  for (const stream of [supervisor.stdout, supervisor.stderr]) {
    void (async () => {
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        output += decoder.decode(value, { stream: true });
      }
    })();
  }
  const state = () => readState(statePath);
  const pids = () => (state()?.processes ?? []).map((p) => p.pid);
  const cleanup = async () => {
    const left = pids();
    if (supervisor.exitCode === null) supervisor.kill("SIGKILL");
    for (const pid of left) if (pid && processAlive(pid)) process.kill(pid, "SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await eventually(
      `${slots} supervised processes ready`,
      () => {
        if (supervisor.exitCode !== null) throw new Error(`supervisor exited ${supervisor.exitCode}:\n${output}`);
        return pids().filter(Boolean).length === slots;
      },
      45_000,
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    env: fullEnv,
    supervisor,
    statePath,
    pids,
    state,
    logLines: () =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    cleanup,
  };
}

/**
 * The failures a rolling restart is to blame for, from a client loop's failures, each prefixed
 * `fresh:` (a connection of its own) or `keep-alive:`. Where net.ipv4.tcp_migrate_req is 0, Linux
 * resets the fresh connections still queued at a listener that closes: those are the kernel's
 * (reported, and `.ci/run` sets the switch so that CI checks the strict claim); all else is Kit's.
 */
export function failuresOfTheRestart(failures: string[]): string[] {
  if (kernelMigratesQueuedConnections() !== false) return failures;
  const kernels = (failure: string) => failure.startsWith("fresh:") && failure.includes("ECONNRESET");
  const excused = failures.filter(kernels).length;
  if (excused > 0)
    console.warn(
      `[supervised] ${excused} fresh connection(s) reset by a closing listener: net.ipv4.tcp_migrate_req is 0 here`,
    );
  return failures.filter((failure) => !kernels(failure));
}
