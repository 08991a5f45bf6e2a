import { expect, test } from "bun:test";
import { isOverdue, type JobRunStatus } from "./status";

const minute = 60_000;
const start = Date.parse("2026-01-01T00:00:00Z");
const never: JobRunStatus = { lastSuccessAt: null, lastFailureAt: null };
/** `start` plus some minutes, as the status records it. */
const at = (minutes: number) => new Date(start + minutes * minute).toISOString();
/** A 15-minute job of a worker started at `start`, `minutes` later. */
const overdueAfter = (status: JobRunStatus, minutes: number) =>
  isOverdue(15 * 60, status, start, start + minutes * minute);

test("a scheduled job is overdue past twice its interval since its last run, or since the worker started", () => {
  // A fresh worker: the first run may be a whole interval away.
  expect(overdueAfter(never, 29)).toBe(false);
  expect(overdueAfter(never, 31)).toBe(true);
  // An old run does not make a fresh worker unready; a recent one counts from itself.
  expect(overdueAfter({ ...never, lastSuccessAt: at(-90) }, 1)).toBe(false);
  expect(overdueAfter({ ...never, lastSuccessAt: at(20) }, 49)).toBe(false);
  expect(overdueAfter({ ...never, lastSuccessAt: at(20) }, 51)).toBe(true);
  // A run that failed for good is a run (its failure is reported apart).
  expect(overdueAfter({ ...never, lastFailureAt: at(40) }, 51)).toBe(false);
  // Jobs run only when queued are never overdue.
  expect(isOverdue(undefined, never, start, start + 1_000 * minute)).toBe(false);
});
