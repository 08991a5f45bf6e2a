// PostgreSQL going away under a running Kit: the shared server stays up, a TCP proxy between this
// kit and it is cut (test/tcp-proxy.ts). Callers get a typed 503 with Retry-After, never a 500;
// the process survives connections dropped mid-transaction; what is logged carries no applicant
// data even though drizzle's error quotes every parameter of the failed statement.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { callApi } from "../../test/api";
import { createTestKit } from "../../test/kit";
import { createUser, TRUSTED_ORIGIN } from "../../test/users";
import { OUTAGE_RETRY_AFTER_SECONDS } from "../http/errors";

const lines: string[] = [];
const kit = await createTestKit({ databaseProxy: true, logLines: lines });
const database = kit.database as NonNullable<typeof kit.database>;
afterEach(() => database.restore());

async function expectUnavailable(response: Response, face: "rest" | "rpc" = "rest") {
  const text = await response.text();
  expect(response.status, text).toBe(503);
  expect(response.headers.get("retry-after")).toBe(String(OUTAGE_RETRY_AFTER_SECONDS));
  const body = face === "rpc" ? JSON.parse(text).json : JSON.parse(text);
  expect(body).toMatchObject({ defined: true, code: "SERVICE_UNAVAILABLE", status: 503 });
  expect(body.message).toContain("retry");
}

const signIn = (email: string, password: string) =>
  kit.request("/api/auth/sign-in/email", {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
    body: JSON.stringify({ email, password }),
  });

describe("Postgres stopped", () => {
  test("sign-in, /api/me and a KYC save answer 503 SERVICE_UNAVAILABLE with Retry-After; back up, they work", async () => {
    const investor = await createUser(kit, "investor");
    database.cut();
    await expectUnavailable(await signIn(investor.email, investor.password));
    await expectUnavailable(await kit.request("/api/me", { headers: { cookie: investor.cookie } }));
    await expectUnavailable(await kit.request("/api/me", { headers: { authorization: `Bearer ${investor.bearer}` } }));
    await expectUnavailable(
      await kit.request("/rpc/me/get", { method: "POST", headers: { cookie: investor.cookie } }),
      "rpc",
    );
    await expectUnavailable(
      await kit.request("/api/kyc/application", {
        method: "PUT",
        headers: { cookie: investor.cookie, "content-type": "application/json" },
        body: JSON.stringify({ firstName: "Ada" }),
      }),
    );

    database.restore();
    expect((await signIn(investor.email, investor.password)).status).toBe(200);
    expect((await callApi(kit.app, investor, "GET", "/me")).status).toBe(200);
    expect((await callApi(kit.app, investor, "PUT", "/kyc/application", { firstName: "Ada" })).status).toBe(200);
  });

  test("a connection dropped in the middle of a transaction is a 503, and the process carries on", async () => {
    // A first save creates the draft in a transaction (application row, then its history row).
    const investor = await createUser(kit, "investor");
    database.cutOn("Transactional");
    await expectUnavailable(
      await kit.request("/api/kyc/application", {
        method: "PUT",
        headers: { cookie: investor.cookie, "content-type": "application/json" },
        body: JSON.stringify({ firstName: "Transactional" }),
      }),
    );
    database.restore();
    const saved = await callApi(kit.app, investor, "PUT", "/kyc/application", { firstName: "Again" });
    expect(saved.status).toBe(200);
    expect(saved.body.version).toBe(1);
  });
});

describe("what a failed save logs", () => {
  test("a KYC save failing as the database stops leaves none of the applicant's values in the log", async () => {
    const investor = await createUser(kit, "investor");
    expect((await callApi(kit.app, investor, "PUT", "/kyc/application", { firstName: "Draft" })).status).toBe(200);
    const applicant = {
      firstName: "Zenobia",
      lastName: "Quartermaine",
      dateOfBirth: "1971-02-03",
      nationality: "CH",
      countryOfResidence: "CH",
      address: { line1: "17 Cherry Tree Lane", city: "Lausanne", postalCode: "1003", country: "CH" },
      nationalIdNumber: "ZQ 771203 X",
    };
    const printed: string[] = [];
    const spies = (["error", "warn", "log", "info"] as const).map((method) =>
      spyOn(console, method).mockImplementation((...args: unknown[]) => {
        printed.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(" "));
      }),
    );
    const from = lines.length;
    try {
      // The statement that carries the values fails: the database is gone the moment it is sent.
      database.cutOn(applicant.firstName);
      await expectUnavailable(
        await kit.request("/api/kyc/application", {
          method: "PUT",
          headers: { cookie: investor.cookie, "content-type": "application/json" },
          body: JSON.stringify(applicant),
        }),
      );
      // Sign-in queries by e-mail: better-auth's failure must not print it either.
      await expectUnavailable(await signIn(investor.email, investor.password));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const logged = lines.slice(from).join("\n");
    // The failure is on record (so the scan below reads the lines that matter)...
    expect(logged).toContain("kyc.application.save");
    expect(logged).toContain("database unavailable");
    // The save runs in a transaction (its data key beside it): what fails is the update, or the
    // rollback that follows it on the dead connection; either is drizzle's "Failed query".
    expect(logged).toMatch(/Failed query: (update|rollback)/);
    // ...without a single value of the applicant, on the log or the console.
    const everything = `${logged}\n${printed.join("\n")}`;
    for (const value of [
      applicant.firstName,
      applicant.lastName,
      applicant.dateOfBirth,
      applicant.address.line1,
      applicant.address.city,
      applicant.nationalIdNumber,
      investor.email,
    ]) {
      expect(everything).not.toContain(value);
    }
  });
});
