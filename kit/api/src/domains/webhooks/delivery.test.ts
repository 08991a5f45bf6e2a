// Deliveries end to end: events fanned out in a transaction, sent by the sender to a real local
// receiver that verifies each webhook with the independent `standardwebhooks` library; retries
// after 500s, no redirect followed, timeouts, the retry window, the day of failures that disables
// an endpoint, and the pinned connection (the resolver's address, the URL's Host).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { createUser } from "../../../test/users";
import { startWebhookReceiver, verifiesWith } from "../../../test/webhook-receiver";
import type { NotificationEvent, NotificationEventType, NotificationPayloads } from "../../notification-catalogue";
import { deliverDue, type EndpointDisabledNotice, endpointDisabledNotice } from "./deliver";
import { queueWebhookDeliveries } from "./fanout";
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from "./schema";

const kit = await createTestKit({
  env: {
    WEBHOOK_ALLOW_PRIVATE: "true",
    WEBHOOK_RETRY_FIRST_MS: "50",
    WEBHOOK_RETRY_MAX_MS: "200",
    WEBHOOK_TIMEOUT_MS: "800",
  },
});
const receiver = startWebhookReceiver();
afterAll(() => receiver.stop());
const [owner, other] = await Promise.all([createUser(kit, "investor"), createUser(kit, "investor")]);

let counter = 0;
function event<T extends NotificationEventType>(
  type: T,
  recipients: string[],
  data: NotificationPayloads[T],
): NotificationEvent<T> {
  counter += 1;
  return { id: `evt_${counter}_${crypto.randomUUID()}`, type, occurredAt: new Date(), recipients, data };
}
const publish = (e: NotificationEvent) => kit.deps.db.transaction((tx) => queueWebhookDeliveries(tx, e));

async function createEndpoint(path: string, eventTypes: NotificationEventType[], who = owner, scope = "user") {
  const answer = await callApi(kit.app, who, "POST", "/webhooks/endpoints", {
    url: `${receiver.url}${path}`,
    eventTypes,
    scope,
  });
  expect(answer.status).toBe(201);
  return answer.body as { endpoint: { id: string }; secret: string };
}

const deliveriesOf = (endpointId: string) =>
  kit.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));

async function attemptsOf(deliveryId: string) {
  const rows = await kit.deps.db
    .select()
    .from(webhookDeliveryAttempts)
    .where(eq(webhookDeliveryAttempts.deliveryId, deliveryId));
  return rows.sort((a, b) => a.attempt - b.attempt);
}

/** Runs the sender until `done` holds (retries wait for their backoff). */
async function deliverUntil(what: string, done: () => Promise<boolean>, options = {}) {
  await eventually(
    what,
    async () => {
      await deliverDue(kit.deps, options);
      return done();
    },
    8_000,
  );
}

const receivedAt = (path: string) => receiver.received.filter((r) => r.path === path);
const approved = (applicationId: string) =>
  ({ applicationId, expiresAt: "2027-12-05T00:00:00.000Z" }) satisfies NotificationPayloads["kyc.approved"];

describe("a user's endpoint", () => {
  test("receives the events of its types addressed to its owner, signed so standardwebhooks verifies them", async () => {
    const { endpoint, secret } = await createEndpoint("/basic", ["kyc.approved", "kyc.rejected"]);
    const mine = event("kyc.approved", [owner.id], approved(crypto.randomUUID()));
    await publish(mine);
    await publish(event("kyc.approved", [other.id], approved(crypto.randomUUID()))); // not its owner's
    await publish(event("kyc.submitted", [owner.id], { applicationId: crypto.randomUUID() })); // not its type
    await publish(mine); // the dispatcher ran twice: still one delivery
    expect((await deliveriesOf(endpoint.id)).length).toBe(1);

    await deliverUntil("the delivery", async () => receivedAt("/basic").length === 1);
    const [webhook] = receivedAt("/basic");
    if (!webhook) throw new Error("no webhook");
    expect(verifiesWith(secret, webhook)).toBe(true);
    expect(webhook.headers["webhook-id"]).toBe(mine.id);
    expect(Number(webhook.headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -2);
    expect(webhook.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(JSON.parse(webhook.body)).toEqual({
      type: "kyc.approved",
      timestamp: mine.occurredAt.toISOString(),
      data: mine.data,
    });
    // A tampered body does not verify: the receiver's check is real.
    expect(verifiesWith(secret, { ...webhook, body: webhook.body.replace("kyc.approved", "kyc.rejected") })).toBe(
      false,
    );
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery?.status).toBe("delivered");
  });

  test("a disabled endpoint is not queued for", async () => {
    const { endpoint } = await createEndpoint("/disabled", ["kyc.approved"]);
    expect(
      (await callApi(kit.app, owner, "PATCH", `/webhooks/endpoints/${endpoint.id}`, { enabled: false })).status,
    ).toBe(200);
    await publish(event("kyc.approved", [owner.id], approved(crypto.randomUUID())));
    expect(await deliveriesOf(endpoint.id)).toEqual([]);
  });
});

describe("a system endpoint", () => {
  test("receives every event of its types, whoever it concerns, without free text", async () => {
    const admin = await createUser(kit, "admin");
    const { endpoint, secret } = await createEndpoint("/system", ["kyc.changes_requested"], admin, "system");
    const e = event("kyc.changes_requested", [other.id], {
      applicationId: crypto.randomUUID(),
      message: "Your passport scan is blurry",
    });
    await publish(e);
    await deliverUntil("the system delivery", async () => receivedAt("/system").length === 1);
    const [webhook] = receivedAt("/system");
    if (!webhook) throw new Error("no webhook");
    expect(verifiesWith(secret, webhook)).toBe(true);
    expect(JSON.parse(webhook.body).data).toEqual({ applicationId: e.data.applicationId });
    expect((await deliveriesOf(endpoint.id)).length).toBe(1);
  });
});

describe("retries", () => {
  test("after two 500s the third attempt succeeds; the webhook-id is the same on every attempt", async () => {
    const { endpoint, secret } = await createEndpoint("/flaky", ["kyc.rejected"]);
    receiver.script("/flaky", { status: 500, body: "x".repeat(3_000) }, { status: 500, body: "still down" });
    const e = event("kyc.rejected", [owner.id], { applicationId: crypto.randomUUID(), message: null });
    await publish(e);
    await deliverUntil("three attempts", async () => receivedAt("/flaky").length === 3);
    const webhooks = receivedAt("/flaky");
    expect(new Set(webhooks.map((w) => w.headers["webhook-id"]))).toEqual(new Set([e.id]));
    expect(webhooks.every((w) => verifiesWith(secret, w))).toBe(true);
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery?.status).toBe("delivered");
    expect(delivery?.attempts).toBe(3);
    const attempts = await attemptsOf(delivery?.id as string);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
      [1, 500, "HTTP 500"],
      [2, 500, "HTTP 500"],
      [3, 200, null],
    ]);
    expect(attempts[0]?.responseBody).toBe("x".repeat(1024));
    expect(attempts[1]?.responseBody).toBe("still down");
    // Backoff: the second attempt waited at least the first delay (50 ms, less 20 % jitter).
    const gap = (attempts[1]?.at.getTime() ?? 0) - (attempts[0]?.at.getTime() ?? 0);
    expect(gap).toBeGreaterThanOrEqual(40);
    // A success clears the endpoint's failure clock.
    const [row] = await kit.deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(row?.failingSince).toBeNull();
  });

  test("a redirect is a failure, and its target is never called", async () => {
    const { endpoint } = await createEndpoint("/moved", ["kyc.revoked"]);
    receiver.script(
      "/moved",
      { status: 302, headers: { location: `${receiver.url}/redirect-target` } },
      { status: 307, headers: { location: `${receiver.url}/redirect-target` } },
    );
    await publish(event("kyc.revoked", [owner.id], { applicationId: crypto.randomUUID(), message: null }));
    await deliverUntil("two refused redirects", async () => receivedAt("/moved").length >= 2);
    expect(receivedAt("/redirect-target")).toEqual([]);
    const [delivery] = await deliveriesOf(endpoint.id);
    const attempts = await attemptsOf(delivery?.id as string);
    expect(attempts.slice(0, 2).map((a) => [a.statusCode, a.error])).toEqual([
      [302, "redirect (HTTP 302) not followed"],
      [307, "redirect (HTTP 307) not followed"],
    ]);
  });

  test("an answer that never comes fails the attempt within the timeout", async () => {
    const { endpoint } = await createEndpoint("/slow", ["wallet.eligible"]);
    receiver.script("/slow", "hang");
    await publish(event("wallet.eligible", [owner.id], { wallet: "0x".padEnd(42, "a"), chainId: 31337 }));
    const started = Date.now();
    await deliverDue(kit.deps);
    expect(Date.now() - started).toBeLessThan(3_000);
    const [delivery] = await deliveriesOf(endpoint.id);
    const [attempt] = await attemptsOf(delivery?.id as string);
    expect(attempt?.statusCode).toBeNull();
    expect(attempt?.error).toBe("no answer within 800 ms");
    expect(delivery?.status).toBe("failed");
  });

  test("past the retry window a failure is final (dead)", async () => {
    const { endpoint } = await createEndpoint("/gone", ["wallet.eligibility_failed"]);
    receiver.script("/gone", { status: 503 });
    await publish(
      event("wallet.eligibility_failed", [owner.id], { wallet: "0x".padEnd(42, "b"), chainId: 31337, reason: "x" }),
    );
    const dayAgo = new Date(Date.now() - 25 * 3_600_000);
    await kit.deps.db
      .update(webhookDeliveries)
      .set({ queuedAt: dayAgo })
      .where(eq(webhookDeliveries.endpointId, endpoint.id));
    await deliverDue(kit.deps);
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery?.status).toBe("dead");
    expect(delivery?.lastError).toBe("HTTP 503");
  });

  test("an endpoint failing for a day is disabled, and its owner's notice is handed over once", async () => {
    const { endpoint } = await createEndpoint("/down", ["token_operation.failed"]);
    receiver.script("/down", { status: 500 }, { status: 500 }, { status: 500 });
    const notices: EndpointDisabledNotice[] = [];
    const onEndpointDisabled = async (_tx: unknown, notice: EndpointDisabledNotice) => void notices.push(notice);
    const failed = (operationId: string) =>
      event("token_operation.failed", [owner.id], {
        operationId,
        token: "0x1",
        tokenSymbol: "T",
        kind: "mint",
        reason: "r",
      });
    await publish(failed("op-1"));
    await deliverDue(kit.deps, { onEndpointDisabled });
    expect(notices).toEqual([]); // failing, but not for a day yet
    const since = new Date(Date.now() - 24 * 3_600_000 - 60_000);
    await kit.deps.db.update(webhookEndpoints).set({ failingSince: since }).where(eq(webhookEndpoints.id, endpoint.id));
    await deliverUntil("the endpoint disabled", async () => notices.length === 1, { onEndpointDisabled });
    expect(notices).toEqual([
      {
        type: "webhook.endpoint_disabled",
        recipientId: owner.id,
        data: { endpointId: endpoint.id, url: `${receiver.url}/down`, failingSince: since.toISOString() },
      },
    ]);
    expect(notices[0]).toEqual(
      endpointDisabledNotice({ id: endpoint.id, ownerId: owner.id, url: `${receiver.url}/down` }, since),
    );
    const got = await callApi(kit.app, owner, "GET", `/webhooks/endpoints/${endpoint.id}`);
    expect(got.body.enabled).toBe(false);
    expect(got.body.disabledAt).not.toBeNull();
    // Disabled: new events are not queued, and what is queued waits.
    await publish(failed("op-2"));
    expect((await deliveriesOf(endpoint.id)).length).toBe(1);
    // Enabled again: a fresh clock, and the queued delivery goes out.
    const enabled = await callApi(kit.app, owner, "PATCH", `/webhooks/endpoints/${endpoint.id}`, { enabled: true });
    expect([enabled.body.enabled, enabled.body.failingSince, enabled.body.disabledAt]).toEqual([true, null, null]);
    receiver.script("/down");
    await deliverUntil("the queued delivery", async () => (await deliveriesOf(endpoint.id))[0]?.status === "delivered");
  });
});

describe("the connection", () => {
  test("goes to the address the resolver answered, once per attempt, with the URL's Host", async () => {
    const { endpoint, secret } = await createEndpoint("/pinned", ["kyc.submitted"]);
    const url = `http://hooks.pinned-kit.net:${receiver.port}/pinned`;
    await kit.deps.db.update(webhookEndpoints).set({ url }).where(eq(webhookEndpoints.id, endpoint.id));
    const asked: string[] = [];
    const resolve = async (host: string) => {
      asked.push(host);
      return [{ address: "127.0.0.1", family: 4 as const }];
    };
    await publish(event("kyc.submitted", [owner.id], { applicationId: crypto.randomUUID() }));
    await deliverDue(kit.deps, { resolve });
    const [webhook] = receivedAt("/pinned");
    expect(webhook?.headers.host).toBe(`hooks.pinned-kit.net:${receiver.port}`);
    expect(webhook && verifiesWith(secret, webhook)).toBe(true);
    expect(asked).toEqual(["hooks.pinned-kit.net"]);
  });

  test("over TLS, the certificate is checked against the URL's name, not the address connected to", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kit-webhook-tls-"));
    const made = Bun.spawnSync(
      ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        .concat(["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1"])
        .concat(["-subj", "/CN=hooks.tls-kit.net", "-addext", "subjectAltName=DNS:hooks.tls-kit.net"]),
      { stderr: "pipe" },
    );
    expect(made.exitCode).toBe(0);
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    const key = readFileSync(join(dir, "key.pem"), "utf8");
    rmSync(dir, { recursive: true, force: true });
    const seen: string[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { key, cert },
      fetch: (request) => {
        seen.push(request.headers.get("host") ?? "");
        return new Response("ok");
      },
    });
    try {
      const resolve = async () => [{ address: "127.0.0.1", family: 4 as const }];
      const attemptAt = async (host: string) => {
        const { endpoint } = await createEndpoint(`/tls-${host}`, ["kyc.approved"]);
        const url = `https://${host}:${server.port}/hook`;
        await kit.deps.db.update(webhookEndpoints).set({ url }).where(eq(webhookEndpoints.id, endpoint.id));
        await publish(event("kyc.approved", [owner.id], approved(crypto.randomUUID())));
        await deliverDue(kit.deps, { resolve, tlsCa: cert });
        const [delivery] = await deliveriesOf(endpoint.id);
        return (await attemptsOf(delivery?.id as string))[0];
      };
      expect(await attemptAt("hooks.tls-kit.net")).toMatchObject({ statusCode: 200, error: null });
      expect(seen).toContain(`hooks.tls-kit.net:${server.port}`);
      // Same address, another name: the certificate does not cover it, so nothing is sent.
      const refused = await attemptAt("other.tls-kit.net");
      expect(refused?.statusCode).toBeNull();
      expect(refused?.error).toBe("connection failed: ERR_TLS_CERT_ALTNAME_INVALID");
      expect(seen.filter((host) => host.startsWith("other."))).toEqual([]);
    } finally {
      server.stop(true);
    }
  });
});
