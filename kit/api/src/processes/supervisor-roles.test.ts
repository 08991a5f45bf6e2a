// `--role api,worker --processes 1`: the worker runs beside the api processes in one process of its
// own that holds no port; its metrics still reach /metrics, and it is restarted like the others.
// With a single api process, a rolling restart (SIGHUP) refuses nothing only if the new process
// serves before the old one drains.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { eventually } from "../../test/eventually";
import { createTestEnvironment } from "../../test/kit";
import { failuresOfTheRestart, type SupervisedKit, startSupervisedKit } from "../../test/supervised";
import { processAlive } from "./state-file";

let environment: Awaited<ReturnType<typeof createTestEnvironment>>;
let kit: SupervisedKit;

beforeAll(async () => {
  environment = await createTestEnvironment();
  kit = await startSupervisedKit(environment.env, ["--role", "api,worker", "--processes", "1"], 2);
}, 60_000);

afterAll(async () => {
  await kit?.cleanup();
  await environment.cleanup();
});

test("the worker runs in a process of its own, holds no port, and its metrics reach /metrics", async () => {
  expect(kit.state()?.processes.map((p) => [p.slot, p.roles])).toEqual([
    ["api-1", ["api"]],
    ["worker", ["worker"]],
  ]);
  // Only api processes listen: every answer is the api's (a worker's port would answer 404 here).
  for (let i = 0; i < 10; i++) {
    const response = await fetch(`${kit.url}/api/openapi.json`, { headers: { connection: "close" } });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  }
  const text = await (await fetch(`${kit.url}/metrics`)).text();
  // Registered by the worker only (domains/notifications/metrics.ts), so it came from the worker's process.
  expect(text).toContain("# TYPE kit_notifications_undispatched gauge");
  expect(text).toContain('kit_supervisor_processes{role="api"} 1');
  expect(text).toContain('kit_supervisor_processes{role="worker"} 1');
  expect(text).toContain("kit_supervisor_scraped_processes 2");
});

test("SIGHUP with one api process: the new one serves before the old one drains, no request fails", async () => {
  const before = kit.pids();
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      await Bun.sleep(2);
      try {
        const response = await fetch(`${kit.url}/health`, { headers: { connection: "close" } });
        await response.arrayBuffer();
        if (response.status === 200) ok += 1;
        else failures.push(`fresh: HTTP ${response.status}`);
      } catch (error) {
        failures.push(`fresh: ${error}`);
      }
    }
  })();
  kit.supervisor.kill("SIGHUP");
  await eventually("the rolling restart done", () => kit.state()?.rollingRestarts.completed === 1, 45_000);
  await Bun.sleep(200);
  stop = true;
  await loop;
  expect(failuresOfTheRestart(failures)).toEqual([]);
  expect(ok).toBeGreaterThan(20);
  expect(kit.state()?.rollingRestarts.lastOk).toBe(true);
  const after = kit.pids();
  expect(after.filter(Boolean)).toHaveLength(2);
  for (const pid of before) expect(after).not.toContain(pid);
}, 60_000);

test("a killed worker is started again; when the supervisor itself is killed, its processes stop", async () => {
  const [api, worker] = kit.pids() as [number, number];
  process.kill(worker, "SIGKILL");
  await eventually(
    "a new worker",
    () => {
      const pids = kit.pids();
      return pids[0] === api && pids[1] !== null && pids[1] !== worker;
    },
    20_000,
  );
  const replaced = kit.pids() as [number, number];
  // No SIGTERM from it: each process sees its IPC channel close and stops as on SIGTERM.
  kit.supervisor.kill("SIGKILL");
  await eventually("the orphaned processes gone", () => replaced.every((pid) => !processAlive(pid)), 20_000);
}, 60_000);
