// The real entry point as a child process: `bun src/main.ts --role api` (or another role) on a free
// port with a given environment, ready once /health answers; `stop` sends SIGTERM and, past a
// deadline, SIGKILL.
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../src/dev/ports";

export interface ServedKit {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  process: Subprocess<"ignore", "ignore", "pipe">;
  /** What the process wrote to stderr so far (start-up failures, crashes). */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`; resolves to the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

const MAIN = join(import.meta.dir, "../src/main.ts");

export async function serveKit(
  env: Record<string, string>,
  options: { port?: number; readyTimeoutMs?: number; role?: string } = {},
): Promise<ServedKit> {
  const port = options.port ?? (await freePort());
  const child = Bun.spawn(["bun", MAIN, "--role", options.role ?? "api"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  // Drained continuously, so a chatty process never blocks on a full pipe.
  let errors = "";
  const drained = (async () => {
    const reader = child.stderr.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      errors += decoder.decode(value, { stream: true });
    }
  })().catch(() => {});

  const url = `http://127.0.0.1:${port}`;
  const stop = async (timeoutMs = 10_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await child.exited;
      clearTimeout(timer);
    }
    await drained;
    return child.exitCode;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    const healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop(2_000);
      throw new Error(`kit on port ${port} did not become healthy (exit ${child.exitCode}):\n${errors}`);
    }
    await Bun.sleep(50);
  }
  return { url, port, process: child, stderr: () => errors, stop };
}
