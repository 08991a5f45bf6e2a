// The real entry point as a process: start-up, a request's log line, graceful shutdown.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { createTestEnvironment, startBlackHole } from "../test/kit";
import { freePort } from "./dev/ports";

test("SIGTERM lets an in-flight request finish, refuses new ones, closes everything and exits 0", async () => {
  const environment = await createTestEnvironment();
  const hole = await startBlackHole();
  afterAll(async () => {
    hole.stop();
    await environment.cleanup();
  });
  const port = await freePort();
  const child = Bun.spawn(["bun", join(import.meta.dir, "main.ts"), "--role", "api"], {
    env: {
      PATH: process.env.PATH ?? "",
      ...environment.env,
      LOG_LEVEL: "info",
      PORT: String(port),
      DATABASE_MIGRATE: "true",
      // /ready then takes READY_TIMEOUT_MS to answer: a request we can catch in flight.
      RPC_URL: hole.url,
      READY_TIMEOUT_MS: "1500",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (
    !(await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(await new Response(child.stderr).text());
    await Bun.sleep(50);
  }

  const inFlight = fetch(`${base}/ready`);
  await Bun.sleep(300);
  child.kill("SIGTERM");
  await Bun.sleep(100);
  const refused = await fetch(`${base}/health`).then(
    () => false,
    () => true,
  );
  const response = await inFlight;
  expect(response.status).toBe(503);
  expect(((await response.json()) as { failing: string[] }).failing).toEqual(["chain"]);
  expect(refused).toBe(true);
  expect(await child.exited).toBe(0);

  const lines = (await new Response(child.stdout).text())
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const messages = lines.map((l) => l.msg);
  expect(messages).toEqual(
    expect.arrayContaining(["database migrations applied", "api listening", "shutting down", "stopped"]),
  );
  const request = lines.find((l) => l.msg === "request" && l.path === "/ready");
  expect(request?.reqId).toEqual(expect.any(String));
  expect(request?.status).toBe(503);
});
