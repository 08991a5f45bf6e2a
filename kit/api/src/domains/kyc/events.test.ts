// Live KYC status: SSE over REST and the typed client, against real Redis pub/sub, in-process and
// across two API processes. Every stream read has a deadline; every stream is closed by its test.
import { afterAll, describe, expect, test } from "bun:test";
import { createORPCClient } from "@orpc/client";
import { RPCLink } from "@orpc/client/fetch";
import type { ContractRouterClient } from "@orpc/contract";
import { eq } from "drizzle-orm";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { createDraftApplication, createSubmittedApplication } from "../../../test/kyc";
import { serveKit } from "../../../test/serve";
import { readServerSentEvents } from "../../../test/sse";
import { createUser, type TestUser } from "../../../test/users";
import type { Contract } from "../../contract";
import { createLogger } from "../../infra/log";
import { createRedis } from "../../infra/redis";
import type { OwnStatusEvent } from "./contract-applicant";
import type { StatusEvent } from "./contract-shapes";
import type { KycStatus } from "./contract-values";
import {
  MAX_QUEUE_STREAMS_PER_USER,
  MAX_STREAMS_PER_USER,
  publishStatusEvent,
  queueChannel,
  userChannel,
  watchQueue,
} from "./events";
import { type ApplicationRow, announceStatusChange, changeStatus } from "./lifecycle";
import { kycApplications } from "./schema";

const kit = await createTestKit();
const READ_TIMEOUT_MS = 5_000;

// Sign-ins are limited per address: a few users, shared by the tests below.
const alice = await createUser(kit, "investor");
const bob = await createUser(kit, "investor");
const carol = await createUser(kit, "investor");
const dave = await createUser(kit, "investor");
const reviewer = await createUser(kit, "kyc_reviewer");

/** One status change the way the services make it: committed, then announced. */
async function changeAndAnnounce(
  applicationId: string,
  to: KycStatus,
  set: Partial<ApplicationRow> = {},
): Promise<ApplicationRow> {
  const change = await kit.deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(kycApplications).where(eq(kycApplications.id, applicationId));
    if (!current) throw new Error(`no application ${applicationId}`);
    return changeStatus(tx, current, to, { actorId: null, set });
  });
  await announceStatusChange(kit.deps, change);
  return change.application;
}

type Opened = { response: Response; events: ReturnType<typeof readServerSentEvents>; abort(): Promise<void> };
const opened: Opened[] = [];

/** GET an SSE route in-process as `user` (anonymous without one). */
async function openStream(path: string, user?: TestUser): Promise<Opened> {
  const controller = new AbortController();
  const response = await kit.request(path, {
    headers: user ? { cookie: user.cookie } : {},
    signal: controller.signal,
  });
  const events = readServerSentEvents(response.body ?? new ReadableStream(), READ_TIMEOUT_MS);
  const stream = {
    response,
    events,
    async abort() {
      controller.abort();
      await events.close();
    },
  };
  opened.push(stream);
  return stream;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.abort()));
});

async function subscribers(channel: string): Promise<number> {
  const [, count] = (await kit.deps.redis.pubsub("NUMSUB", channel)) as [string, number];
  return Number(count);
}

function typedClient(user: TestUser): ContractRouterClient<Contract> {
  return createORPCClient(
    new RPCLink({
      url: "http://kit.test/rpc",
      headers: { cookie: user.cookie },
      fetch: (request) => Promise.resolve(kit.app.fetch(request)),
    }),
  );
}

describe("kyc.events over REST (SSE)", () => {
  test("the current status first, then each change of one's own application and nobody else's", async () => {
    const own = await createDraftApplication(kit, alice);
    const other = await createDraftApplication(kit, bob);

    const stream = await openStream("/api/kyc/events", alice);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get("content-type")).toContain("text/event-stream");
    const current = await stream.events.message<StatusEvent>();
    expect(current).toMatchObject({ applicationId: own.id, status: "draft", previousStatus: null });

    // Bob's change is published first: were it to reach Alice, it would be the next thing she reads.
    await changeAndAnnounce(other.id, "submitted", { submittedAt: new Date() });
    const submitted = await changeAndAnnounce(own.id, "submitted", { submittedAt: new Date() });
    expect(await stream.events.message<OwnStatusEvent>()).toEqual({
      applicationId: own.id,
      status: "submitted",
      previousStatus: "draft",
      version: submitted.version,
      at: submitted.updatedAt.toISOString(),
    });

    const claimed = await changeAndAnnounce(own.id, "in_review", { reviewerId: reviewer.id, claimedAt: new Date() });
    const claimedEvent = await stream.events.message<StatusEvent>();
    expect(claimedEvent).toMatchObject({
      status: "in_review",
      previousStatus: "submitted",
      at: claimed.updatedAt.toISOString(),
    });
    // Who reviews it is the reviewers' business: the applicant's own stream never names them.
    expect(claimedEvent).not.toHaveProperty("reviewerId");
    await stream.abort();
  });

  test("a reconnecting client gets the current status with the change that made it", async () => {
    const stream = await openStream("/api/kyc/events", alice);
    expect(await stream.events.message<StatusEvent>()).toMatchObject({
      status: "in_review",
      previousStatus: "submitted",
    });
    await stream.abort();
  });

  test("an event older than what the stream has shown (published late) is never sent: no stepping back", async () => {
    const draft = await createDraftApplication(kit, dave);
    const stream = await openStream("/api/kyc/events", dave);
    const first = await stream.events.message<StatusEvent>();
    expect(first).toMatchObject({ applicationId: draft.id, status: "draft", version: draft.row.version });
    // A publisher that stalled delivers the snapshot's own change, and an even older one, after the read.
    for (const version of [draft.row.version, draft.row.version - 1]) {
      await publishStatusEvent(kit.deps, dave.id, { ...first, status: "draft", version });
    }
    const submitted = await changeAndAnnounce(draft.id, "submitted", { submittedAt: new Date() });
    expect(await stream.events.message<StatusEvent>()).toMatchObject({
      status: "submitted",
      version: submitted.version,
    });
    await stream.abort();
  });

  test("a user without an application gets no snapshot, then their first change", async () => {
    const stream = await openStream("/api/kyc/events", carol);
    expect(stream.response.status).toBe(200);
    const draft = await createDraftApplication(kit, carol);
    await changeAndAnnounce(draft.id, "submitted", { submittedAt: new Date() });
    expect(await stream.events.message<StatusEvent>()).toMatchObject({ applicationId: draft.id, status: "submitted" });
    await stream.abort();
  });

  test("anonymous callers are refused with a typed 401, on both faces, and subscribe nothing", async () => {
    const before = kit.deps.local.kycStatusStreams.stats().streams;
    const rest = await kit.request("/api/kyc/events");
    expect(rest.status).toBe(401);
    expect(await rest.json()).toMatchObject({ code: "UNAUTHORIZED", defined: true });
    const rpc = await kit.request("/rpc/kyc/events", { method: "POST", body: "{}" });
    expect(rpc.status).toBe(401);
    expect(((await rpc.json()) as { json: { code: string } }).json.code).toBe("UNAUTHORIZED");
    expect(kit.deps.local.kycStatusStreams.stats().streams).toBe(before);
  });

  test(`at most ${MAX_STREAMS_PER_USER} open streams per user: then TOO_MANY_REQUESTS, until one closes`, async () => {
    const streams = await Promise.all(
      Array.from({ length: MAX_STREAMS_PER_USER }, () => openStream("/api/kyc/events", bob)),
    );
    expect(streams.map((s) => s.response.status)).toEqual(Array(MAX_STREAMS_PER_USER).fill(200));
    const refused = await kit.request("/api/kyc/events", { headers: { cookie: bob.cookie } });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: "TOO_MANY_REQUESTS", defined: true });
    // Other users are not affected.
    const others = await openStream("/api/kyc/events", carol);
    expect(others.response.status).toBe(200);
    await others.abort();

    await streams[0]?.abort();
    const again = await openStream("/api/kyc/events", bob);
    expect(again.response.status).toBe(200);
    await Promise.all([again, ...streams].map((s) => s.abort()));
    await eventually(
      "bob's stream to unsubscribe",
      async () => (await subscribers(userChannel(kit.config, bob.id))) === 0,
    );
  });

  test("one subscription per channel and process, released when the last stream goes", async () => {
    const channel = userChannel(kit.config, alice.id);
    expect(await subscribers(channel)).toBe(0);
    const first = await openStream("/api/kyc/events", alice);
    const second = await openStream("/api/kyc/events", alice);
    await first.events.message<StatusEvent>();
    await second.events.message<StatusEvent>();
    expect(await subscribers(channel)).toBe(1);
    await first.abort();
    await eventually("one open stream", () => kit.deps.local.kycStatusStreams.stats().streams === 1);
    expect(await subscribers(channel)).toBe(1);
    await second.abort();
    await eventually("the channel to have no subscriber", async () => (await subscribers(channel)) === 0);
  });

  test("cancelling the body alone (no abort signal) ends the stream and its subscription at once", async () => {
    const channel = userChannel(kit.config, alice.id);
    const stream = await openStream("/api/kyc/events", alice);
    await stream.events.message<StatusEvent>();
    expect(await subscribers(channel)).toBe(1);
    // Idle (no event pending): an async generator would hold on until its next event.
    await stream.events.close();
    await eventually("the channel to have no subscriber", async () => (await subscribers(channel)) === 0);
    expect(kit.deps.local.kycStatusStreams.stats()).toMatchObject({ channels: 0, streams: 0 });
  });

  test("a reader that falls too far behind is ended, not buffered without bound", async () => {
    const channel = queueChannel(kit.config);
    const controller = new AbortController();
    const stream = await watchQueue(kit.deps, reviewer.id, controller.signal);
    const event: StatusEvent = {
      applicationId: crypto.randomUUID(),
      status: "submitted",
      previousStatus: "draft",
      reviewerId: null,
      version: 2,
      at: new Date().toISOString(),
    };
    // Nobody reads: the buffer fills, then the stream ends and lets go of its subscription.
    for (let i = 0; i < 40; i++) await kit.deps.redis.publish(channel, JSON.stringify(event));
    await eventually("the channel to have no subscriber", async () => (await subscribers(channel)) === 0);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    controller.abort();
  });
});

describe("kyc.events over the typed client", () => {
  test("yields the current status and each change; aborting ends it and releases the subscription", async () => {
    const client = typedClient(carol);
    const channel = userChannel(kit.config, carol.id);
    const controller = new AbortController();
    const iterator = await client.kyc.events(undefined, { signal: controller.signal });
    const next = () =>
      Promise.race([
        iterator.next(),
        Bun.sleep(READ_TIMEOUT_MS).then(() => {
          throw new Error("no event within the deadline");
        }),
      ]);
    const first = await next();
    expect(first.value).toMatchObject({ status: "submitted", previousStatus: "draft" });
    expect(await subscribers(channel)).toBe(1);

    const [application] = await kit.deps.db.select().from(kycApplications).where(eq(kycApplications.userId, carol.id));
    if (!application) throw new Error("carol has no application");
    await changeAndAnnounce(application.id, "in_review", { reviewerId: reviewer.id, claimedAt: new Date() });
    const claimedEvent = (await next()).value;
    expect(claimedEvent).toMatchObject({ status: "in_review" });
    expect(claimedEvent).not.toHaveProperty("reviewerId");

    controller.abort();
    await eventually("the channel to have no subscriber", async () => (await subscribers(channel)) === 0);
    expect(kit.deps.local.kycStatusStreams.stats().streams).toBe(0);
  });
});

describe("kyc.review.events", () => {
  test("reviewers hear every queue change but drafts; investors are refused with 403", async () => {
    const refused = await kit.request("/api/kyc/review/events", { headers: { cookie: alice.cookie } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: "FORBIDDEN", defined: true });

    const stream = await openStream("/api/kyc/review/events", reviewer);
    expect(stream.response.status).toBe(200);
    const applicant = await createUser(kit, "investor");
    const draft = await createDraftApplication(kit, applicant);
    // A draft's own event goes to its owner only.
    await publishStatusEvent(kit.deps, applicant.id, {
      applicationId: draft.id,
      status: "draft",
      previousStatus: null,
      reviewerId: null,
      version: draft.row.version,
      at: draft.row.updatedAt.toISOString(),
    });
    await changeAndAnnounce(draft.id, "submitted", { submittedAt: new Date() });
    expect(await stream.events.message<StatusEvent>()).toMatchObject({
      applicationId: draft.id,
      status: "submitted",
      previousStatus: "draft",
    });
    await stream.abort();
  });

  test(`at most ${MAX_QUEUE_STREAMS_PER_USER} open queue streams per reviewer: then TOO_MANY_REQUESTS, until one closes`, async () => {
    const streams = await Promise.all(
      Array.from({ length: MAX_QUEUE_STREAMS_PER_USER }, () => openStream("/api/kyc/review/events", reviewer)),
    );
    expect(streams.map((s) => s.response.status)).toEqual(Array(MAX_QUEUE_STREAMS_PER_USER).fill(200));
    const refused = await kit.request("/api/kyc/review/events", { headers: { cookie: reviewer.cookie } });
    expect(refused.status).toBe(429);
    const error = (await refused.json()) as { code: string; defined: boolean; message: string };
    expect(error).toMatchObject({ code: "TOO_MANY_REQUESTS", defined: true });
    expect(error.message).toContain("close one");
    // Counted apart: the reviewer's own-status stream still opens.
    const own = await openStream("/api/kyc/events", reviewer);
    expect(own.response.status).toBe(200);
    await own.abort();

    await streams[0]?.abort();
    const again = await openStream("/api/kyc/review/events", reviewer);
    expect(again.response.status).toBe(200);
    await Promise.all([again, ...streams].map((s) => s.abort()));
    await eventually("the queue streams to end", () => kit.deps.local.kycStatusStreams.stats().streams === 0);
  });
});

describe("publishing", () => {
  test("never throws while Redis is away, and logs the lost event without personal data", async () => {
    const lines: string[] = [];
    const config = { ...kit.config, log: { ...kit.config.log, level: "warn" as const } };
    const log = createLogger(config, {}, { write: (line: string) => lines.push(line) });
    // Nothing listens on port 1; commands fail at once (no offline queue).
    const away = createRedis(
      { redis: { url: "redis://127.0.0.1:1", keyPrefix: "away:", commandTimeoutMs: 500, breakerMs: 1000 } },
      log,
      "away",
    );
    try {
      const userId = "user-that-must-not-be-logged";
      await publishStatusEvent({ config: kit.config, redis: away, log }, userId, {
        applicationId: "5f0c6a3e-2b1d-4c8e-9f7a-1b2c3d4e5f60",
        status: "approved",
        previousStatus: "in_review",
        reviewerId: "reviewer-that-must-not-be-logged",
        version: 4,
        at: new Date().toISOString(),
      });
      const warning = lines.find((line) => line.includes("could not publish a KYC status event"));
      expect(warning).toContain("5f0c6a3e-2b1d-4c8e-9f7a-1b2c3d4e5f60");
      expect(warning).not.toContain("must-not-be-logged");
    } finally {
      away.disconnect();
    }
  });
});

describe("when the subscriber connection drops", () => {
  test("open streams end (what was published meanwhile is lost), and new streams work once it is back", async () => {
    const own = await openStream("/api/kyc/events", alice);
    const queue = await openStream("/api/kyc/review/events", reviewer);
    await own.events.message<StatusEvent>();
    const subscriber = kit.deps.local.kycStatusStreams.stats().subscriber;
    if (!subscriber) throw new Error("no subscriber connection");

    subscriber.disconnect(true);
    expect(await own.events.next()).toBe("end");
    expect(await queue.events.next()).toBe("end");
    expect(kit.deps.local.kycStatusStreams.stats()).toMatchObject({ channels: 0, streams: 0 });

    // Reconnecting: the stream waits for the subscriber (briefly), then starts with the current status.
    const again = await openStream("/api/kyc/events", alice);
    expect(again.response.status).toBe(200);
    expect(await again.events.message<StatusEvent>()).toMatchObject({ status: "in_review" });
    expect(await subscribers(userChannel(kit.config, alice.id))).toBe(1);
    await Promise.all([own, queue, again].map((s) => s.abort()));
  });
});

describe("across processes", () => {
  test("a reviewer's decision over HTTP on process A reaches the applicant and reviewers on process B", async () => {
    const [a, b] = await Promise.all([serveKit(kit.env), serveKit(kit.env)]);
    try {
      const applicant = await createUser(kit, "investor");
      const application = await createSubmittedApplication(kit, applicant);

      const own = readServerSentEvents(await streamBody(`${b.url}/api/kyc/events`, applicant));
      const queue = readServerSentEvents(await streamBody(`${b.url}/api/kyc/review/events`, reviewer));
      expect(await own.message()).toMatchObject({ applicationId: application.id, status: "submitted" });

      const headers = { cookie: reviewer.cookie, "content-type": "application/json" };
      const claim = await fetch(`${a.url}/api/kyc/review/${application.id}/claim`, { method: "POST", headers });
      expect(claim.status).toBe(200);
      const decision = await fetch(`${a.url}/api/kyc/review/${application.id}/decision`, {
        method: "POST",
        headers,
        body: JSON.stringify({ decision: "approve" }),
      });
      expect(decision.status).toBe(200);

      const expected = [
        { applicationId: application.id, status: "in_review", previousStatus: "submitted" },
        { applicationId: application.id, status: "approved", previousStatus: "in_review" },
      ];
      const ownEvents = [await own.message(), await own.message()];
      expect(ownEvents).toMatchObject(expected);
      for (const event of ownEvents) expect(event).not.toHaveProperty("reviewerId");
      // The reviewers' stream says who acted.
      expect([await queue.message(), await queue.message()]).toMatchObject(
        expected.map((event) => ({ ...event, reviewerId: reviewer.id })),
      );

      // A graceful stop ends open streams (clients reconnect elsewhere) instead of waiting on them.
      const started = Date.now();
      expect(await b.stop(5_000)).toBe(0);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(await own.next()).toBe("end");
      expect(await queue.next()).toBe("end");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 40_000);
});

async function streamBody(url: string, user: TestUser): Promise<ReadableStream<Uint8Array>> {
  const response = await fetch(url, { headers: { cookie: user.cookie }, signal: AbortSignal.timeout(30_000) });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  if (!response.body) throw new Error("no body");
  return response.body;
}
