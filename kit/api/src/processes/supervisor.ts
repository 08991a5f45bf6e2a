// `main.ts --processes N`: N api processes on one port (each listens with SO_REUSEPORT, the kernel
// spreads connections), started, restarted after a crash, replaced one at a time on SIGHUP and
// drained on SIGTERM by this process, which serves nothing itself. The worker and indexer roles,
// when asked for too, run in one more process of their own: they are not multiplied.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { ResolvedConfig } from "../config";
import type { Logger } from "../infra/log";
import type { Role } from "../runtime";
import { GroupMetrics } from "./group-metrics";
import type { ChildMessage, SupervisorMessage } from "./messages";
import { processAlive, readState, removeState, type SupervisorState, stateFilePath, writeState } from "./state-file";

const MAIN = join(import.meta.dir, "../main.ts");

/** A crashed process is restarted after 250 ms, then 500 ms, 1 s, … at most 30 s between tries. */
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A process that served this long before it crashed starts the backoff over. */
const STABLE_MS = 30_000;
/** A process not ready by then has failed to start (migrations, a dependency down at start). */
const START_TIMEOUT_MS = 60_000;
/** Past its own shutdown timeout, a draining process gets this long before SIGKILL. */
const KILL_GRACE_MS = 2_000;

interface Child {
  process: Subprocess<"ignore", "inherit", "inherit">;
  pid: number;
  startedAt: number;
  /** true once it said so; false if it exited first. */
  ready: Promise<boolean>;
  isReady: boolean;
  /** Sent SIGTERM on purpose: its exit is not a crash. */
  draining: boolean;
}

interface Slot {
  /** `api-1`, `api-2`, …, and `worker,indexer` when those roles run beside the api. */
  name: string;
  roles: Role[];
  current?: Child;
  crashes: number;
  restartTimer?: ReturnType<typeof setTimeout>;
}

export interface RunningSupervisor {
  /** Replaces every process, one at a time: the new one ready before the old one drains. */
  rollingRestart(): Promise<void>;
  /** Drains every process (each finishes its in-flight requests) and removes the state file. */
  stop(): Promise<void>;
}

export class SupervisorStartError extends Error {}

/**
 * Starts the processes one after the other (the first applies pending migrations alone), each
 * ready before the next; throws SupervisorStartError, with everything stopped, if one is not.
 */
export async function startSupervisor(
  config: ResolvedConfig,
  roles: readonly Role[],
  processes: number,
  log: Logger,
): Promise<RunningSupervisor> {
  const statePath = stateFilePath(config.dataDir, config.http.port);
  const previous = readState(statePath);
  if (previous && previous.pid !== process.pid && processAlive(previous.pid)) {
    // Two supervisors on one port would both bind it (SO_REUSEPORT) and share its connections.
    throw new SupervisorStartError(
      `a Kit supervisor (pid ${previous.pid}) already serves port ${config.http.port} (${statePath}); ` +
        "stop it first, or remove that file if the pid is not Kit's",
    );
  }
  if (process.platform !== "linux") {
    log.warn(
      { platform: process.platform },
      "SO_REUSEPORT spreads connections over processes on Linux only: here one process may get them all",
    );
  }
  if (kernelMigratesQueuedConnections() === false) {
    log.warn(
      { sysctl: "net.ipv4.tcp_migrate_req" },
      "net.ipv4.tcp_migrate_req is 0: a process that stops (rolling restart, scale-down) resets the connections " +
        "still waiting in its accept queue; set it to 1 (Linux 5.14+) so that its siblings take them (docs/production.md)",
    );
  }
  const supervisor = new Supervisor(config, roles, processes, log, statePath);
  await supervisor.start();
  return supervisor;
}

/**
 * Whether Linux hands the connections queued at a closing SO_REUSEPORT listener to the group's other
 * listeners (net.ipv4.tcp_migrate_req, per network namespace); undefined where there is no such switch.
 */
export function kernelMigratesQueuedConnections(): boolean | undefined {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() !== "0";
  } catch {
    return undefined;
  }
}

class Supervisor implements RunningSupervisor {
  private readonly slots: Slot[];
  private readonly live = new Set<Child>();
  private readonly metrics: GroupMetrics;
  private readonly restarts: SupervisorState["rollingRestarts"] = { requested: 0, completed: 0, lastOk: null };
  private stopping = false;
  private stateUnwritable = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: ResolvedConfig,
    roles: readonly Role[],
    processes: number,
    private readonly log: Logger,
    private readonly statePath: string,
  ) {
    this.slots = Array.from({ length: processes }, (_, i) => ({ name: `api-${i + 1}`, roles: ["api"], crashes: 0 }));
    const others = roles.filter((role) => role !== "api");
    if (others.length > 0) this.slots.push({ name: others.join(","), roles: others, crashes: 0 });
    this.metrics = new GroupMetrics(["api", ...others]);
  }

  async start(): Promise<void> {
    for (const slot of this.slots) {
      const child = this.spawn(slot);
      slot.current = child;
      if (!(await this.readyWithin(child))) {
        this.stopping = true;
        await Promise.all([...this.live].map((c) => this.drain(c)));
        throw new SupervisorStartError(`${slot.name} (pid ${child.pid}) did not start: see its log lines above`);
      }
    }
    this.saveState();
    this.log.info(
      { port: this.config.http.port, children: this.slots.map((slot) => slot.current?.pid) },
      "supervisor: every process ready",
    );
  }

  rollingRestart(): Promise<void> {
    this.restarts.requested += 1;
    this.saveState();
    // Requests that arrive during one are served together by the next.
    this.running ??= (async () => {
      while (this.restarts.completed < this.restarts.requested && !this.stopping) {
        const target = this.restarts.requested;
        this.log.info({ processes: this.slots.length }, "rolling restart: replacing every process, one at a time");
        const outcome = await this.replaceAll();
        this.restarts.completed = target;
        this.restarts.lastOk = outcome.ok;
        this.restarts.lastMessage = outcome.message;
        if (outcome.ok) this.log.info("rolling restart done");
        else this.log.error({ reason: outcome.message }, "rolling restart stopped");
        this.saveState();
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) if (slot.restartTimer) clearTimeout(slot.restartTimer);
    await Promise.all([...this.live].map((child) => this.drain(child)));
    if (!this.stateUnwritable) removeState(this.statePath);
  }

  /** One slot at a time: its new process ready before the old one drains. */
  private async replaceAll(): Promise<{ ok: boolean; message?: string }> {
    for (const slot of this.slots) {
      if (this.stopping) return { ok: false, message: "stopped during the rolling restart" };
      const old = slot.current;
      const fresh = this.spawn(slot);
      if (!(await this.readyWithin(fresh))) {
        if (!fresh.draining) await this.drain(fresh);
        return { ok: false, message: `the new ${slot.name} process did not become ready; the old one still serves` };
      }
      this.metrics.restarts.inc({ reason: "rolling" });
      // The old one may have crashed meanwhile: its restart is then no longer needed.
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      slot.current = fresh;
      slot.crashes = 0;
      this.saveState();
      if (old) {
        await this.drain(old);
        this.log.info({ slot: slot.name, old: old.pid, new: fresh.pid }, "rolling restart: process replaced");
      }
    }
    return { ok: true };
  }

  private spawn(slot: Slot): Child {
    let markReady: (ready: boolean) => void = () => {};
    const ready = new Promise<boolean>((resolve) => {
      markReady = resolve;
    });
    const subprocess = Bun.spawn([process.execPath, MAIN, "--role", slot.roles.join(","), "--supervised"], {
      stdio: ["ignore", "inherit", "inherit"],
      ipc: (message: ChildMessage) => {
        if (message.kind === "ready") {
          child.isReady = true;
          markReady(true);
        } else if (message.kind === "collected") this.metrics.collected(message.id, message.metrics);
        else if (message.kind === "scrape") this.answerScrape(child, message.id);
      },
    });
    const child: Child = {
      process: subprocess,
      pid: subprocess.pid,
      startedAt: Date.now(),
      ready,
      isReady: false,
      draining: false,
    };
    this.live.add(child);
    this.log.info({ slot: slot.name, child: child.pid }, "process started");
    subprocess.exited.then(() => {
      this.live.delete(child);
      markReady(false);
      this.onExit(slot, child);
    });
    return child;
  }

  private answerScrape(child: Child, id: number): void {
    const ready = this.slots.flatMap(({ current, roles }) =>
      current?.isReady
        ? [{ roles, collect: (collectId: number) => send(current, { kind: "collect", id: collectId }) }]
        : [],
    );
    this.metrics.aggregate(ready).then(
      (text) => send(child, { kind: "scraped", id, text }),
      (error) => this.log.error({ err: error }, "aggregating the processes' metrics failed"),
    );
  }

  private onExit(slot: Slot, child: Child): void {
    const { exitCode, signalCode: signal } = child.process;
    const about = { slot: slot.name, child: child.pid, exitCode, signal };
    if (child.draining || this.stopping) return void this.log.info(about, "process stopped");
    // A replacement that died before it was ready: the rolling restart reports it.
    if (slot.current !== child) return void this.log.error(about, "new process exited before ready");
    slot.current = undefined;
    if (Date.now() - child.startedAt >= STABLE_MS) slot.crashes = 0;
    slot.crashes += 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.crashes - 1));
    this.log.error({ ...about, restartInMs: delay, crashes: slot.crashes }, "process exited unexpectedly; restarting");
    this.saveState();
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.stopping || slot.current) return;
      this.metrics.restarts.inc({ reason: "crash" });
      slot.current = this.spawn(slot);
      this.saveState();
    }, delay);
  }

  private async drain(child: Child): Promise<void> {
    child.draining = true;
    child.process.kill("SIGTERM");
    const killer = setTimeout(() => {
      this.log.error({ child: child.pid }, "process did not stop in time: killed");
      child.process.kill("SIGKILL");
    }, this.config.http.shutdownTimeoutMs + KILL_GRACE_MS);
    await child.process.exited;
    clearTimeout(killer);
  }

  private readyWithin(child: Child): Promise<boolean> {
    return Promise.race([child.ready, Bun.sleep(START_TIMEOUT_MS).then(() => false)]);
  }

  private saveState(): void {
    if (this.stopping) return;
    try {
      writeState(this.statePath, {
        pid: process.pid,
        port: this.config.http.port,
        processes: this.slots.map((slot) => ({ slot: slot.name, roles: slot.roles, pid: slot.current?.pid ?? null })),
        rollingRestarts: this.restarts,
      });
    } catch (error) {
      // A read-only DATA_DIR (a container's image) costs `kit restart` only: SIGHUP still works.
      if (!this.stateUnwritable) {
        this.log.warn(
          { err: error, path: this.statePath },
          "state file not writable: `kit restart` cannot find this supervisor; send it SIGHUP instead",
        );
      }
      this.stateUnwritable = true;
    }
  }
}

function send(child: Child | undefined, message: SupervisorMessage): void {
  try {
    child?.process.send(message);
  } catch {
    // It is exiting: its exit handler takes it from here.
  }
}
