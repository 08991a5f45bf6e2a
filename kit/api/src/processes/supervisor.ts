// `main.ts --processes N`: N api processes on one port (each listens with SO_REUSEPORT, the kernel
// spreads connections), started, restarted after a crash, replaced one at a time on SIGHUP and
// drained on SIGTERM by this process, which serves nothing itself. The worker and indexer roles,
// when asked for too, run in one more process of their own: they are not multiplied.
import { join } from "node:path";
import type { Subprocess } from "bun";
import { AggregatorRegistry, Counter, Gauge, Registry } from "prom-client";
import type { ResolvedConfig } from "../config";
import type { Logger } from "../infra/log";
import type { Role } from "../runtime";
import type { ChildMessage, MetricsJson, SupervisorMessage } from "./messages";
import { processAlive, readState, removeState, type SupervisorState, stateFilePath, writeState } from "./state-file";

const MAIN = join(import.meta.dir, "../main.ts");

/** A crashed process is restarted after 250 ms, then 500 ms, 1 s, … at most 30 s between tries. */
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A process that served this long before it crashed starts the backoff over. */
const STABLE_MS = 30_000;
/** A process not ready by then has failed to start (migrations, a dependency down at start). */
const START_TIMEOUT_MS = 60_000;
/** A scrape waits this long for each process's metrics; the late ones are left out of that scrape. */
const COLLECT_TIMEOUT_MS = 2_000;
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

  const slots: Slot[] = Array.from({ length: processes }, (_, i) => ({
    name: `api-${i + 1}`,
    roles: ["api"],
    crashes: 0,
  }));
  const others = roles.filter((role) => role !== "api");
  if (others.length > 0) slots.push({ name: others.join(","), roles: others, crashes: 0 });

  const live = new Set<Child>();
  let stopping = false;
  const restarts: SupervisorState["rollingRestarts"] = { requested: 0, completed: 0, lastOk: null };

  const registry = new Registry();
  const processGauge = new Gauge({
    name: "kit_supervisor_processes",
    help: "Processes of the supervisor that are ready, by role",
    labelNames: ["role"],
    registers: [registry],
  });
  const restartCounter = new Counter({
    name: "kit_supervisor_restarts_total",
    help: "Processes the supervisor started again: after a crash, or replaced in a rolling restart",
    labelNames: ["reason"],
    registers: [registry],
  });
  const scrapedGauge = new Gauge({
    name: "kit_supervisor_scraped_processes",
    help: "Processes whose metrics this scrape aggregates (fewer than kit_supervisor_processes: some did not answer in time)",
    registers: [registry],
  });

  let stateUnwritable = false;
  const saveState = () => {
    if (stopping) return;
    try {
      writeState(statePath, {
        pid: process.pid,
        port: config.http.port,
        processes: slots.map((slot) => ({ slot: slot.name, roles: slot.roles, pid: slot.current?.pid ?? null })),
        rollingRestarts: restarts,
      });
    } catch (error) {
      // A read-only DATA_DIR (a container's image) costs `kit restart` only: SIGHUP still works.
      if (!stateUnwritable) {
        log.warn(
          { err: error, path: statePath },
          "state file not writable: `kit restart` cannot find this supervisor; send it SIGHUP instead",
        );
      }
      stateUnwritable = true;
    }
  };

  // Metrics: a scrape lands on any api process; it asks here, and every process's are aggregated
  // the way prom-client's cluster aggregation does (counters and histograms summed, gauges by
  // each metric's aggregator).
  let nextCollectId = 1;
  const collecting = new Map<number, (metrics: MetricsJson) => void>();
  const aggregate = async (): Promise<string> => {
    const ready = slots.flatMap((slot) => (slot.current?.isReady ? [slot] : []));
    for (const role of ["api", ...others]) processGauge.set({ role }, 0);
    for (const slot of ready) for (const role of slot.roles) processGauge.inc({ role });
    const answers = await Promise.all(
      ready.map(
        (slot) =>
          new Promise<MetricsJson | undefined>((resolve) => {
            const id = nextCollectId++;
            const timer = setTimeout(() => {
              collecting.delete(id);
              resolve(undefined);
            }, COLLECT_TIMEOUT_MS);
            collecting.set(id, (metrics) => {
              clearTimeout(timer);
              collecting.delete(id);
              resolve(metrics);
            });
            send(slot.current, { kind: "collect", id });
          }),
      ),
    );
    const collected = answers.filter((metrics): metrics is MetricsJson => metrics !== undefined);
    scrapedGauge.set(collected.length);
    return AggregatorRegistry.aggregate([...collected, await registry.getMetricsAsJSON()]).metrics();
  };

  const send = (child: Child | undefined, message: SupervisorMessage) => {
    try {
      child?.process.send(message);
    } catch {
      // It is exiting: its exit handler takes it from here.
    }
  };

  const spawn = (slot: Slot): Child => {
    let markReady: (ready: boolean) => void = () => {};
    const ready = new Promise<boolean>((resolve) => {
      markReady = resolve;
    });
    const subprocess = Bun.spawn([process.execPath, MAIN, "--role", slot.roles.join(","), "--supervised"], {
      stdio: ["ignore", "inherit", "inherit"],
      ipc(message: ChildMessage) {
        if (message.kind === "ready") {
          child.isReady = true;
          markReady(true);
        } else if (message.kind === "collected") collecting.get(message.id)?.(message.metrics);
        else if (message.kind === "scrape") {
          aggregate().then(
            (text) => send(child, { kind: "scraped", id: message.id, text }),
            (error) => log.error({ err: error }, "aggregating the processes' metrics failed"),
          );
        }
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
    live.add(child);
    log.info({ slot: slot.name, child: child.pid }, "process started");
    subprocess.exited.then(() => {
      live.delete(child);
      markReady(false);
      onExit(slot, child);
    });
    return child;
  };

  const onExit = (slot: Slot, child: Child) => {
    const { exitCode, signalCode } = child.process;
    if (child.draining || stopping) {
      log.info({ slot: slot.name, child: child.pid, exitCode, signal: signalCode }, "process stopped");
      return;
    }
    if (slot.current !== child) {
      // A replacement that died before it was ready: the rolling restart reports it.
      log.error({ slot: slot.name, child: child.pid, exitCode, signal: signalCode }, "new process exited before ready");
      return;
    }
    slot.current = undefined;
    if (Date.now() - child.startedAt >= STABLE_MS) slot.crashes = 0;
    slot.crashes += 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.crashes - 1));
    log.error(
      { slot: slot.name, child: child.pid, exitCode, signal: signalCode, restartInMs: delay, crashes: slot.crashes },
      "process exited unexpectedly; restarting",
    );
    saveState();
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (stopping || slot.current) return;
      restartCounter.inc({ reason: "crash" });
      slot.current = spawn(slot);
      saveState();
    }, delay);
  };

  const drain = async (child: Child): Promise<void> => {
    child.draining = true;
    child.process.kill("SIGTERM");
    const killer = setTimeout(() => {
      log.error({ child: child.pid }, "process did not stop in time: killed");
      child.process.kill("SIGKILL");
    }, config.http.shutdownTimeoutMs + KILL_GRACE_MS);
    await child.process.exited;
    clearTimeout(killer);
  };

  const readyWithin = (child: Child) => Promise.race([child.ready, Bun.sleep(START_TIMEOUT_MS).then(() => false)]);

  // Start-up: one at a time.
  for (const slot of slots) {
    const child = spawn(slot);
    slot.current = child;
    if (!(await readyWithin(child))) {
      stopping = true;
      await Promise.all([...live].map(drain));
      throw new SupervisorStartError(`${slot.name} (pid ${child.pid}) did not start: see its log lines above`);
    }
  }
  saveState();
  log.info(
    { port: config.http.port, children: slots.map((slot) => slot.current?.pid) },
    "supervisor: every process ready",
  );

  const replaceAll = async (): Promise<{ ok: boolean; message?: string }> => {
    for (const slot of slots) {
      if (stopping) return { ok: false, message: "stopped during the rolling restart" };
      const old = slot.current;
      const fresh = spawn(slot);
      if (!(await readyWithin(fresh))) {
        if (!fresh.draining) await drain(fresh);
        return { ok: false, message: `the new ${slot.name} process did not become ready; the old one still serves` };
      }
      restartCounter.inc({ reason: "rolling" });
      // The old one may have crashed meanwhile: its restart is then no longer needed.
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      slot.current = fresh;
      slot.crashes = 0;
      saveState();
      if (old) {
        await drain(old);
        log.info({ slot: slot.name, old: old.pid, new: fresh.pid }, "rolling restart: process replaced");
      }
    }
    return { ok: true };
  };

  let running: Promise<void> | undefined;
  const rollingRestart = (): Promise<void> => {
    restarts.requested += 1;
    saveState();
    // Requests that arrive during one are served together by the next.
    running ??= (async () => {
      while (restarts.completed < restarts.requested && !stopping) {
        const target = restarts.requested;
        log.info({ processes: slots.length }, "rolling restart: replacing every process, one at a time");
        const outcome = await replaceAll();
        restarts.completed = target;
        restarts.lastOk = outcome.ok;
        restarts.lastMessage = outcome.message;
        if (outcome.ok) log.info("rolling restart done");
        else log.error({ reason: outcome.message }, "rolling restart stopped");
        saveState();
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    rollingRestart,
    async stop() {
      stopping = true;
      for (const slot of slots) if (slot.restartTimer) clearTimeout(slot.restartTimer);
      await Promise.all([...live].map(drain));
      if (!stateUnwritable) removeState(statePath);
    },
  };
}
