// users.list: the admin's user search, keyset-paginated newest first. Users are written directly
// (with chosen creation times, ties included) so that the pages can be checked against one read
// of the whole table; the calls go over HTTP as an admin.
import { describe, expect, test } from "bun:test";
import { createTestKit } from "../../../test/kit";
import { createUser } from "../../../test/users";
import { user } from "./schema";

const kit = await createTestKit();
const admin = await createUser(kit, "admin");

interface Page {
  items: { id: string; email: string; role: string; createdAt: string }[];
  nextCursor: string | null;
}

async function list(query: Record<string, string>): Promise<{ status: number; body: Page }> {
  const response = await kit.request(`/api/users?${new URLSearchParams(query)}`, {
    headers: { cookie: admin.cookie },
  });
  return { status: response.status, body: (await response.json()) as Page };
}

/** Every page of a search, following nextCursor (bounded: a loop would show as too many pages). */
async function allPages(query: Record<string, string>, between?: () => Promise<void>): Promise<Page["items"][]> {
  const pages: Page["items"][] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 50; i++) {
    const { status, body } = await list(cursor ? { ...query, cursor } : query);
    expect(status).toBe(200);
    pages.push(body.items);
    cursor = body.nextCursor;
    if (!cursor) return pages;
    await between?.();
  }
  throw new Error("more than 50 pages");
}

/** Users whose names carry `tag`, created at the given times (several at one time: ties on created_at). */
async function insertUsers(tag: string, times: Date[], role = "investor") {
  const rows = times.map((createdAt, i) => ({
    id: crypto.randomUUID(),
    name: `${tag} ${i}`,
    email: `${tag}-${i}-${crypto.randomUUID()}@example.com`,
    role,
    createdAt,
    updatedAt: createdAt,
  }));
  await kit.deps.db.insert(user).values(rows);
  return rows;
}

/** Newest first; the id breaks ties, descending too. */
const newestFirst = (rows: { id: string; createdAt: Date }[]) =>
  [...rows].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

describe("users.list", () => {
  test("cursor pages cover every match once, newest first, ties included; the last page has no cursor", async () => {
    const tag = `zebra${Date.now()}`;
    const base = Date.parse("2026-03-01T10:00:00.000Z");
    // Seven users, four of them created in the same microsecond.
    const tied = new Date(base + 5_000);
    const rows = await insertUsers(tag, [
      new Date(base),
      tied,
      tied,
      new Date(base + 1),
      tied,
      tied,
      new Date(base + 9_000),
    ]);

    const pages = await allPages({ search: tag, limit: "3" });
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat().map((u) => u.id)).toEqual(newestFirst(rows).map((r) => r.id));
  });

  test("a user created while an admin pages does not shift the pages (no repeats, none skipped)", async () => {
    const tag = `yak${Date.now()}`;
    const base = Date.parse("2026-04-01T10:00:00.000Z");
    const rows = await insertUsers(
      tag,
      Array.from({ length: 6 }, (_, i) => new Date(base + i * 1_000)),
    );
    let added = 0;
    const pages = await allPages({ search: tag, limit: "2" }, async () => {
      // Newer than every row: an offset page would now repeat the last row of the page before.
      added += 1;
      await insertUsers(`${tag}`, [new Date(Date.now() + added)]);
    });
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(added).toBe(2);
    expect(pages.flat().map((u) => u.id)).toEqual(newestFirst(rows).map((r) => r.id));
  });

  test("the role filter pages too", async () => {
    const tag = `ibex${Date.now()}`;
    const base = Date.parse("2026-05-01T10:00:00.000Z");
    await insertUsers(tag, [new Date(base), new Date(base + 1)], "investor");
    const issuers = await insertUsers(tag, [new Date(base + 2), new Date(base + 3), new Date(base + 4)], "issuer");
    const pages = await allPages({ search: tag, role: "issuer", limit: "2" });
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat().map((u) => u.id)).toEqual(newestFirst(issuers).map((r) => r.id));
    expect(pages.flat().every((u) => u.role === "issuer")).toBe(true);
  });

  test("a cursor that is not one Kit gave out, or a limit out of range, is a 400 naming the field", async () => {
    const forged = [
      "not-base64-json",
      Buffer.from(JSON.stringify(["2026-01-01", "x"])).toString("base64url"),
      Buffer.from(JSON.stringify(["2026-01-01T00:00:00.000000Z", "a'; drop table user; --"])).toString("base64url"),
      Buffer.from(JSON.stringify(["2026-01-01T00:00:00.000000Z"])).toString("base64url"),
    ];
    for (const cursor of forged) {
      const response = await kit.request(`/api/users?cursor=${encodeURIComponent(cursor)}`, {
        headers: { cookie: admin.cookie },
      });
      expect(response.status).toBe(400);
      const error = (await response.json()) as { code: string; message: string };
      expect(error.code).toBe("BAD_REQUEST");
      expect(error.message).toContain("cursor");
    }
    for (const limit of ["0", "101", "2.5", "many"]) {
      const response = await kit.request(`/api/users?limit=${limit}`, { headers: { cookie: admin.cookie } });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { message: string }).message).toContain("limit must be a whole number");
    }
  });
});
