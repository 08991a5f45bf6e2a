// The outbox against real Postgres: an event commits with the change that causes it or not at all,
// and the dispatcher turns each event into exactly one inbox row per recipient whose switch is on,
// however often and however many times at once it runs.
import { describe, expect, test } from "bun:test";
import { eq, inArray, sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createSubmittedApplication, moveApplication } from "../../../test/kyc";
import { createUser } from "../../../test/users";
import { NOTIFICATION_CATALOGUE, NOTIFICATION_EVENT_TYPES } from "../../notification-catalogue";
import { kycApplications, kycStatusHistory } from "../kyc/schema";
import { replaceNotificationSettings } from "../settings/notifications";
import { type ChannelFanOut, dispatchNotifications } from "./dispatch";
import { inAppFanOut } from "./inbox";
import { notificationMetrics } from "./metrics";
import { recordNotification } from "./record";
import { notificationEvents, notifications } from "./schema";

const kit = await createTestKit();
const { db } = kit.deps;
const reviewer = await createUser(kit, "kyc_reviewer");
const fanOuts = { in_app: inAppFanOut };

const eventsFor = (applicationId: string) =>
  db.select().from(notificationEvents).where(sql`${notificationEvents.data}->>'applicationId' = ${applicationId}`);

describe("the outbox", () => {
  test("a KYC decision commits with its notification", async () => {
    const applicant = await createApplicant(kit);
    const application = await createSubmittedApplication(kit, applicant);
    await moveApplication(kit, application.id, "in_review", { reviewerId: reviewer.id });
    const answer = await callApi(kit.app, reviewer, "POST", `/kyc/review/${application.id}/decision`, {
      decision: "reject",
      labels: ["document_unreadable"],
      internalNote: "Scan looks edited around the photo",
      messageToApplicant: "The passport scan is unreadable.",
    });
    expect(answer.status).toBe(200);
    const events = await eventsFor(application.id);
    expect(events.map((e) => [e.type, e.recipients, e.data, e.dispatchedAt])).toEqual([
      [
        "kyc.rejected",
        [applicant.id],
        { applicationId: application.id, message: "The passport scan is unreadable." },
        null,
      ],
    ]);
  });

  test("a failure after the event's insert leaves no event and no decision", async () => {
    const applicant = await createApplicant(kit);
    const application = await createSubmittedApplication(kit, applicant);
    await moveApplication(kit, application.id, "in_review", { reviewerId: reviewer.id });
    // Fails at commit, after every statement of the decision (the event's insert included) ran.
    await db.execute(sql`create function fail_at_commit() returns trigger language plpgsql as $$
      begin raise exception 'forced failure at commit'; end $$`);
    await db.execute(
      sql.raw(`create constraint trigger fail_at_commit after insert on notification_events
      deferrable initially deferred for each row
      when (new.data->>'applicationId' = '${application.id}') execute function fail_at_commit()`),
    );
    try {
      const answer = await callApi(kit.app, reviewer, "POST", `/kyc/review/${application.id}/decision`, {
        decision: "approve",
      });
      expect(answer.status).toBe(500);
    } finally {
      await db.execute(sql`drop trigger fail_at_commit on notification_events`);
      await db.execute(sql`drop function fail_at_commit()`);
    }
    expect(await eventsFor(application.id)).toEqual([]);
    const [row] = await db.select().from(kycApplications).where(eq(kycApplications.id, application.id));
    expect(row?.status).toBe("in_review");
    const history = await db
      .select({ to: kycStatusHistory.toStatus })
      .from(kycStatusHistory)
      .where(eq(kycStatusHistory.applicationId, application.id));
    expect(history.map((h) => h.to)).not.toContain("approved");

    // Without the fault, the same decision goes through, with its event.
    const retried = await callApi(kit.app, reviewer, "POST", `/kyc/review/${application.id}/decision`, {
      decision: "approve",
    });
    expect(retried.status).toBe(200);
    expect((await eventsFor(application.id)).map((e) => e.type)).toEqual(["kyc.approved"]);
  });

  test("a dedupe key records an event once; the audience is resolved in the transaction", async () => {
    const admin = await createUser(kit, "admin");
    const record = () =>
      db.transaction((tx) =>
        recordNotification(
          tx,
          "exchange_rates.stale",
          {},
          { pairs: ["EUR/USD"], since: new Date().toISOString() },
          {
            dedupeKey: "test:stale-once",
          },
        ),
      );
    const first = await record();
    expect(first).toBeString();
    expect(await record()).toBeNull();
    const [event] = await db
      .select()
      .from(notificationEvents)
      .where(eq(notificationEvents.id, first as string));
    expect(event?.recipients).toContain(admin.id);
    expect(event?.recipients).not.toContain(reviewer.id);
    // The wrong kind of audience for an event is a programming error, refused before anything is written.
    await expect(
      db.transaction((tx) => recordNotification(tx, "kyc.approved", {}, { applicationId: "x", expiresAt: "y" })),
    ).rejects.toThrow(/audience of this event is subject/);
  });
});

describe("the dispatcher", () => {
  async function recordMany(recipients: string[], n: number): Promise<string[]> {
    return db.transaction(async (tx) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = await recordNotification(tx, "kyc.submitted", { recipients }, { applicationId: `app-${i}` });
        ids.push(id as string);
      }
      return ids;
    });
  }

  const inboxOf = (ids: string[]) =>
    db
      .select({ eventId: notifications.eventId, userId: notifications.userId })
      .from(notifications)
      .where(inArray(notifications.eventId, ids));

  test("run twice, and four at once: one inbox row per event and recipient, every event dispatched once", async () => {
    const people = await Promise.all([createApplicant(kit), createApplicant(kit), createApplicant(kit)]);
    const ids = await recordMany(
      people.map((p) => p.id),
      60,
    );
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => dispatchNotifications(kit.deps, fanOuts, { batchSize: 7 })),
    );
    expect(runs.reduce((sum, run) => sum + run.dispatched, 0)).toBeGreaterThanOrEqual(60);
    const again = await dispatchNotifications(kit.deps, fanOuts);
    expect(again.dispatched).toBe(0);
    const rows = await inboxOf(ids);
    expect(rows.length).toBe(60 * 3);
    expect(new Set(rows.map((r) => `${r.eventId}:${r.userId}`)).size).toBe(60 * 3);
    const undispatched = await db
      .select()
      .from(notificationEvents)
      .where(sql`${inArray(notificationEvents.id, ids)} and ${notificationEvents.dispatchedAt} is null`);
    expect(undispatched).toEqual([]);
  });

  test("switches decide who gets a row; defaults from the catalogue; a deleted user is skipped", async () => {
    expect(NOTIFICATION_CATALOGUE["kyc.submitted"].defaults.in_app).toBe(true);
    const [keeps, optedOut, deleted] = await Promise.all([
      createApplicant(kit),
      createApplicant(kit),
      createApplicant(kit),
    ]);
    const events = Object.fromEntries(NOTIFICATION_EVENT_TYPES.map((t) => [t, { in_app: true, email: true }]));
    events["kyc.submitted"] = { in_app: false, email: true };
    await replaceNotificationSettings(
      kit.deps,
      { userId: optedOut.id },
      {
        events: events as Parameters<typeof replaceNotificationSettings>[2]["events"],
      },
    );
    const [id] = await recordMany([keeps.id, optedOut.id, deleted.id], 1);
    await db.execute(sql`delete from "user" where id = ${deleted.id}`);
    // A channel that sees every recipient (as webhooks do) gets all who still exist.
    const seen: string[][] = [];
    const webhook: ChannelFanOut = async (_tx, event, recipients) => {
      if (event.id === id) seen.push(recipients.map((r) => r.userId).toSorted());
    };
    await dispatchNotifications(kit.deps, { ...fanOuts, webhook });
    expect((await inboxOf([id as string])).map((r) => r.userId)).toEqual([keeps.id]);
    expect(seen).toEqual([[keeps.id, optedOut.id].toSorted()]);
  });

  test("a fan-out that throws undoes that event's rows only; it stays undispatched and is retried", async () => {
    const person = await createApplicant(kit);
    const [good, bad] = await recordMany([person.id], 2);
    let failing = true;
    const flaky: ChannelFanOut = async (_tx, event) => {
      if (failing && event.id === bad) throw new Error("flaky channel");
    };
    const first = await dispatchNotifications(kit.deps, { ...fanOuts, webhook: flaky });
    expect(first.failed).toBe(1);
    expect((await inboxOf([good as string, bad as string])).map((r) => r.eventId)).toEqual([good as string]);
    const [row] = await db
      .select()
      .from(notificationEvents)
      .where(eq(notificationEvents.id, bad as string));
    expect(row).toMatchObject({ dispatchedAt: null, attempts: 1, lastError: "flaky channel" });
    failing = false;
    await dispatchNotifications(kit.deps, { ...fanOuts, webhook: flaky });
    expect((await inboxOf([bad as string])).length).toBe(1);
  });

  test("after the commit: work shared by a batch's events runs once per batch, an event's own once per event", async () => {
    await dispatchNotifications(kit.deps, fanOuts); // what earlier tests left
    const person = await createApplicant(kit);
    const ids = await recordMany([person.id], 10);
    let shared = 0;
    const own: string[] = [];
    const sendNow = async () => {
      shared += 1;
    };
    const webhook: ChannelFanOut = async (_tx, event) => (ids.includes(event.id) ? sendNow : undefined);
    const announce: ChannelFanOut = async (_tx, event) => async () => void own.push(event.id);
    const run = await dispatchNotifications(kit.deps, { in_app: announce, webhook }, { batchSize: 4 });
    expect(run).toEqual({ dispatched: 10, failed: 0, batches: 3 });
    expect(shared).toBe(3);
    expect(own.toSorted()).toEqual(ids.toSorted());
  });
});

test("/metrics shows the outbox's backlog and its age", async () => {
  const registry = new Registry();
  notificationMetrics(registry, db);
  await dispatchNotifications(kit.deps, fanOuts); // whatever the tests above left
  const person = await createApplicant(kit);
  await db.transaction((tx) =>
    recordNotification(
      tx,
      "kyc.submitted",
      { recipients: [person.id] },
      { applicationId: "metrics" },
      {
        occurredAt: new Date(Date.now() - 60_000),
      },
    ),
  );
  const scrape = async () => {
    const text = await registry.metrics();
    const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
    return { n: value("kit_notifications_undispatched"), age: value("kit_notifications_oldest_undispatched_seconds") };
  };
  const before = await scrape();
  expect(before.n).toBe(1);
  expect(before.age).toBeGreaterThanOrEqual(59);
  await dispatchNotifications(kit.deps, fanOuts);
  expect(await scrape()).toEqual({ n: 0, age: 0 });
});
