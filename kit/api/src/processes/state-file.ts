// The supervisor's state file: where `bun run kit restart` finds it (its pid), and what it reports
// back (its processes, how far the rolling restarts have gone). One per port: <DATA_DIR>/run/api-<PORT>.json.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface SupervisorState {
  pid: number;
  port: number;
  processes: { slot: string; roles: string[]; pid: number | null }[];
  rollingRestarts: {
    /** SIGHUPs received (and restarts asked otherwise). */
    requested: number;
    /** Every request up to this one has been served by a finished rolling restart. */
    completed: number;
    /** How the last one ended: false when a new process never became ready (the old ones kept serving). */
    lastOk: boolean | null;
    lastMessage?: string;
  };
}

export function stateFilePath(dataDir: string, port: number): string {
  return join(dataDir, "run", `api-${port}.json`);
}

export function readState(path: string): SupervisorState | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as SupervisorState;
  } catch {
    return undefined;
  }
}

/** Whole or not at all: a reader never sees half a file. */
export function writeState(path: string, state: SupervisorState): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
