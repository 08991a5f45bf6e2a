// Entry point: `bun src/main.ts --role api|worker|indexer|all` (default: all), and
// `--processes N|auto` (or KIT_PROCESSES) for N api processes on one port under a supervisor.
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, requireResolved, resolveProcessCount } from "./config";
import { processCount } from "./config-env";
import { createLogger } from "./infra/log";
import { linkToSupervisor } from "./processes/child";
import { SupervisorStartError, startSupervisor } from "./processes/supervisor";
import { ROLES, type Role, startKit } from "./runtime";
import { handleShutdownSignals } from "./shutdown";

const { values } = parseArgs({
  options: {
    role: { type: "string", default: "all" },
    processes: { type: "string" },
    // Internal: how the supervisor starts its processes (reusePort, an IPC channel to it).
    supervised: { type: "boolean", default: false },
  },
  strict: true,
});
const roles = parseRoles(values.role);

let config: ReturnType<typeof requireResolved>;
try {
  config = requireResolved(loadConfig());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const processes = values.processes === undefined ? config.http.processes : parseProcesses(values.processes);

if (values.supervised) await runSupervised();
else if (processes !== undefined) await runSupervisor(processes);
else await runAlone();

async function runAlone(): Promise<void> {
  const log = createLogger(config, { role: roles.join(",") });
  try {
    const kit = await startKit(config, roles, log);
    handleShutdownSignals(log, config.http.shutdownTimeoutMs, kit.stop);
  } catch (error) {
    log.fatal({ err: error }, "start-up failed");
    process.exit(1);
  }
}

/** One of a supervisor's processes: its pid in every log line tells it from its siblings. */
async function runSupervised(): Promise<void> {
  const log = createLogger(config, { role: roles.join(","), pid: process.pid });
  try {
    const link = linkToSupervisor(log);
    // Only api processes listen: they share the port. The worker and indexer beside them do not
    // (their metrics reach /metrics through the supervisor).
    const kit = await startKit(config, roles, log, {
      reusePort: true,
      listen: roles.includes("api"),
      scrape: link.scrape,
    });
    handleShutdownSignals(log, config.http.shutdownTimeoutMs, kit.stop);
    // A hang-up of the terminal reaches the whole process group: restarts are the supervisor's call.
    process.on("SIGHUP", () => {});
    link.ready(kit.metrics.registry);
  } catch (error) {
    log.fatal({ err: error }, "start-up failed");
    process.exit(1);
  }
}

async function runSupervisor(count: number): Promise<void> {
  const log = createLogger(config, { role: "supervisor", pid: process.pid });
  if (!roles.includes("api")) {
    console.error(
      "--processes multiplies the api role only; run the worker and indexer roles as processes of their own " +
        "(`--role worker`, `--role indexer`), without --processes",
    );
    process.exit(1);
  }
  let supervisor: Awaited<ReturnType<typeof startSupervisor>> | undefined;
  // Installed first: a SIGHUP during start-up would otherwise end the supervisor (its default action).
  process.on("SIGHUP", () => {
    if (!supervisor) return log.warn({ signal: "SIGHUP" }, "rolling restart ignored: still starting");
    log.info({ signal: "SIGHUP" }, "rolling restart requested");
    void supervisor.rollingRestart();
  });
  try {
    const running = await startSupervisor(config, roles, count, log);
    supervisor = running;
    // Past each process's own shutdown timeout, the supervisor kills it; this leaves it the time to.
    handleShutdownSignals(log, config.http.shutdownTimeoutMs + 5_000, () => running.stop());
  } catch (error) {
    if (error instanceof SupervisorStartError) log.fatal(error.message);
    else log.fatal({ err: error }, "start-up failed");
    process.exit(1);
  }
}

function parseProcesses(value: string): number {
  const parsed = processCount.safeParse(value);
  if (!parsed.success) {
    console.error(
      `--processes: ${parsed.error.issues[0]?.message ?? "invalid"}; e.g. --processes 4 or --processes auto`,
    );
    process.exit(1);
  }
  return resolveProcessCount(parsed.data);
}

function parseRoles(value: string): Role[] {
  if (value === "all") return [...ROLES];
  const roles = value.split(",").map((r) => r.trim());
  const unknown = roles.filter((r) => !ROLES.includes(r as Role));
  if (unknown.length > 0) {
    console.error(`--role: unknown role ${unknown.join(", ")}; expected one of ${[...ROLES, "all"].join(", ")}`);
    process.exit(1);
  }
  return roles as Role[];
}
