// The channels as the worker composes them (jobs/registry.ts): an event recorded in a transaction
// is dispatched by the registry's own dispatcher job to the in-app inbox, to the recipient's mailbox
// (a real SMTP server) and to their webhook endpoint (verified by the independent standardwebhooks library), and an endpoint
// disabled after a day of failures tells its owner through the same outbox.
import { afterAll, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { callApi } from "../../test/api";
import { eventually } from "../../test/eventually";
import { createTestKit } from "../../test/kit";
import { createUser } from "../../test/users";
import { startWebhookReceiver, verifiesWith } from "../../test/webhook-receiver";
import { startLocalSmtp } from "../dev/smtp";
import { recordNotification } from "../domains/notifications/record";
import { webhookEndpoints } from "../domains/webhooks/schema";
import { createMetrics } from "../infra/metrics";
import type { JobName } from "./names";
import { jobDefinitions } from "./registry";

const smtp = await startLocalSmtp();
const kit = await createTestKit({
  env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_FIRST_MS: "50", SMTP_URL: smtp.url },
});
const receiver = startWebhookReceiver();
afterAll(async () => {
  receiver.stop();
  await smtp.stop();
});
const investor = await createUser(kit, "investor");

const definitions = jobDefinitions(kit.config);
const metrics = createMetrics();
async function runJob(name: JobName) {
  const definition = definitions.find((d) => d.name === name);
  if (!definition) throw new Error(`no job ${name}`);
  return definition.run(kit.deps, {}, { id: "test", attempt: 1, attempts: 1, metrics });
}
const inboxTypes = async () =>
  ((await callApi(kit.app, investor, "GET", "/notifications")).body.items as { type: string }[]).map((n) => n.type);

test("a recorded event reaches the inbox, the recipient's mailbox and their webhook endpoint, signed", async () => {
  const created = await callApi(kit.app, investor, "POST", "/webhooks/endpoints", {
    url: `${receiver.url}/kit`,
    eventTypes: ["kyc.approved"],
  });
  expect(created.status).toBe(201);
  const applicationId = crypto.randomUUID();
  await kit.deps.db.transaction((tx) =>
    recordNotification(
      tx,
      "kyc.approved",
      { subject: investor.id },
      { applicationId, expiresAt: "2027-12-05T00:00:00Z" },
    ),
  );

  await runJob("notifications.dispatch");
  expect(await inboxTypes()).toEqual(["kyc.approved"]);
  // E-mail on for KYC decisions by default (the catalogue): one message, to the investor.
  await runJob("mail.send");
  const mail = await smtp.waitFor((m) => m.to.includes(investor.email));
  expect(mail.subject).toContain("approved");
  await runJob("webhooks.deliveries.send");
  const [webhook] = receiver.received.filter((r) => r.path === "/kit");
  if (!webhook) throw new Error("no webhook arrived");
  expect(verifiesWith(created.body.secret, webhook)).toBe(true);
  expect(JSON.parse(webhook.body)).toMatchObject({ type: "kyc.approved", data: { applicationId } });
});

test("an endpoint failing for a day is disabled and its owner hears of it in the inbox and by e-mail", async () => {
  const created = await callApi(kit.app, investor, "POST", "/webhooks/endpoints", {
    url: `${receiver.url}/down`,
    eventTypes: ["wallet.eligible"],
  });
  const endpointId = created.body.endpoint.id as string;
  receiver.script("/down", ...Array.from({ length: 20 }, () => ({ status: 500 })));
  await kit.deps.db
    .update(webhookEndpoints)
    .set({ failingSince: new Date(Date.now() - 25 * 3_600_000) })
    .where(eq(webhookEndpoints.id, endpointId));
  await kit.deps.db.transaction((tx) =>
    recordNotification(tx, "wallet.eligible", { subject: investor.id }, { wallet: "0xabc", chainId: 31337 }),
  );
  await runJob("notifications.dispatch");

  await eventually("the endpoint disabled", async () => {
    await runJob("webhooks.deliveries.sweep");
    const [row] = await kit.deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId));
    return row?.enabled === false;
  });
  await runJob("notifications.dispatch");
  expect(await inboxTypes()).toContain("webhook.endpoint_disabled");
  // And by e-mail (on by default for this event).
  const before = smtp.received.length;
  await runJob("mail.send");
  await eventually("the notice mailed", () => smtp.received.length > before);
  expect(smtp.received.at(-1)?.to).toContain(investor.email);
});
