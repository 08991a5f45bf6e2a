// The SSRF guard with WEBHOOK_ALLOW_PRIVATE off: names (through a resolver hook, as a hostile DNS
// would answer) and literal addresses that lead to loopback, private, link-local (the metadata
// service), CGNAT, unique-local and IPv4-mapped addresses are refused when saved and again when
// connecting, and logged; a name that answered a public address when it was saved and loopback
// at delivery is refused at connect. A TCP listener on 127.0.0.1 counts every connection: none
// may arrive. No test here lets a packet leave the machine: the guard refuses before connecting.
import { afterAll, describe, expect, test } from "bun:test";
import { createServer, type Socket } from "node:net";
import { eq } from "drizzle-orm";
import { createTestKit } from "../../../test/kit";
import { KitError } from "../../errors";
import { user } from "../auth/schema";
import { deliverDue } from "./deliver";
import { createEndpoint, type WebhookActor } from "./endpoints";
import { queueWebhookDeliveries } from "./fanout";
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from "./schema";
import { addressProblem, type HostResolver, resolveTarget } from "./target";

const logLines: string[] = [];
const kit = await createTestKit({ env: { WEBHOOK_ALLOW_PRIVATE: "false" }, logLines });
expect(kit.config.webhooks.allowPrivate).toBe(false);

// Anything reaching 127.0.0.1:<port> is counted, TLS or not.
const connections: Socket[] = [];
const listener = createServer((socket) => {
  connections.push(socket);
  socket.destroy();
});
await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
const port = (listener.address() as { port: number }).port;
afterAll(() => void listener.close());

const PUBLIC = "93.184.216.34";
/** Per name, the answers in order; the last one repeats. */
const answers = new Map<string, string[][]>();
const asked: string[] = [];
const resolve: HostResolver = async (host) => {
  asked.push(host);
  const sequence = answers.get(host);
  if (!sequence?.length) throw Object.assign(new Error(`no answer for ${host}`), { code: "ENOTFOUND" });
  const answer = (sequence.length > 1 ? sequence.shift() : sequence[0]) as string[];
  return answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }) as const);
};

const secrets: string[] = [];

/** A fresh owner per endpoint, so that each event reaches one endpoint. */
async function newOwner(): Promise<WebhookActor> {
  const id = crypto.randomUUID();
  const now = new Date();
  await kit.deps.db
    .insert(user)
    .values({ id, email: `hooks-${id}@example.com`, name: "Hooks", role: "investor", createdAt: now, updatedAt: now });
  return { userId: id, mayManageSystem: false };
}

async function endpointFor(url: string) {
  const actor = await newOwner();
  const created = await createEndpoint(kit.deps, actor, { url, eventTypes: ["kyc.submitted"], scope: "user" }, resolve);
  secrets.push(created.secret);
  return created.endpoint.id;
}

/** Queues an event for the endpoint's owner, runs the sender once; the delivery and its attempt. */
async function deliverTo(endpointId: string) {
  const [endpoint] = await kit.deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId));
  const eventId = `evt_${crypto.randomUUID()}`;
  await kit.deps.db.transaction((tx) =>
    queueWebhookDeliveries(tx, {
      id: eventId,
      type: "kyc.submitted",
      occurredAt: new Date(),
      recipients: [endpoint?.ownerId as string],
      data: { applicationId: crypto.randomUUID() },
    }),
  );
  await deliverDue(kit.deps, { resolve });
  const [delivery] = await kit.deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId));
  const [attempt] = await kit.deps.db
    .select()
    .from(webhookDeliveryAttempts)
    .where(eq(webhookDeliveryAttempts.deliveryId, delivery?.id as string));
  return { delivery, attempt };
}

const refusals = () =>
  logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "webhook refused by the SSRF guard");

const CASES = [
  { label: "loopback", address: "127.0.0.1", reason: "a loopback address" },
  { label: "private", address: "10.0.0.1", reason: "a private address" },
  { label: "metadata", address: "169.254.169.254", reason: "a link-local address (cloud metadata lives there)" },
  { label: "v6-loopback", address: "::1", reason: "a loopback address" },
  { label: "mapped", address: "::ffff:127.0.0.1", reason: "a loopback address" },
  { label: "cgnat", address: "100.64.0.1", reason: "a carrier-grade NAT address" },
  { label: "unique-local", address: "fd00::1", reason: "a unique-local address" },
];

describe("the address check", () => {
  test("refuses every non-public address and lets public ones through", () => {
    for (const { address, reason } of CASES) expect(addressProblem(address)).toBe(reason);
    expect(addressProblem("::ffff:7f00:1")).toBe("a loopback address");
    expect(addressProblem("fe80::1")).toBe("a link-local address");
    expect(addressProblem(PUBLIC)).toBeNull();
    expect(addressProblem("2606:4700::1111")).toBeNull();
  });

  test("one non-public answer among several refuses the name", async () => {
    answers.set("mixed.hooks-kit.net", [[PUBLIC, "10.0.0.1"]]);
    const target = await resolveTarget(new URL("https://mixed.hooks-kit.net/"), { allowPrivate: false, resolve });
    expect(target).toEqual({
      ok: false,
      host: "mixed.hooks-kit.net",
      address: "10.0.0.1",
      reason: "resolves to a private address",
    });
  });
});

describe("when an endpoint is saved", () => {
  test.each(CASES)("a name resolving to $address ($label) is refused", async ({ label, address, reason }) => {
    answers.set(`${label}.saved.hooks-kit.net`, [[address]]);
    const saving = endpointFor(`https://${label}.saved.hooks-kit.net:${port}/hook`);
    await expect(saving).rejects.toThrow(KitError);
    await expect(saving).rejects.toThrow(`resolves to ${reason}`);
  });

  test("literal addresses and internal names are refused as written", async () => {
    for (const url of [
      `https://127.0.0.1:${port}/`,
      `https://[::1]:${port}/`,
      "https://169.254.169.254/",
      "https://10.0.0.1/",
    ]) {
      await expect(endpointFor(url)).rejects.toThrow("the webhook URL points at");
    }
    await expect(endpointFor("http://hooks.public-kit.net/")).rejects.toThrow("must use https://");
    await expect(endpointFor("https://metadata.google.internal/")).rejects.toThrow("internal host name");
  });
});

describe("when a webhook is sent", () => {
  test.each(CASES)(
    "a name that now resolves to $address ($label) is refused at connect and logged",
    async ({ label, address, reason }) => {
      const host = `${label}.later.hooks-kit.net`;
      // Public when saved (the save-time check passes), then the hostile answer at delivery.
      answers.set(host, [[PUBLIC], [address]]);
      const endpointId = await endpointFor(`https://${host}:${port}/hook`);
      const { delivery, attempt } = await deliverTo(endpointId);
      expect(attempt?.error).toBe(`refused: ${host} resolves to ${reason}`);
      expect(attempt?.statusCode).toBeNull();
      expect(delivery?.status).toBe("failed");
      expect(refusals().at(-1)).toMatchObject({ endpointId, host, address, reason: `resolves to ${reason}` });
      expect(connections.length).toBe(0);
    },
  );

  test("a name whose answer changes between the check and the connection cannot win", async () => {
    const host = "rebind.hooks-kit.net";
    answers.set(host, [[PUBLIC], ["127.0.0.1"]]);
    asked.length = 0;
    const endpointId = await endpointFor(`https://${host}:${port}/hook`);
    const { attempt } = await deliverTo(endpointId);
    // Asked once when saved (public) and once at connect (loopback): the connection uses the
    // answer it checked, so it never reaches 127.0.0.1.
    expect(asked.filter((name) => name === host)).toEqual([host, host]);
    expect(attempt?.error).toBe(`refused: ${host} resolves to a loopback address`);
    expect(refusals().at(-1)).toMatchObject({ endpointId, host, address: "127.0.0.1" });
    expect(connections.length).toBe(0);
  });

  test("literal addresses saved earlier (when private targets were allowed) are refused at connect", async () => {
    answers.set("literal.hooks-kit.net", [[PUBLIC]]);
    for (const [literal, reason] of [
      [`127.0.0.1:${port}`, "a loopback address"],
      [`[::1]:${port}`, "a loopback address"],
      ["10.0.0.1", "a private address"],
      ["169.254.169.254", "a link-local address (cloud metadata lives there)"],
      [`[::ffff:127.0.0.1]:${port}`, "a loopback address"],
    ] as const) {
      const endpointId = await endpointFor("https://literal.hooks-kit.net/hook");
      await kit.deps.db
        .update(webhookEndpoints)
        .set({ url: `https://${literal}/hook` })
        .where(eq(webhookEndpoints.id, endpointId));
      const { attempt } = await deliverTo(endpointId);
      expect(attempt?.error).toEndWith(`resolves to ${reason}`);
    }
    expect(connections.length).toBe(0);
  });

  test("no log line carries an endpoint's secret", () => {
    expect(secrets.length).toBeGreaterThan(0);
    const all = logLines.join("\n");
    for (const secret of secrets) {
      expect(all).not.toContain(secret);
      expect(all).not.toContain(secret.slice("whsec_".length));
    }
  });
});
