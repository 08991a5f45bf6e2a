// Password guessing is limited per account (whatever the address) and per address (whatever the
// account); the client address comes from TRUST_PROXY_HOPS, not from what a client claims.
import { describe, expect, test } from "bun:test";
import { createTestKit } from "../../../test/kit";
import { TRUSTED_ORIGIN } from "../../../test/users";

const kit = await createTestKit({ env: { TRUST_PROXY_HOPS: "1" } });

const attempt = (email: string, forwardedFor: string) =>
  kit.request("/api/auth/sign-in/email", {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, "x-forwarded-for": forwardedFor },
    body: JSON.stringify({ email, password: "not the password at all" }),
  });

describe("sign-in attempts", () => {
  test("one account: the 11th attempt within 15 minutes is refused, even from fresh addresses", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await attempt("victim@example.com", `198.51.100.${i + 1}`)).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    const refused = await attempt("victim@example.com", "198.51.100.200");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { code: string }).code).toBe("TOO_MANY_REQUESTS");
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
