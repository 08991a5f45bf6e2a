// PostgreSQL's servers and PgBouncer refuse to run as root: a test running as root (CI containers)
// starts them as the `postgres` user instead, through setpriv (no extra process between).
const isRoot = () => process.getuid?.() === 0;

/** Why a server cannot be started from here, or undefined when it can. */
export function postgresUserMissing(): string | undefined {
  if (!isRoot()) return undefined;
  if (Bun.spawnSync(["id", "-u", "postgres"]).exitCode !== 0)
    return "running as root with no `postgres` user to start the server as";
  if (!Bun.which("setpriv")) return "running as root without setpriv (util-linux) to drop to the `postgres` user";
  return undefined;
}

/** `command` as run by the `postgres` user when this process is root; as is otherwise. */
export function asPostgresUser(command: string[]): string[] {
  if (!isRoot()) return command;
  return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", ...command];
}
