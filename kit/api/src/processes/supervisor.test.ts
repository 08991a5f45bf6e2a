// `main.ts --processes 2` as a real process tree on one port: both processes answer, /metrics sums
// them, a kill -9 is repaired, a rolling restart (`bun run kit restart`) refuses no request while a
// client loops, and SIGTERM lets an in-flight request finish. The tests run in order on one supervisor.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { eventually } from "../../test/eventually";
import { createTestEnvironment, startBlackHole } from "../../test/kit";
import { freePort } from "../dev/ports";
import { processAlive, readState, stateFilePath } from "./state-file";

const MAIN = join(import.meta.dir, "../main.ts");
const CLI = join(import.meta.dir, "../cli.ts");

let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
let hole: Awaited<ReturnType<typeof startBlackHole>>;
let dataDir: string;
let env: Record<string, string>;
let port: number;
let base: string;
let supervisor: Subprocess<"ignore", "pipe", "pipe">;
let output = "";
let statePath: string;

/** The log lines every process wrote so far (they share the supervisor's stdout). */
const logLines = () =>
  output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** The api processes' pids, from the supervisor's state file. */
const apiPids = () => (readState(statePath)?.processes ?? []).map((p) => p.pid);

/** A request on a connection of its own: the kernel picks a listening process for each. */
const freshRequest = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { connection: "close" } });

/** The sum of a counter's samples whose labels include `labels`, from the Prometheus text. */
function counterSum(text: string, name: string, labels: string): number {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

beforeAll(async () => {
  environment = await createTestEnvironment();
  hole = await startBlackHole();
  dataDir = await mkdtemp(join(tmpdir(), "kit-processes-"));
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  statePath = stateFilePath(dataDir, port);
  env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    ...environment.env,
    LOG_LEVEL: "info",
    PORT: String(port),
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    // /ready then takes READY_TIMEOUT_MS to answer: a request we can catch in flight.
    RPC_URL: hole.url,
    READY_TIMEOUT_MS: "1500",
    SHUTDOWN_TIMEOUT_MS: "5000",
  };
  supervisor = Bun.spawn(["bun", MAIN, "--role", "api", "--processes", "2"], {
    env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  void (async () => {
    const decoder = new TextDecoder();
    const reader = supervisor.stdout.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      output += decoder.decode(value, { stream: true });
    }
  })();
  void new Response(supervisor.stderr).text().then((text) => {
    output += text;
  });
  await eventually(
    "both api processes ready",
    () => {
      if (supervisor.exitCode !== null) throw new Error(`supervisor exited ${supervisor.exitCode}:\n${output}`);
      return apiPids().filter(Boolean).length === 2;
    },
    30_000,
  );
}, 60_000);

afterAll(async () => {
  if (supervisor.exitCode === null) {
    supervisor.kill("SIGKILL");
    for (const pid of apiPids()) if (pid && processAlive(pid)) process.kill(pid, "SIGKILL");
  }
  hole.stop();
  await environment.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

test("two processes serve one port, and /metrics counts the requests of both", async () => {
  const pids = apiPids();
  const count = (text: string) => counterSum(text, "kit_http_requests_total", 'route="unmatched"');
  const before = count(await (await freshRequest("/metrics")).text());
  for (let i = 0; i < 60; i++) expect((await freshRequest("/processes-test")).status).toBe(404);

  const served = new Set(
    logLines()
      .filter((l) => l.path === "/processes-test")
      .map((l) => l.pid),
  );
  expect([...served].sort()).toEqual([...pids].sort());
  // Whichever process answers the scrape, it reports both processes' requests, and says how many.
  for (let i = 0; i < 4; i++) {
    const text = await (await freshRequest("/metrics")).text();
    expect(count(text) - before).toBe(60);
    expect(text).toContain('kit_supervisor_processes{role="api"} 2');
    expect(text).toContain("kit_supervisor_scraped_processes 2");
  }
});

test("a process killed with kill -9 is started again, and the port answers throughout", async () => {
  const [victim, survivor] = apiPids() as [number, number];
  process.kill(victim, "SIGKILL");
  await eventually("the killed process gone", () => !processAlive(victim));
  for (let i = 0; i < 20; i++) expect((await freshRequest("/health")).status).toBe(200);
  await eventually(
    "a new process in the killed one's place",
    () => {
      const pids = apiPids();
      return pids.includes(survivor) && !pids.includes(victim) && pids.filter(Boolean).length === 2;
    },
    15_000,
  );
  const crash = logLines().find((l) => l.msg === "process exited unexpectedly; restarting");
  expect(crash).toMatchObject({ child: victim, signal: "SIGKILL", slot: expect.stringMatching(/^api-/) });
});

test("a rolling restart (`bun run kit restart`) replaces every process while a client loops, refusing none", async () => {
  const before = apiPids();
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  // A keep-alive connection and fresh ones, looping (with a breath, so that the new processes start
  // in reasonable time on a small machine).
  const loops = Array.from({ length: 2 }, async (_, i) => {
    while (!stop) {
      await Bun.sleep(2);
      try {
        const response = i % 2 === 0 ? await fetch(`${base}/health`) : await freshRequest("/health");
        await response.arrayBuffer();
        if (response.status === 200) ok += 1;
        else failures.push(`HTTP ${response.status}`);
      } catch (error) {
        failures.push(String(error));
      }
    }
  });
  const cli = Bun.spawn(["bun", CLI, "restart", "--timeout", "60"], { env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(cli.stdout).text(),
    new Response(cli.stderr).text(),
    cli.exited,
  ]);
  await Bun.sleep(200);
  stop = true;
  await Promise.all(loops);

  expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(stdout).toContain("rolling restart done");
  expect(failures).toEqual([]);
  expect(ok).toBeGreaterThan(50);
  const after = apiPids();
  expect(after.filter(Boolean)).toHaveLength(2);
  for (const pid of before) expect(after).not.toContain(pid);
  for (const pid of before) expect(processAlive(pid as number)).toBe(false);
  expect(readState(statePath)?.rollingRestarts).toMatchObject({ requested: 1, completed: 1, lastOk: true });
}, 60_000);

test("SIGTERM drains every process: an in-flight request finishes, then all exit", async () => {
  const pids = apiPids() as number[];
  const inFlight = fetch(`${base}/ready`);
  await Bun.sleep(300);
  supervisor.kill("SIGTERM");
  const response = await inFlight;
  expect(response.status).toBe(503);
  expect(((await response.json()) as { failing: string[] }).failing).toEqual(["chain"]);
  expect(await supervisor.exited).toBe(0);
  for (const pid of pids) expect(processAlive(pid)).toBe(false);
  expect(readState(statePath)).toBeUndefined();
  expect(
    await freshRequest("/health").then(
      () => "answered",
      () => "refused",
    ),
  ).toBe("refused");
});
