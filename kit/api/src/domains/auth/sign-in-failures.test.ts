// Refused sign-ins are summarized into the audit trail once per ended hour: counts, distinct
// accounts and addresses, accounts locked by the account-wide ceiling — as keyed hashes, never an
// e-mail or an address — and one row per hour however many workers run the job at once.
import { describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { createTestKit } from "../../../test/kit";
import { createUser, TRUSTED_ORIGIN } from "../../../test/users";
import { auditEvents } from "../audit/schema";
import { summarizeSignInFailures } from "./sign-in-failures";

const OWN_LIMIT = 3;
const kit = await createTestKit({
  env: {
    TRUST_PROXY_HOPS: "1",
    RATE_LIMITS: JSON.stringify({
      "auth.sign-in.account-address": { limit: OWN_LIMIT, windowSeconds: 900 },
      "auth.sign-in.account": { limit: 4, windowSeconds: 900 },
    }),
  },
});

const attempt = (email: string, forwardedFor: string, password = "not the password at all") =>
  kit.request("/api/auth/sign-in/email", {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, "x-forwarded-for": forwardedFor },
    body: JSON.stringify({ email, password }),
  });

const HOUR_MS = 60 * 60 * 1000;

async function summaries() {
  return kit.deps.db
    .select({ subjectId: auditEvents.subjectId, actorKind: auditEvents.actorKind, after: auditEvents.after })
    .from(auditEvents)
    .where(and(eq(auditEvents.action, "auth.sign_in_failures"), eq(auditEvents.subjectType, "auth_sign_in_window")));
}

describe("sign-in failures summary", () => {
  test("one PII-free event per ended hour with the hour's counts; concurrent runs write it once", async () => {
    const [guessed, sprayed, other] = [await createUser(kit), await createUser(kit), await createUser(kit)];
    const statuses: number[] = [];
    // One account from one address: 3 wrong passwords (its budget), then one refused by that budget.
    for (let i = 0; i < OWN_LIMIT + 1; i++) statuses.push((await attempt(guessed.email, "198.51.100.7")).status);
    // Another from 4 new addresses: the account-wide ceiling (4, one spent by the owner's own
    // sign-in when the test made the user) refuses the fourth: locked.
    for (let i = 1; i <= 4; i++) statuses.push((await attempt(sprayed.email, `203.0.113.${i}`)).status);
    // A third account, once; and a correct sign-in, which is not a failure.
    statuses.push((await attempt(other.email, "198.51.100.7")).status);
    statuses.push((await attempt(other.email, "198.51.100.8", other.password)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 401, 401, 401, 429, 401, 200]);

    // The hour is still running: nothing is written yet.
    expect((await summarizeSignInFailures(kit.deps)).written).toBe(0);
    const nextHour = Date.now() + HOUR_MS;
    const [first, second] = await Promise.all([
      summarizeSignInFailures(kit.deps, nextHour),
      summarizeSignInFailures(kit.deps, nextHour),
    ]);
    expect(first.written + second.written).toBe(1);
    expect((await summarizeSignInFailures(kit.deps, nextHour)).written).toBe(0);

    const rows = await summaries();
    expect(rows.length).toBe(1);
    const [row] = rows;
    expect(row?.actorKind).toBe("system");
    expect(row?.subjectId).toBe(new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS).toISOString());
    expect(row?.after).toMatchObject({
      failures: 7,
      limited: 2,
      distinctAccounts: 3,
      distinctAddresses: 5,
      lockedAccounts: 1,
    });
    const { topAccounts: top } = (row?.after ?? { topAccounts: [] }) as {
      topAccounts: { account: string; refusals: number }[];
    };
    expect(top.map((t) => t.refusals)).toEqual([4, 4, 1]);
    expect(top.every((t) => /^email:[0-9a-f]{32}$/.test(t.account))).toBe(true);
    // No e-mail, no address in clear.
    const text = JSON.stringify(rows);
    for (const secret of [guessed.email, sprayed.email, other.email, "198.51.100", "203.0.113", "@"]) {
      expect(text).not.toContain(secret);
    }
  });
});
