// The inbox over HTTP: cursor pages newest first, the unread filter and count, marking one or all
// read, nobody else's notification (404), and the live stream (the unread count, then what arrives).
import { describe, expect, test } from "bun:test";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { readServerSentEvents } from "../../../test/sse";
import { createUser, type TestUser } from "../../../test/users";
import { dispatchNotifications } from "./dispatch";
import { inAppFanOut } from "./inbox";
import { recordNotification } from "./record";

const kit = await createTestKit();
const [alice, bob] = await Promise.all([createUser(kit, "investor"), createUser(kit, "investor")]);

/** `n` kyc.submitted events for `who`, dispatched; their ids, oldest first. */
async function notify(who: TestUser, n: number, start = 0): Promise<string[]> {
  const ids = await kit.deps.db.transaction(async (tx) => {
    const made: string[] = [];
    for (let i = 0; i < n; i++) {
      // Distinct times, a millisecond apart, so that the order is known.
      const occurredAt = new Date(Date.UTC(2026, 0, 1) + (start + i) * 1_000);
      made.push(
        (await recordNotification(
          tx,
          "kyc.submitted",
          { subject: who.id },
          { applicationId: `app-${start + i}` },
          { occurredAt },
        )) as string,
      );
    }
    return made;
  });
  await dispatchNotifications(kit.deps, { in_app: inAppFanOut });
  return ids;
}

const get = (who: TestUser, query = "") => callApi(kit.app, who, "GET", `/notifications${query}`);

describe("the inbox", () => {
  let ids: string[] = [];

  test("pages newest first with a cursor, no item twice, none skipped", async () => {
    ids = await notify(alice, 25);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const answer = await get(alice, `?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      expect(answer.status).toBe(200);
      seen.push(...answer.body.items.map((item: { id: string }) => item.id));
      cursor = answer.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids.toReversed());
    const [first] = (await get(alice, "?limit=1")).body.items;
    expect(first).toEqual({
      id: ids.at(-1),
      type: "kyc.submitted",
      data: { applicationId: "app-24" },
      occurredAt: "2026-01-01T00:00:24.000Z",
      readAt: null,
    });
    // Bob has none of them.
    expect((await get(bob)).body).toEqual({ items: [], nextCursor: null });
  });

  test("mark one read: unread filter and count follow; again keeps the first time", async () => {
    expect((await get(alice, "/unread-count")).body).toEqual({ unread: 25 });
    const target = ids[3] as string;
    const marked = await callApi(kit.app, alice, "POST", `/notifications/${target}/read`);
    expect(marked.status).toBe(200);
    expect(marked.body.id).toBe(target);
    expect(Date.parse(marked.body.readAt)).toBeGreaterThan(Date.now() - 60_000);
    const again = await callApi(kit.app, alice, "POST", `/notifications/${target}/read`);
    expect(again.body.readAt).toBe(marked.body.readAt);
    expect((await get(alice, "/unread-count")).body).toEqual({ unread: 24 });
    const unread = await get(alice, "?unread=true&limit=100");
    expect(unread.body.items.length).toBe(24);
    expect(unread.body.items.map((item: { id: string }) => item.id)).not.toContain(target);
    expect((await get(alice, "?unread=false&limit=100")).body.items.length).toBe(25);
  });

  test("someone else's notification is a 404, exactly like one that does not exist, and stays unread", async () => {
    const target = ids[5] as string;
    const theirs = await callApi(kit.app, bob, "POST", `/notifications/${target}/read`);
    const missing = await callApi(kit.app, bob, "POST", `/notifications/${crypto.randomUUID()}/read`);
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe("NOT_FOUND");
    expect(missing.status).toBe(404);
    expect(theirs.body.message.replace(target, "")).toBe(missing.body.message.replace(/[0-9a-f-]{36}/, ""));
    const item = (await get(alice, "?limit=100")).body.items.find((i: { id: string }) => i.id === target);
    expect(item.readAt).toBeNull();
  });

  test("bad input is a typed 400", async () => {
    expect((await get(alice, "?cursor=nonsense")).status).toBe(400);
    expect((await get(alice, "?limit=0")).status).toBe(400);
    expect((await get(alice, "?unread=maybe")).status).toBe(400);
    expect((await callApi(kit.app, alice, "POST", "/notifications/not-a-uuid/read")).status).toBe(400);
    expect((await callApi(kit.app, undefined, "GET", "/notifications")).status).toBe(401);
  });

  test("mark all read", async () => {
    const answer = await callApi(kit.app, alice, "POST", "/notifications/read-all");
    expect(answer.body).toEqual({ marked: 24 });
    expect((await get(alice, "/unread-count")).body).toEqual({ unread: 0 });
    expect((await get(alice, "?unread=true")).body.items).toEqual([]);
    expect((await callApi(kit.app, alice, "POST", "/notifications/read-all")).body).toEqual({ marked: 0 });
  });

  test("the live stream: the unread count first, then each new notification after its commit, then reads", async () => {
    const response = await kit.request("/api/notifications/events", { headers: { cookie: bob.cookie } });
    expect(response.status).toBe(200);
    const events = readServerSentEvents(response.body as ReadableStream<Uint8Array>);
    try {
      expect(await events.message()).toEqual({ unread: 0 });
      const [id] = await notify(bob, 1, 100);
      expect(await events.message()).toMatchObject({ unread: 1, notification: { id, type: "kyc.submitted" } });
      await callApi(kit.app, bob, "POST", `/notifications/${id}/read`);
      expect(await events.message()).toEqual({ unread: 0 });
      // Alice's notifications never reach Bob's stream.
      await notify(alice, 1, 200);
      await notify(bob, 1, 300);
      expect(await events.message()).toMatchObject({ unread: 1, notification: { data: { applicationId: "app-300" } } });
    } finally {
      await events.close();
    }
  });
});
