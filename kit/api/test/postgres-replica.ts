// A PostgreSQL primary and a streaming standby of a test file's own, on free ports in a temp folder:
// `initdb` the primary (wal_level=replica), migrate a database on it, `pg_basebackup -R` the
// standby from it and start that. For tests of what reads the replica (DATABASE_READ_URL).
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { freePort } from "../src/dev/ports";
import { createDatabase, migrateDatabase } from "../src/infra/db";
import type { Logger } from "../src/infra/log";
import { asPostgresUser, postgresUserMissing } from "./postgres-user";

const TOOLS = ["initdb", "pg_ctl", "pg_basebackup"] as const;

/**
 * The folder holding initdb, pg_ctl and pg_basebackup of one version: PATH's initdb (links
 * resolved), else Debian's newest /usr/lib/postgresql/<version>/bin.
 */
function binDir(): string | undefined {
  const onPath = Bun.which("initdb");
  const debian = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql")
        .filter((version) => /^\d+$/.test(version))
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => `/usr/lib/postgresql/${version}/bin`)
    : [];
  const candidates = [...(onPath ? [dirname(realpathSync(onPath))] : []), ...debian];
  return candidates.find((dir) => TOOLS.every((tool) => existsSync(join(dir, tool))));
}

/** Why a replicated pair cannot be started here, or undefined when it can. */
export function replicaMissing(): string | undefined {
  if (!binDir()) return `PostgreSQL's ${TOOLS.join(", ")} are not all on PATH or in /usr/lib/postgresql/<version>/bin`;
  return postgresUserMissing();
}

export interface ReplicatedPostgres {
  /** Database `database` on the primary, migrated. */
  primaryUrl: string;
  /** The same database on the standby (read-only, streaming from the primary). */
  standbyUrl: string;
  /** Stops applying WAL on the standby (it keeps receiving it): the standby lags until resumed. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Until the standby has applied everything the primary had written when called. */
  waitForReplay(timeoutMs?: number): Promise<void>;
  /** Stops the standby (fast shutdown); `stop` still cleans up. */
  stopStandby(): Promise<void>;
  /** Stops both servers and deletes their folders. */
  stop(): Promise<void>;
}

async function run(command: string[], cwd: string): Promise<void> {
  const child = Bun.spawn(asPostgresUser(command), { cwd, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`${command.slice(0, 2).join(" ")} failed (${code}): ${(err || out).slice(-600)}`);
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

export async function startReplicatedPostgres(options: {
  migrationsDir: string;
  log: Logger;
  database?: string;
}): Promise<ReplicatedPostgres> {
  const bin = binDir();
  if (!bin) throw new Error(replicaMissing());
  const tool = (name: (typeof TOOLS)[number]) => join(bin, name);
  const dir = await mkdtemp(join(tmpdir(), "kit-replica-"));
  // The servers run as `postgres` under root: they create their folders in this one.
  await chmod(dir, 0o777);
  const primary = join(dir, "primary");
  const standby = join(dir, "standby");
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const database = options.database ?? "kit";
  const url = (port: number, name = database) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  // Small, unsynced and local: a test's server, started and gone within the file.
  const settings = (port: number) =>
    [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${dir}`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c shared_buffers=16MB",
      "-c max_connections=40",
      "-c wal_level=replica",
      "-c max_wal_senders=4",
    ].join(" ");
  const started: string[] = [];
  const stop = async () => {
    for (const data of started.reverse())
      await run([tool("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], dir).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run([tool("initdb"), "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], dir);
    await run(
      [tool("pg_ctl"), "-D", primary, "-l", join(dir, "primary.log"), "-o", settings(primaryPort), "-w", "start"],
      dir,
    );
    started.push(primary);
    await query(url(primaryPort, "postgres"), `create database "${database}"`);
    const { pool } = createDatabase({ db: { url: url(primaryPort), poolMax: 1 } }, options.log);
    try {
      await migrateDatabase(pool, options.migrationsDir, options.log);
    } finally {
      await pool.end();
    }
    // -R writes primary_conninfo and standby.signal: it starts as a standby streaming from the primary.
    await run(
      [
        tool("pg_basebackup"),
        "-h",
        "127.0.0.1",
        "-p",
        String(primaryPort),
        "-U",
        "postgres",
        "-D",
        standby,
        "-R",
        "-X",
        "stream",
        "--no-sync",
        // The default spread checkpoint paces itself over minutes; a fast one takes milliseconds here.
        "--checkpoint=fast",
      ],
      dir,
    );
    await run(
      [tool("pg_ctl"), "-D", standby, "-l", join(dir, "standby.log"), "-o", settings(standbyPort), "-w", "start"],
      dir,
    );
    started.push(standby);
  } catch (error) {
    await stop();
    throw error;
  }

  const standbyUrl = url(standbyPort);
  const replicated: ReplicatedPostgres = {
    primaryUrl: url(primaryPort),
    standbyUrl,
    async pauseReplay() {
      await query(standbyUrl, "select pg_wal_replay_pause()");
      const deadline = Date.now() + 5_000;
      while (
        (await query<{ s: string }>(standbyUrl, "select pg_get_wal_replay_pause_state() as s"))[0]?.s !== "paused"
      ) {
        if (Date.now() > deadline) throw new Error("the standby did not pause its replay");
        await Bun.sleep(20);
      }
    },
    async resumeReplay() {
      await query(standbyUrl, "select pg_wal_replay_resume()");
    },
    async waitForReplay(timeoutMs = 10_000) {
      // The insert position, not the write position: the primary runs with synchronous_commit=off,
      // so a commit that has returned may not be written yet (the WAL writer sends it within
      // wal_writer_delay), and waiting for the write position would miss it.
      const [target] = await query<{ lsn: string }>(
        url(primaryPort),
        "select pg_current_wal_insert_lsn()::text as lsn",
      );
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await query<{ caught: boolean }>(
          standbyUrl,
          `select pg_last_wal_replay_lsn() >= '${target?.lsn}'::pg_lsn as caught`,
        );
        if (row?.caught) return;
        if (Date.now() > deadline) throw new Error(`the standby did not replay up to ${target?.lsn}`);
        await Bun.sleep(20);
      }
    },
    async stopStandby() {
      await run([tool("pg_ctl"), "-D", standby, "-m", "fast", "-w", "stop"], dir);
    },
    stop,
  };
  return replicated;
}
