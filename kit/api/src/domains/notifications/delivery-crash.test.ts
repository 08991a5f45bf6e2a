// Issue 18's crash test for webhooks, at full size: 1,000 events recorded through the outbox, a real
// worker process (`main.ts --role worker`) `kill -9`ed at 5 random points of its work (anywhere
// from the dispatcher's transactions to the sender's posts), then a worker that finishes. Two real
// local HTTP receivers (test/webhook-receiver.ts) check every request with the independent
// `standardwebhooks` library. Every event reaches every endpoint subscribed to it exactly once by
// `webhook-id` (duplicates are allowed by at-least-once delivery and counted, none may be missing),
// nothing reaches an endpoint that is not subscribed, and no outbox row or delivery is left behind.
import { afterAll, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestKit } from "../../../test/kit";
import { serveKit } from "../../../test/serve";
import { createUser } from "../../../test/users";
import { type ReceivedWebhook, startWebhookReceiver, verifiesWith } from "../../../test/webhook-receiver";
import type { NotificationEventType } from "../../notification-catalogue";
import { createEndpoint } from "../webhooks/endpoints";
import { recordNotification } from "./record";

const kit = await createTestKit({ env: { WEBHOOK_ALLOW_PRIVATE: "true" } });
const { db } = kit.deps;
const EVENTS = 1_000;
const KILLS = 5;
const env = {
  ...kit.env,
  FX_PROVIDERS: "manual",
  WEBHOOK_ALLOW_PRIVATE: "true",
  NOTIFICATIONS_DISPATCH_SECONDS: "1",
  WEBHOOK_SWEEP_SECONDS: "1",
  // The lease a killed sender leaves on its claimed deliveries is 3 × the timeout: 3 s here.
  WEBHOOK_TIMEOUT_MS: "1000",
  WEBHOOK_RETRY_FIRST_MS: "200",
};
// One receiver for the users' endpoints, one for the system's: two servers, as two integrations.
const users = startWebhookReceiver();
const system = startWebhookReceiver();
afterAll(() => {
  users.stop();
  system.stop();
});

async function endpoint(
  receiverUrl: string,
  path: string,
  actor: { id: string },
  eventTypes: NotificationEventType[],
  scope: "user" | "system" = "user",
) {
  const created = await createEndpoint(
    kit.deps,
    { userId: actor.id, mayManageSystem: scope === "system" },
    { url: `${receiverUrl}${path}`, eventTypes, scope },
  );
  return { path, secret: created.secret };
}

async function counts(): Promise<{ dispatched: number; delivered: number }> {
  const { rows } = await db.execute<{ dispatched: number; delivered: number }>(sql`
    select (select count(*)::int from notification_events where dispatched_at is not null) as dispatched,
           (select count(*)::int from webhook_deliveries where status = 'delivered') as delivered`);
  return rows[0] ?? { dispatched: 0, delivered: 0 };
}

/** Per endpoint: the distinct webhook-ids it got, the duplicates, and requests that failed to verify. */
function tally(received: ReceivedWebhook[], path: string, secret: string) {
  const at = received.filter((r) => r.path === path);
  const ids = new Set(at.map((r) => r.headers["webhook-id"] ?? ""));
  return { ids, duplicates: at.length - ids.size, unverified: at.filter((r) => !verifiesWith(secret, r)).length };
}

test("kill -9 of the worker at 5 random points while 1,000 events go out as webhooks: each reaches each subscribed endpoint once", async () => {
  const alice = await createUser(kit, "investor");
  const bob = await createUser(kit, "investor");
  const admin = await createUser(kit, "admin");
  const aliceHook = await endpoint(users.url, "/alice", alice, ["kyc.submitted"]);
  const bobHook = await endpoint(users.url, "/bob", bob, ["kyc.submitted"]);
  // Alice's, for another event type: gets nothing.
  const aliceOther = await endpoint(users.url, "/alice-other", alice, ["wallet.eligible"]);
  const systemHook = await endpoint(system.url, "/system", admin, ["kyc.submitted"], "system");

  // Alice hears every event, Bob every other one; the system endpoint hears them all.
  const expected = new Map<string, Set<string>>([
    [aliceHook.path, new Set()],
    [bobHook.path, new Set()],
    [systemHook.path, new Set()],
  ]);
  await db.transaction(async (tx) => {
    for (let i = 0; i < EVENTS; i++) {
      const recipients = i % 2 === 0 ? [alice.id, bob.id] : [alice.id];
      const id = await recordNotification(tx, "kyc.submitted", { recipients }, { applicationId: `crash-${i}` });
      if (!id) throw new Error("event not recorded");
      expected.get(aliceHook.path)?.add(id);
      expected.get(systemHook.path)?.add(id);
      if (i % 2 === 0) expected.get(bobHook.path)?.add(id);
    }
  });
  const deliveries = [...expected.values()].reduce((sum, ids) => sum + ids.size, 0);

  // Progress = events dispatched + deliveries recorded delivered; the kills land anywhere along it.
  const total = EVENTS + deliveries;
  const targets = Array.from({ length: KILLS }, () => Math.floor(Math.random() * total * 0.9)).sort((a, b) => a - b);
  const killedAt: { dispatched: number; delivered: number }[] = [];
  for (const target of targets) {
    const worker = await serveKit(env, { role: "worker" });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const now = await counts();
      if (now.dispatched + now.delivered >= target || Date.now() > deadline) break;
      await Bun.sleep(5);
    }
    await Bun.sleep(Math.random() * 30);
    worker.process.kill("SIGKILL");
    await worker.process.exited;
    killedAt.push(await counts());
  }

  const worker = await serveKit(env, { role: "worker" });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = await counts();
      if ((now.dispatched === EVENTS && now.delivered === deliveries) || Date.now() > deadline) break;
      await Bun.sleep(50);
    }
  } finally {
    await worker.stop();
  }

  const received = [...users.received, ...system.received];
  const secrets = new Map([aliceHook, bobHook, systemHook].map((h) => [h.path, h.secret]));
  let duplicates = 0;
  for (const [path, ids] of expected) {
    const got = tally(received, path, secrets.get(path) as string);
    const missing = [...ids].filter((id) => !got.ids.has(id));
    const unexpected = [...got.ids].filter((id) => !ids.has(id));
    expect({ path, missing: missing.length, unexpected: unexpected.length, unverified: got.unverified }).toEqual({
      path,
      missing: 0,
      unexpected: 0,
      unverified: 0,
    });
    duplicates += got.duplicates;
  }
  expect(users.received.filter((r) => r.path === aliceOther.path)).toHaveLength(0);
  const { rows } = await db.execute<{ undispatched: number; retried: number; unsent: number; rows: number }>(sql`
    select
      (select count(*)::int from notification_events where dispatched_at is null) as undispatched,
      (select count(*)::int from notification_events where attempts > 0) as retried,
      (select count(*)::int from webhook_deliveries where status <> 'delivered') as unsent,
      (select count(*)::int from webhook_deliveries) as rows`);
  expect(rows[0]).toEqual({ undispatched: 0, retried: 0, unsent: 0, rows: deliveries });
  // At-least-once: a post that reached the receiver before its worker died is sent again.
  process.stderr.write(
    `delivery crash: ${deliveries} deliveries, ${received.length} requests, ${duplicates} duplicates; kills at ${killedAt
      .map((k) => `${k.dispatched}d/${k.delivered}s`)
      .join(", ")}\n`,
  );
  // The kills landed before the work was done (else the clean worker proved nothing).
  expect(killedAt.every((k) => k.delivered < deliveries)).toBe(true);
}, 180_000);
