// `main.ts --processes 2` as a real process tree on one port: both processes answer, /metrics sums
// them, a kill -9 is repaired, a rolling restart (`bun run kit restart`) refuses no request while a
// client loops, and SIGTERM lets an in-flight request finish. The tests run in order on one supervisor.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { eventually } from "../../test/eventually";
import { createTestEnvironment, startBlackHole } from "../../test/kit";
import { failuresOfTheRestart, type SupervisedKit, startSupervisedKit } from "../../test/supervised";
import { processAlive } from "./state-file";

const MAIN = join(import.meta.dir, "../main.ts");
const CLI = join(import.meta.dir, "../cli.ts");

let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
let hole: Awaited<ReturnType<typeof startBlackHole>>;
let kit: SupervisedKit;

/** A request on a connection of its own: the kernel picks a listening process for each. */
const freshRequest = (path: string) => fetch(`${kit.url}${path}`, { headers: { connection: "close" } });

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
  kit = await startSupervisedKit(
    {
      ...environment.env,
      // /ready then takes READY_TIMEOUT_MS to answer: a request we can catch in flight.
      RPC_URL: hole.url,
      READY_TIMEOUT_MS: "1500",
      SHUTDOWN_TIMEOUT_MS: "5000",
    },
    ["--role", "api", "--processes", "2"],
    2,
  );
}, 60_000);

afterAll(async () => {
  await kit?.cleanup();
  hole.stop();
  await environment.cleanup();
});

test("two processes serve one port, and /metrics counts the requests of both", async () => {
  const pids = kit.pids();
  const count = (text: string) => counterSum(text, "kit_http_requests_total", 'route="unmatched"');
  const before = count(await (await freshRequest("/metrics")).text());
  for (let i = 0; i < 60; i++) expect((await freshRequest("/processes-test")).status).toBe(404);

  const served = new Set(
    kit
      .logLines()
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
  const [victim, survivor] = kit.pids() as [number, number];
  process.kill(victim, "SIGKILL");
  await eventually("the killed process gone", () => !processAlive(victim));
  for (let i = 0; i < 20; i++) expect((await freshRequest("/health")).status).toBe(200);
  await eventually(
    "a new process in the killed one's place",
    () => {
      const pids = kit.pids();
      return pids.includes(survivor) && !pids.includes(victim) && pids.filter(Boolean).length === 2;
    },
    15_000,
  );
  const crash = kit.logLines().find((l) => l.msg === "process exited unexpectedly; restarting");
  expect(crash).toMatchObject({ child: victim, signal: "SIGKILL", slot: expect.stringMatching(/^api-/) });
});

test("a rolling restart (`bun run kit restart`) replaces every process while a client loops, refusing none", async () => {
  const before = kit.pids();
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  // A keep-alive connection and fresh ones, looping (with a breath, so that the new processes start
  // in reasonable time on a small machine).
  const loops = Array.from({ length: 2 }, async (_, i) => {
    const kind = i % 2 === 0 ? "keep-alive" : "fresh";
    while (!stop) {
      await Bun.sleep(2);
      try {
        const response = i % 2 === 0 ? await fetch(`${kit.url}/health`) : await freshRequest("/health");
        await response.arrayBuffer();
        if (response.status === 200) ok += 1;
        else failures.push(`${kind}: HTTP ${response.status}`);
      } catch (error) {
        failures.push(`${kind}: ${error}`);
      }
    }
  });
  const cli = Bun.spawn(["bun", CLI, "restart", "--timeout", "60"], { env: kit.env, stdout: "pipe", stderr: "pipe" });
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
  expect(failuresOfTheRestart(failures)).toEqual([]);
  expect(ok).toBeGreaterThan(50);
  const after = kit.pids();
  expect(after.filter(Boolean)).toHaveLength(2);
  for (const pid of before) expect(after).not.toContain(pid);
  for (const pid of before) expect(processAlive(pid as number)).toBe(false);
  expect(kit.state()?.rollingRestarts).toMatchObject({ requested: 1, completed: 1, lastOk: true });
}, 60_000);

test("a second supervisor for the same port refuses to start; `kit restart` names a port with none", async () => {
  const second = Bun.spawnSync(["bun", MAIN, "--role", "api", "--processes", "1"], { env: kit.env });
  expect(second.exitCode).toBe(1);
  expect(second.stdout.toString()).toContain(`already serves port ${new URL(kit.url).port}`);

  const none = Bun.spawnSync(["bun", CLI, "restart", "--port", "1"], { env: kit.env });
  expect(none.exitCode).toBe(1);
  expect(none.stderr.toString()).toContain("no Kit supervisor is running for");
});

test("SIGTERM drains every process: an in-flight request finishes, then all exit", async () => {
  const pids = kit.pids() as number[];
  const inFlight = fetch(`${kit.url}/ready`);
  await Bun.sleep(300);
  kit.supervisor.kill("SIGTERM");
  const response = await inFlight;
  expect(response.status).toBe(503);
  expect(((await response.json()) as { failing: string[] }).failing).toEqual(["chain"]);
  expect(await kit.supervisor.exited).toBe(0);
  for (const pid of pids) expect(processAlive(pid)).toBe(false);
  expect(kit.state()).toBeUndefined();
  expect(
    await freshRequest("/health").then(
      () => "answered",
      () => "refused",
    ),
  ).toBe("refused");
});
