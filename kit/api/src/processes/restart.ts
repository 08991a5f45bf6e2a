// `bun run kit restart`: asks a running supervisor (found by its state file) for a rolling restart
// (SIGHUP) and waits until it is done.
import { processAlive, readState, type SupervisorState } from "./state-file";

export class RestartError extends Error {}

export interface RestartOutcome {
  before: SupervisorState["processes"];
  after: SupervisorState["processes"];
}

export async function requestRollingRestart(statePath: string, timeoutMs: number): Promise<RestartOutcome> {
  const state = readState(statePath);
  if (!state || !processAlive(state.pid)) {
    throw new RestartError(
      `no Kit supervisor is running for ${statePath}: start one with \`bun run start --processes N\` ` +
        "(or pass the --port it serves)",
    );
  }
  // The supervisor counts each request; this one is served once `completed` reaches it.
  const target = state.rollingRestarts.requested + 1;
  process.kill(state.pid, "SIGHUP");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await Bun.sleep(200);
    const now = readState(statePath);
    if (!now || !processAlive(state.pid)) throw new RestartError(`the supervisor (pid ${state.pid}) stopped`);
    if (now.rollingRestarts.completed >= target) {
      if (now.rollingRestarts.lastOk === false) {
        throw new RestartError(
          `rolling restart failed: ${now.rollingRestarts.lastMessage ?? "see the supervisor's log"}`,
        );
      }
      return { before: state.processes, after: now.processes };
    }
    if (Date.now() > deadline) {
      throw new RestartError(
        `the rolling restart is still running after ${timeoutMs / 1000} s; see the supervisor's log`,
      );
    }
  }
}
