// Password guessing is limited per (account, client address), per address whatever the account
// (better-auth), and by a ceiling per account that addresses the owner signed in from are not held
// to — so nobody can lock an owner out. The client address comes from TRUST_PROXY_HOPS, not from
// what a client claims.
import { describe, expect, test } from "bun:test";
import { createTestKit } from "../../../test/kit";
import { createUser, TRUSTED_ORIGIN } from "../../../test/users";

// A per-(account, address) budget below better-auth's per-address one (10 a minute), so that a
// refusal here is Kit's own rule and not better-auth's.
const OWN_LIMIT = 3;
const kit = await createTestKit({
  env: {
    TRUST_PROXY_HOPS: "1",
    RATE_LIMITS: JSON.stringify({ "auth.sign-in.account-address": { limit: OWN_LIMIT, windowSeconds: 900 } }),
  },
});
const CEILING = kit.deps.rateLimitRules["auth.sign-in.account"].limit;

const post = (forwardedFor: string, body: string, contentType = "application/json") =>
  kit.request("/api/auth/sign-in/email", {
    method: "POST",
    headers: { "content-type": contentType, origin: TRUSTED_ORIGIN, "x-forwarded-for": forwardedFor },
    body,
  });
const attempt = (email: string, forwardedFor: string, password = "not the password at all") =>
  post(forwardedFor, JSON.stringify({ email, password }));

let sequence = 0;
/** An address no other request in this file used. */
function freshAddress(): string {
  sequence += 1;
  return `198.18.${(sequence >> 8) & 255}.${sequence & 255}`;
}

const hasSession = (response: Response) => response.headers.get("set-auth-token") !== null;

describe("sign-in attempts", () => {
  test("one account from one address: the attempt past that address's budget is refused; other addresses still get answers", async () => {
    const { email } = await createUser(kit);
    const address = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < OWN_LIMIT + 1; i++) statuses.push((await attempt(email, address)).status);
    expect(statuses).toEqual([...Array(OWN_LIMIT).fill(401), 429]);
    const refused = await attempt(email, address);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe("TOO_MANY_REQUESTS");
    expect(body.message).toContain("from your address");
    // Another address, same account: its own budget.
    expect((await attempt(email, freshAddress())).status).toBe(401);
  });

  test("an attacker spraying from 50 addresses cannot stop the owner's sign-in", async () => {
    const owner = await createUser(kit);
    const home = freshAddress();
    const phone = "2001:db8:77:1::a";
    for (const address of [home, phone]) {
      expect(hasSession(await attempt(owner.email, address, owner.password))).toBe(true);
    }

    const attackers = Array.from({ length: 50 }, freshAddress);
    const statuses: Record<number, number> = {};
    for (let round = 0; round < OWN_LIMIT; round++) {
      for (const address of attackers) {
        const { status } = await attempt(owner.email, address);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }
    // The ceiling held the attacker to what was left of it (the owner's three first sign-ins, by
    // createUser and from home and phone, came from new addresses too); the rest were refused.
    const left = CEILING - 3;
    expect(statuses).toEqual({ 401: left, 429: 50 * OWN_LIMIT - left });
    const ceilingRefusal = await attempt(owner.email, freshAddress(), owner.password);
    expect(ceilingRefusal.status).toBe(429);
    expect(((await ceilingRefusal.json()) as { message: string }).message).toContain("from new addresses");

    // The owner, from addresses they signed in from before (another address of the same IPv6 /64
    // counts as the same): a typo is a plain 401, the right password signs in.
    expect((await attempt(owner.email, home)).status).toBe(401);
    for (const address of [home, phone, "2001:db8:77:1::b0b"]) {
      const signedIn = await attempt(owner.email, address, owner.password);
      expect(signedIn.status).toBe(200);
      expect(hasSession(signedIn)).toBe(true);
    }
  });

  test("bodies better-auth refuses before comparing a password do not count against the account", async () => {
    const owner = await createUser(kit);
    const junk = [
      { email: owner.email },
      { email: owner.email, password: 12345678 },
      { email: owner.email, password: "x".repeat(129) },
      { email: `  ${owner.email}`, password: "not the password at all" },
      { email: owner.email, password: "not the password at all", rememberMe: "yes" },
    ];
    const statuses = new Set<number>();
    for (let i = 0; i < CEILING + 5; i++) {
      statuses.add((await post(freshAddress(), JSON.stringify(junk[i % junk.length]))).status);
    }
    expect([...statuses]).toEqual([400]);
    // Neither the ceiling nor any address's budget was spent: a first sign-in from a new address works.
    expect((await attempt(owner.email, freshAddress(), owner.password)).status).toBe(200);
  });

  test("one address: better-auth's per-address rule refuses the 11th attempt in a minute, across accounts", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await attempt(`user${i}@example.com`, "203.0.113.7")).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
  });

  test("different addresses and accounts do not share a budget; a client-written X-Forwarded-For entry is not believed", async () => {
    const statuses: number[] = [];
    // With one trusted hop the proxy's entry (the last) is the client; the spoofed first entry is ignored.
    for (let i = 0; i < 12; i++)
      statuses.push((await attempt(`other${i}@example.com`, `10.9.9.9, 192.0.2.${i + 1}`)).status);
    expect(statuses.every((s) => s === 401)).toBe(true);
  });
});

describe("body formats", () => {
  test("/api/auth takes JSON only: a form or any other body is 415 before better-auth runs, right password or not", async () => {
    const owner = await createUser(kit);
    const form = new URLSearchParams({ email: owner.email, password: owner.password }).toString();
    const multipart = new FormData();
    multipart.set("email", owner.email);
    multipart.set("password", owner.password);
    const refused = [
      await post(freshAddress(), form, "application/x-www-form-urlencoded"),
      await kit.request("/api/auth/sign-in/email", {
        method: "POST",
        headers: { origin: TRUSTED_ORIGIN, "x-forwarded-for": freshAddress() },
        body: multipart,
      }),
      await post(freshAddress(), JSON.stringify({ email: owner.email, password: owner.password }), "text/plain"),
      await kit.request("/api/auth/sign-in/email", {
        method: "POST",
        headers: { origin: TRUSTED_ORIGIN, "x-forwarded-for": freshAddress() },
        body: new Blob([JSON.stringify({ email: owner.email, password: owner.password })]),
      }),
    ];
    for (const response of refused) {
      expect(response.status).toBe(415);
      expect(hasSession(response)).toBe(false);
      expect(((await response.json()) as { code: string }).code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
    // Wrong guesses sent as forms never reach a password check, so they cannot dodge the limiter.
    const address = freshAddress();
    for (let i = 0; i < OWN_LIMIT + 2; i++) {
      const guess = new URLSearchParams({ email: owner.email, password: `guess number ${i}` }).toString();
      expect((await post(address, guess, "application/x-www-form-urlencoded")).status).toBe(415);
    }
    // JSON with parameters is JSON.
    const json = await post(
      freshAddress(),
      JSON.stringify({ email: owner.email, password: owner.password }),
      "Application/JSON; charset=utf-8",
    );
    expect(json.status).toBe(200);
  });

  test("a POST without a body needs no content type (sign-out)", async () => {
    const user = await createUser(kit);
    const response = await kit.request("/api/auth/sign-out", {
      method: "POST",
      headers: { origin: TRUSTED_ORIGIN, cookie: user.cookie },
    });
    expect(response.status).toBe(200);
    const me = await kit.request("/api/me", { headers: { cookie: user.cookie } });
    expect(me.status).toBe(401);
  });
});
