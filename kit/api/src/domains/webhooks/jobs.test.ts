// The sender as the worker runs it: several senders at once send each delivery exactly once (FOR
// UPDATE SKIP LOCKED), and the jobs composed in jobs/registry.ts — the schedule sweeping due
// deliveries and the send job the dispatcher queues — deliver with nobody calling the sender.
import { afterAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { createUser } from "../../../test/users";
import { startWebhookReceiver, verifiesWith } from "../../../test/webhook-receiver";
import { jobDefinitions } from "../../jobs/registry";
import { startWorker } from "../../jobs/worker";
import { deliverDue } from "./deliver";
import { queueWebhookDeliveries } from "./fanout";
import { WEBHOOK_SEND_JOB, WEBHOOK_SWEEP_JOB } from "./jobs";
import { webhookDeliveries } from "./schema";

const kit = await createTestKit({ env: { WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_SWEEP_SECONDS: "1" } });
const receiver = startWebhookReceiver();
afterAll(() => receiver.stop());

async function endpointAt(path: string) {
  const owner = await createUser(kit, "investor");
  const answer = await callApi(kit.app, owner, "POST", "/webhooks/endpoints", {
    url: `${receiver.url}${path}`,
    eventTypes: ["wallet.eligible"],
  });
  expect(answer.status).toBe(201);
  return { ownerId: owner.id, endpointId: answer.body.endpoint.id as string, secret: answer.body.secret as string };
}

async function publish(recipient: string): Promise<string> {
  const id = `evt_${crypto.randomUUID()}`;
  await kit.deps.db.transaction((tx) =>
    queueWebhookDeliveries(tx, {
      id,
      type: "wallet.eligible",
      occurredAt: new Date(),
      recipients: [recipient],
      data: { wallet: `0x${"c".repeat(40)}`, chainId: 31337 },
    }),
  );
  return id;
}

const at = (path: string) => receiver.received.filter((r) => r.path === path);

describe("senders", () => {
  test("three at once send each of 60 deliveries exactly once", async () => {
    const { ownerId, endpointId, secret } = await endpointAt("/parallel");
    const ids = new Set<string>();
    for (let i = 0; i < 60; i++) ids.add(await publish(ownerId));
    const runs = await Promise.all([1, 2, 3].map(() => deliverDue(kit.deps, { batchSize: 7 })));
    expect(runs.reduce((sum, run) => sum + run.delivered, 0)).toBe(60);
    const received = at("/parallel");
    expect(received.length).toBe(60);
    expect(new Set(received.map((r) => r.headers["webhook-id"]))).toEqual(ids);
    expect(received.every((r) => verifiesWith(secret, r))).toBe(true);
    const rows = await kit.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
    expect(rows.every((row) => row.status === "delivered" && row.attempts === 1)).toBe(true);
  });
});

describe("a worker killed mid-send", () => {
  test("leaves its claimed delivery to be sent again once the lease runs out", async () => {
    const { ownerId, endpointId } = await endpointAt("/lease");
    const eventId = await publish(ownerId);
    // What a claim leaves behind when its worker dies before recording the attempt.
    await kit.deps.db
      .update(webhookDeliveries)
      .set({ attempts: 1, nextAttemptAt: new Date(Date.now() + 300) })
      .where(eq(webhookDeliveries.endpointId, endpointId));
    expect((await deliverDue(kit.deps)).attempted).toBe(0);
    await eventually("the lease to run out", async () => (await deliverDue(kit.deps)).delivered === 1);
    expect(at("/lease").map((r) => r.headers["webhook-id"])).toEqual([eventId]);
    const [row] = await kit.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, endpointId));
    expect([row?.status, row?.attempts]).toEqual(["delivered", 2]);
  });
});

describe("the worker", () => {
  const definitions = jobDefinitions(kit.config).filter((d) => d.name.startsWith("webhooks."));

  test("the registry schedules the sweep every WEBHOOK_SWEEP_SECONDS; it and the send job deliver", async () => {
    expect(definitions.map((d) => [d.name, d.everySeconds])).toEqual([
      [WEBHOOK_SEND_JOB, undefined],
      [WEBHOOK_SWEEP_JOB, 1],
    ]);
    const { ownerId } = await endpointAt("/worker");
    const worker = await startWorker(kit.deps, definitions);
    try {
      const swept = await publish(ownerId);
      await eventually("the sweep's delivery", () => at("/worker").some((r) => r.headers["webhook-id"] === swept));
      const sent = await publish(ownerId);
      await kit.deps.jobs.enqueue(WEBHOOK_SEND_JOB);
      await eventually("the send job's delivery", () => at("/worker").some((r) => r.headers["webhook-id"] === sent));
      expect(at("/worker").length).toBe(2);
    } finally {
      await worker.close();
    }
  });
});
