// The webhooks API over REST: endpoints (own and system), the secret shown once and never again
// (answers, logs, the database), rotation with an overlap during which receivers holding the old
// secret and receivers holding the new one both verify (standardwebhooks), the delivery log and
// replay.
import { afterAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { createUser } from "../../../test/users";
import { startWebhookReceiver, verifiesWith } from "../../../test/webhook-receiver";
import { deliverDue } from "./deliver";
import { queueWebhookDeliveries } from "./fanout";
import { webhookEndpoints } from "./schema";

const logLines: string[] = [];
const kit = await createTestKit({ env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_FIRST_MS: "50" }, logLines });
const receiver = startWebhookReceiver();
afterAll(() => receiver.stop());
const [owner, stranger, admin] = await Promise.all([
  createUser(kit, "investor"),
  createUser(kit, "investor"),
  createUser(kit, "admin"),
]);

const api = (who: { cookie: string }, method: string, path: string, body?: unknown) =>
  callApi(kit.app, who, method, path, body);
const shown: string[] = [];

async function create(path: string, who = owner, extra: Record<string, unknown> = {}) {
  const answer = await api(who, "POST", "/webhooks/endpoints", {
    url: `${receiver.url}${path}`,
    eventTypes: ["kyc.submitted"],
    description: "test receiver",
    ...extra,
  });
  expect(answer.status).toBe(201);
  shown.push(answer.body.secret);
  return answer.body as { endpoint: { id: string; scope: string }; secret: string };
}

async function send(recipient: string) {
  const id = `evt_${crypto.randomUUID()}`;
  await kit.deps.db.transaction((tx) =>
    queueWebhookDeliveries(tx, {
      id,
      type: "kyc.submitted",
      occurredAt: new Date(),
      recipients: [recipient],
      data: { applicationId: crypto.randomUUID() },
    }),
  );
  return id;
}

async function deliveredWith(path: string, eventId: string) {
  await eventually(`${eventId} at ${path}`, async () => {
    await deliverDue(kit.deps);
    return receiver.received.some((r) => r.path === path && r.headers["webhook-id"] === eventId);
  });
  return receiver.received.filter((r) => r.path === path && r.headers["webhook-id"] === eventId).at(-1) as NonNullable<
    (typeof receiver.received)[number]
  >;
}

describe("endpoints", () => {
  test("a user creates, reads, lists, changes and deletes their own; the secret is shown once", async () => {
    const { endpoint, secret } = await create("/crud");
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), "base64").length).toBeGreaterThanOrEqual(24);
    expect(endpoint).toMatchObject({ scope: "user", enabled: true, eventTypes: ["kyc.submitted"] });

    const got = await api(owner, "GET", `/webhooks/endpoints/${endpoint.id}`);
    expect(got.status).toBe(200);
    const listed = await api(owner, "GET", "/webhooks/endpoints");
    expect(listed.body.items.map((e: { id: string }) => e.id)).toContain(endpoint.id);
    const changed = await api(owner, "PATCH", `/webhooks/endpoints/${endpoint.id}`, {
      eventTypes: ["kyc.approved", "kyc.rejected"],
      description: "changed",
    });
    expect(changed.body).toMatchObject({ eventTypes: ["kyc.approved", "kyc.rejected"], description: "changed" });
    for (const answer of [got, listed, changed]) expect(JSON.stringify(answer.body)).not.toContain(secret.slice(6));

    expect((await api(owner, "DELETE", `/webhooks/endpoints/${endpoint.id}`)).status).toBe(200);
    expect((await api(owner, "GET", `/webhooks/endpoints/${endpoint.id}`)).status).toBe(404);
  });

  test("another user's endpoint does not exist for them; system endpoints are for admins", async () => {
    const { endpoint } = await create("/private");
    for (const [method, path] of [
      ["GET", `/webhooks/endpoints/${endpoint.id}`],
      ["PATCH", `/webhooks/endpoints/${endpoint.id}`],
      ["DELETE", `/webhooks/endpoints/${endpoint.id}`],
      ["POST", `/webhooks/endpoints/${endpoint.id}/rotate-secret`],
      ["GET", `/webhooks/endpoints/${endpoint.id}/deliveries`],
    ] as const) {
      const answer = await api(stranger, method, path, method === "GET" ? undefined : {});
      expect([method, path, answer.status]).toEqual([method, path, 404]);
    }
    expect((await api(owner, "GET", "/webhooks/endpoints?scope=system")).status).toBe(403);
    const refused = await api(owner, "POST", "/webhooks/endpoints", {
      url: `${receiver.url}/system`,
      eventTypes: ["exchange_rates.stale"],
      scope: "system",
    });
    expect(refused.status).toBe(403);

    const { endpoint: system } = await create("/system", admin, {
      scope: "system",
      eventTypes: ["exchange_rates.stale"],
    });
    expect(system.scope).toBe("system");
    const systemList = await api(admin, "GET", "/webhooks/endpoints?scope=system");
    expect(systemList.body.items.map((e: { id: string }) => e.id)).toEqual([system.id]);
    expect((await api(owner, "GET", `/webhooks/endpoints/${system.id}`)).status).toBe(404);
  });

  test("bad input is refused with what to do", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ url: "not a url", eventTypes: ["kyc.submitted"] }, "url: expected an absolute URL"],
      [{ url: "ftp://hooks.kit-test.net/", eventTypes: ["kyc.submitted"] }, "url: the webhook URL must use https://"],
      [{ url: "https://user:pw@hooks.kit-test.net/", eventTypes: ["kyc.submitted"] }, "credentials in the URL"],
      [{ url: "https://hooks.kit-test.net/", eventTypes: [] }, "choose at least one event type"],
      [{ url: "https://hooks.kit-test.net/", eventTypes: ["kyc.nope"] }, "eventTypes: each one of"],
    ];
    for (const [body, message] of cases) {
      const answer = await api(owner, "POST", "/webhooks/endpoints", body);
      expect([answer.status, JSON.stringify(answer.body)]).toEqual([400, expect.stringContaining(message)]);
    }
    const { endpoint } = await create("/bad-input");
    const rotation = await api(owner, "POST", `/webhooks/endpoints/${endpoint.id}/rotate-secret`, {
      overlapHours: 500,
    });
    expect(rotation.status).toBe(400);
    expect(JSON.stringify(rotation.body)).toContain("overlapHours: whole hours from 0 to 168");
  });
});

describe("rotation", () => {
  test("during the overlap every webhook verifies with the old secret and with the new one", async () => {
    const { endpoint, secret: oldSecret } = await create("/rotate");
    const before = await deliveredWith("/rotate", await send(owner.id));
    expect(before.headers["webhook-signature"]?.split(" ").length).toBe(1);

    const rotated = await api(owner, "POST", `/webhooks/endpoints/${endpoint.id}/rotate-secret`, { overlapHours: 24 });
    expect(rotated.status).toBe(200);
    const newSecret: string = rotated.body.secret;
    shown.push(newSecret);
    expect(newSecret).not.toBe(oldSecret);
    const expires = Date.parse(rotated.body.endpoint.previousSecretExpiresAt);
    expect(Math.abs(expires - Date.now() - 24 * 3_600_000)).toBeLessThan(60_000);

    const during = await deliveredWith("/rotate", await send(owner.id));
    const signatures = during.headers["webhook-signature"]?.split(" ") ?? [];
    expect(signatures.length).toBe(2);
    expect(signatures.every((s) => s.startsWith("v1,"))).toBe(true);
    // A receiver still configured with the old secret, and one already switched: both verify.
    expect(verifiesWith(oldSecret, during)).toBe(true);
    expect(verifiesWith(newSecret, during)).toBe(true);
    expect(verifiesWith(oldSecret, before)).toBe(true);
    expect(verifiesWith(newSecret, before)).toBe(false);

    // Rotating without overlap retires the previous secret at once.
    const again = await api(owner, "POST", `/webhooks/endpoints/${endpoint.id}/rotate-secret`, { overlapHours: 0 });
    shown.push(again.body.secret);
    expect(again.body.endpoint.previousSecretExpiresAt).toBeNull();
    const after = await deliveredWith("/rotate", await send(owner.id));
    expect(after.headers["webhook-signature"]?.split(" ").length).toBe(1);
    expect(verifiesWith(again.body.secret, after)).toBe(true);
    expect(verifiesWith(newSecret, after)).toBe(false);
    expect(verifiesWith(oldSecret, after)).toBe(false);
  });

  test("an overlap that ended no longer signs", async () => {
    const { endpoint, secret: oldSecret } = await create("/expired-overlap");
    const rotated = await api(owner, "POST", `/webhooks/endpoints/${endpoint.id}/rotate-secret`, { overlapHours: 1 });
    shown.push(rotated.body.secret);
    await kit.deps.db
      .update(webhookEndpoints)
      .set({ previousSecretExpiresAt: new Date(Date.now() - 1_000) })
      .where(eq(webhookEndpoints.id, endpoint.id));
    const webhook = await deliveredWith("/expired-overlap", await send(owner.id));
    expect(verifiesWith(rotated.body.secret, webhook)).toBe(true);
    expect(verifiesWith(oldSecret, webhook)).toBe(false);
  });
});

describe("the delivery log", () => {
  test("pages an endpoint's deliveries with their attempts, and a replay sends one again", async () => {
    const { endpoint, secret } = await create("/log");
    // The owner's other endpoints hear the same events: only this one's count.
    const atLog = () => receiver.received.filter((r) => r.path === "/log");
    receiver.script("/log", { status: 500, body: "boom" });
    const first = await send(owner.id);
    await deliveredWith("/log", first);
    await eventually("the retry", async () => {
      await deliverDue(kit.deps);
      return atLog().length === 2;
    });
    const second = await send(owner.id);
    const third = await send(owner.id);
    await deliveredWith("/log", third);
    await deliveredWith("/log", second);

    const page1 = await api(owner, "GET", `/webhooks/endpoints/${endpoint.id}/deliveries?limit=2`);
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((d: { eventId: string }) => d.eventId)).toEqual([third, second]);
    const page2 = await api(
      owner,
      "GET",
      `/webhooks/endpoints/${endpoint.id}/deliveries?limit=2&cursor=${encodeURIComponent(page1.body.nextCursor)}`,
    );
    expect(page2.body.items.map((d: { eventId: string }) => d.eventId)).toEqual([first]);
    expect(page2.body.nextCursor).toBeNull();
    const [logged] = page2.body.items;
    expect(logged).toMatchObject({ status: "delivered", attempts: 2, eventType: "kyc.submitted", nextAttemptAt: null });
    expect(
      logged.attemptLog.map(
        (a: { attempt: number; statusCode: number; responseBody: string; error: string | null }) => [
          a.attempt,
          a.statusCode,
          a.responseBody,
          a.error,
        ],
      ),
    ).toEqual([
      [1, 500, "boom", "HTTP 500"],
      [2, 200, "ok", null],
    ]);
    expect(logged.attemptLog.every((a: { latencyMs: number }) => a.latencyMs >= 0)).toBe(true);

    const replayed = await api(owner, "POST", `/webhooks/deliveries/${logged.id}/replay`, {});
    expect(replayed.status).toBe(202);
    expect(replayed.body).toMatchObject({ status: "pending", eventId: first });
    expect((await api(owner, "POST", `/webhooks/deliveries/${logged.id}/replay`, {})).status).toBe(409);
    expect((await api(stranger, "POST", `/webhooks/deliveries/${logged.id}/replay`, {})).status).toBe(404);
    await eventually("the replay", async () => {
      await deliverDue(kit.deps);
      return atLog().filter((r) => r.headers["webhook-id"] === first).length === 3;
    });
    const again = atLog()
      .filter((r) => r.headers["webhook-id"] === first)
      .at(-1);
    expect(again && verifiesWith(secret, again)).toBe(true);
    const log = await api(owner, "GET", `/webhooks/endpoints/${endpoint.id}/deliveries?status=delivered&limit=5`);
    const replayedLog = log.body.items.find((d: { eventId: string }) => d.eventId === first);
    expect(replayedLog.attemptLog.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3]);
  });

  test("a replay on a disabled endpoint asks for it to be enabled first", async () => {
    const { endpoint } = await create("/replay-disabled");
    await deliveredWith("/replay-disabled", await send(owner.id));
    const [delivery] = (await api(owner, "GET", `/webhooks/endpoints/${endpoint.id}/deliveries`)).body.items;
    await api(owner, "PATCH", `/webhooks/endpoints/${endpoint.id}`, { enabled: false });
    const answer = await api(owner, "POST", `/webhooks/deliveries/${delivery.id}/replay`, {});
    expect(answer.status).toBe(412);
    expect(answer.body.message).toContain("enable it");
  });
});

describe("secrets", () => {
  test("never appear in a later answer, in a log line, or in the database as written", async () => {
    expect(shown.length).toBeGreaterThan(5);
    const all = logLines.join("\n");
    expect(all).toContain("webhook endpoint created");
    const answers = JSON.stringify([
      (await api(owner, "GET", "/webhooks/endpoints")).body,
      (await api(admin, "GET", "/webhooks/endpoints?scope=system")).body,
    ]);
    const rows = JSON.stringify(await kit.deps.db.select().from(webhookEndpoints));
    for (const secret of shown) {
      const bytes = secret.slice("whsec_".length);
      expect(all).not.toContain(bytes);
      expect(answers).not.toContain(bytes);
      expect(rows).not.toContain(bytes);
      expect(rows).not.toContain(Buffer.from(bytes).toString("hex"));
    }
  });
});
