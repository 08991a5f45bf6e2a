// A redis-server of a test file's own, on a free port, for what must never happen to the shared one
// (127.0.0.1:6379): stopping it, pausing it (SIGSTOP), flushing it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../src/dev/ports";

export interface PrivateRedis {
  url: string;
  port: number;
  /** Starts it (again); a no-op while it runs. */
  start(): Promise<void>;
  /** Kills it; with `appendOnly`, a start brings its data back. */
  stop(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Runs a redis-cli command against it (e.g. FLUSHALL). */
  cli(...args: string[]): string;
  /** Stops it and deletes its folder: register it with afterAll after the kits using it (their clean-up comes first). */
  remove(): Promise<void>;
}

/**
 * Started before it is returned. `appendOnly` keeps
 * an append-only file, so a restart brings back what Redis held (as after a crash or a network
 * partition); without it a restart starts empty (a Redis without persistence).
 */
export async function startPrivateRedis(options: { appendOnly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "kit-redis-"));
  let server: Subprocess | undefined;
  const cli = (...args: string[]) =>
    Bun.spawnSync(["redis-cli", "-p", String(port), ...args])
      .stdout.toString()
      .trim();
  const signal = (name: NodeJS.Signals) => {
    if (!server) throw new Error("the private Redis is not running");
    server.kill(name);
  };
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      if (server) return;
      server = Bun.spawn(
        ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""].concat(
          options.appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : [],
        ),
        { stdout: "ignore", stderr: "ignore" },
      );
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        if (cli("ping") === "PONG") return;
        await Bun.sleep(25);
      }
      throw new Error("the private redis-server did not start");
    },
    async stop() {
      const running = server;
      server = undefined;
      running?.kill("SIGCONT");
      running?.kill();
      await running?.exited;
    },
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    cli,
    async remove() {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
