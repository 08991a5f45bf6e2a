// kickDispatcher's coalescing (pure logic: a job queue that only counts). A burst of kicks is a
// few jobs, not one per event, and the last job is always queued after the last kick, so no event
// waits for the dispatcher's schedule.
import { expect, test } from "bun:test";
import type { JobQueue } from "../../deps";
import { KICK_WINDOW_MS, kickDispatcher } from "./record";

function countingQueue(fail = false) {
  const queued: number[] = [];
  const jobs: JobQueue = {
    async enqueue() {
      queued.push(performance.now());
      if (fail) throw new Error("Redis is not connected");
      return { id: String(queued.length) };
    },
    async close() {},
  };
  return { jobs, queued };
}

const quiet = () => Bun.sleep(KICK_WINDOW_MS * 3);

test("a burst of 1,000 kicks is a few jobs, the last one queued after the last kick", async () => {
  const { jobs, queued } = countingQueue();
  const started = performance.now();
  const kicks: number[] = [];
  for (let i = 0; i < 1_000; i++) {
    kicks.push(performance.now());
    await kickDispatcher({ jobs });
    if (i % 100 === 0) await Bun.sleep(5); // commits arriving over a while, not all at once
  }
  const elapsed = performance.now() - started;
  await quiet();
  expect(queued.length).toBeGreaterThanOrEqual(2);
  // One at once, then at most one per window while kicks keep coming, and the trailing one.
  expect(queued.length).toBeLessThanOrEqual(2 + Math.ceil(elapsed / KICK_WINDOW_MS));
  expect(queued.at(-1) ?? 0).toBeGreaterThanOrEqual(kicks.at(-1) ?? Number.POSITIVE_INFINITY);
});

test("a lone kick is one job at once; after a quiet window the next kick goes at once too", async () => {
  const { jobs, queued } = countingQueue();
  await kickDispatcher({ jobs });
  expect(queued).toHaveLength(1);
  await quiet();
  expect(queued).toHaveLength(1);
  await kickDispatcher({ jobs });
  expect(queued).toHaveLength(2);
  await quiet();
});

test("a queue that refuses is no error for the caller: the schedule covers it", async () => {
  const { jobs, queued } = countingQueue(true);
  await kickDispatcher({ jobs });
  await kickDispatcher({ jobs });
  await quiet();
  expect(queued).toHaveLength(2);
});
