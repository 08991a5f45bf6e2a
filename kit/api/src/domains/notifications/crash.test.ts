// kill -9 of the real worker process (`main.ts --role worker`) at random points while it dispatches
// 1,000 events, 3 times, then a worker that finishes: every event dispatched, each exactly once per
// recipient (as many inbox rows as recipients, no event stamped without its rows), none stuck.
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestKit } from "../../../test/kit";
import { createApplicant } from "../../../test/kyc";
import { serveKit } from "../../../test/serve";
import { recordNotification } from "./record";

const kit = await createTestKit();
const { db } = kit.deps;
const EVENTS = 1_000;
const env = { ...kit.env, NOTIFICATIONS_DISPATCH_SECONDS: "1", FX_PROVIDERS: "manual" };

async function dispatched(): Promise<number> {
  const { rows } = await db.execute<{ n: number }>(
    sql`select count(*)::int as n from notification_events where dispatched_at is not null`,
  );
  return rows[0]?.n ?? 0;
}

test("kill -9 of the worker at 3 random points of 1,000 events: each delivered once per recipient, none stuck", async () => {
  const people = await Promise.all(Array.from({ length: 30 }, () => createApplicant(kit)));
  let expectedRows = 0;
  await db.transaction(async (tx) => {
    for (let i = 0; i < EVENTS; i++) {
      const recipients = people.filter((_, j) => (i + j) % 11 === 0 || j === i % people.length).map((p) => p.id);
      expectedRows += new Set(recipients).size;
      await recordNotification(tx, "kyc.submitted", { recipients }, { applicationId: `crash-${i}` });
    }
  });

  const killedAt: number[] = [];
  for (const target of [150, 450, 750].map((n) => n + Math.floor(Math.random() * 100))) {
    const worker = await serveKit(env, { role: "worker" });
    const deadline = Date.now() + 30_000;
    while ((await dispatched()) < target && Date.now() < deadline) await Bun.sleep(2);
    // Somewhere inside the next batch's transaction, or between two.
    await Bun.sleep(Math.random() * 40);
    worker.process.kill("SIGKILL");
    await worker.process.exited;
    killedAt.push(await dispatched());
  }
  expect(killedAt.every((n) => n < EVENTS)).toBe(true);

  const worker = await serveKit(env, { role: "worker" });
  try {
    const deadline = Date.now() + 60_000;
    while ((await dispatched()) < EVENTS && Date.now() < deadline) await Bun.sleep(50);
  } finally {
    await worker.stop();
  }
  expect(await dispatched()).toBe(EVENTS);
  const { rows } = await db.execute<{ inbox: number; distinct_rows: number; short: number; stuck: number }>(sql`
    select
      (select count(*)::int from notifications) as inbox,
      (select count(distinct (event_id, user_id))::int from notifications) as distinct_rows,
      (select count(*)::int from notification_events e
        where cardinality(e.recipients) <> (select count(*) from notifications n where n.event_id = e.id)) as short,
      (select count(*)::int from notification_events where dispatched_at is null or attempts > 0) as stuck`);
  expect(rows[0]).toEqual({ inbox: expectedRows, distinct_rows: expectedRows, short: 0, stuck: 0 });
}, 150_000);
