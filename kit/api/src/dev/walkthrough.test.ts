// The first hour as CI sees it: `bun run dev`'s entry point started as a terminal would (its own
// process group, its own anvil and data folder), `bun run kit demo:walkthrough` green against it,
// then one Ctrl-C to the whole group stops everything gracefully.
import { afterAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestEnvironment } from "../../test/kit";
import { freePort } from "./ports";

test("the walkthrough runs green against the dev stack, and one Ctrl-C stops it gracefully", async () => {
  const environment = await createTestEnvironment();
  const dataDir = await mkdtemp(join(tmpdir(), "kit-dev-"));
  afterAll(async () => {
    await environment.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });
  const { RPC_URL: _external, CHAIN_DEPLOYMENT_FILE: _file, ...services } = environment.env;
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? "",
    ...services,
    NODE_ENV: "development",
    LOG_LEVEL: "info",
    DATABASE_MIGRATE: "true",
    PORT: String(port),
    ANVIL_PORT: String(await freePort()),
    DATA_DIR: dataDir,
  };
  // Through `bun run`, as the README starts it: bun run forwards the terminal's SIGINT to a child
  // that received it from the group already, which must not cut the graceful stop short.
  const stack = spawn("bun", ["run", "--cwd", join(import.meta.dir, "../.."), "dev"], {
    env,
    detached: true,
    stdio: "pipe",
  });
  let output = "";
  stack.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  stack.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => stack.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes("is running")) {
    if (Date.now() > deadline || stack.exitCode !== null) throw new Error(`dev stack did not start:\n${output}`);
    await Bun.sleep(100);
  }

  const walkthrough = Bun.spawn(["bun", join(import.meta.dir, "..", "cli.ts"), "demo:walkthrough"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [said, complaint, code] = await Promise.all([
    new Response(walkthrough.stdout).text(),
    new Response(walkthrough.stderr).text(),
    walkthrough.exited,
  ]);
  expect({ code, complaint }).toEqual({ code: 0, complaint: "" });
  expect(said).toContain(`see it at http://localhost:${port}/console/applications/`);
  expect(said).toContain("registered in the identity registry");
  expect(said).toContain("✓ done");

  // A terminal's Ctrl-C: SIGINT to every process of the foreground group.
  const stopping = output.length;
  process.kill(-(stack.pid as number), "SIGINT");
  expect(await exited).toBe(0);
  const shutdown = output.slice(stopping);
  expect(shutdown).toContain("stopped");
  expect(shutdown).not.toContain("second signal");
  expect(shutdown).not.toContain("ERROR");
}, 120_000);
