// A PgBouncer of a test file's own, in transaction mode, on a free port in front of the shared
// Postgres (127.0.0.1:5432): every database name is passed through to the server's database of
// that name, so each file's cloned database is reachable through it.
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../src/dev/ports";
import { asPostgresUser, postgresUserMissing } from "./postgres-user";

const PGBOUNCER = "/usr/sbin/pgbouncer";

/** Why PgBouncer tests cannot run here, or undefined when they can. */
export function pgBouncerMissing(): string | undefined {
  if (!existsSync(PGBOUNCER)) return `${PGBOUNCER} is absent (apt-get install -y pgbouncer; .ci/run does)`;
  return postgresUserMissing();
}

/** PgBouncer's version as [major, minor], e.g. [1, 18]. */
function pgBouncerVersion(): [number, number] {
  const text = Bun.spawnSync([PGBOUNCER, "--version"]).stdout.toString();
  const match = text.match(/PgBouncer (\d+)\.(\d+)/);
  if (!match) throw new Error(`cannot read PgBouncer's version from: ${text.slice(0, 80)}`);
  return [Number(match[1]), Number(match[2])];
}

export interface PgBouncer {
  port: number;
  /** `directUrl` (a database on 127.0.0.1:5432) as reached through this PgBouncer. */
  urlFor(directUrl: string): string;
  /** Stops it and deletes its folder. */
  stop(): Promise<void>;
}

/**
 * Started before it is returned. `poolSize` server connections per database and user: with 1,
 * every client shares one server session, so whatever leaks from one transaction to the next
 * (a session lock, a named prepared statement) shows at once.
 */
export async function startPgBouncer(options: { poolSize?: number } = {}): Promise<PgBouncer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "kit-pgbouncer-"));
  const [major, minor] = pgBouncerVersion();
  await writeFile(join(dir, "users.txt"), '"postgres" ""\n');
  await writeFile(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      "* = host=127.0.0.1 port=5432",
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "users.txt")}`,
      "pool_mode = transaction",
      `default_pool_size = ${options.poolSize ?? 4}`,
      "max_client_conn = 200",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      // From 1.21 PgBouncer can keep protocol-level prepared statements across server connections;
      // off here, as in the 1.18 Debian ships, so the tests show what Kit does without it.
      ...(major > 1 || minor >= 21 ? ["max_prepared_statements = 0"] : []),
      "",
    ].join("\n"),
  );
  await chmod(dir, 0o777);
  const server: Subprocess = Bun.spawn(asPostgresUser([PGBOUNCER, join(dir, "pgbouncer.ini")]), {
    stdout: "ignore",
    stderr: "pipe",
  });
  const stop = async () => {
    server.kill("SIGTERM");
    await server.exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5_000;
  for (;;) {
    const probe = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).catch(() => undefined);
    if (probe) {
      probe.end();
      break;
    }
    if (server.exitCode !== null || Date.now() > deadline) {
      const log = await Bun.file(join(dir, "pgbouncer.log"))
        .text()
        .catch(() => "");
      await stop();
      throw new Error(`pgbouncer did not start: ${log.slice(-500)}`);
    }
    await Bun.sleep(25);
  }
  return {
    port,
    urlFor(directUrl) {
      const url = new URL(directUrl);
      url.host = `127.0.0.1:${port}`;
      return url.toString();
    },
    stop,
  };
}
