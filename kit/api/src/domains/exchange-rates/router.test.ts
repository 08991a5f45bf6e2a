// The fx procedures over HTTP: access, status codes, and what a caller is told about bad input.
import { beforeAll, describe, expect, test } from "bun:test";
import { startProviderStub } from "../../../test/fx-providers";
import { createTestKit } from "../../../test/kit";
import { createUser, type TestUser } from "../../../test/users";
import { refreshRates } from "./refresh";

const stub = await startProviderStub();
const kit = await createTestKit({ env: stub.env });
let investor: TestUser;
let admin: TestUser;

beforeAll(async () => {
  [investor, admin] = await Promise.all([createUser(kit, "investor"), createUser(kit, "admin")]);
});

async function call(path: string, who?: TestUser, init: RequestInit = {}) {
  const headers: Record<string, string> = { ...(who ? { cookie: who.cookie } : {}) };
  if (init.body) headers["content-type"] = "application/json";
  const response = await kit.request(`/api${path}`, { ...init, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("before any rates are stored", () => {
  test("currencies are public; a pair with no rate is 404, saying so", async () => {
    const currencies = await call("/fx/currencies");
    expect(currencies.status).toBe(200);
    const items = currencies.body.items as { code: string; minorUnits: number }[];
    expect(items.length).toBeGreaterThan(150);
    expect(items.find((c) => c.code === "JPY")?.minorUnits).toBe(0);
    expect(items.find((c) => c.code === "BHD")?.minorUnits).toBe(3);

    const missing = await call("/fx/rates/EUR/USD", investor);
    expect(missing).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    expect(missing.body.message).toContain("No provider has a rate for EUR/USD");
    expect((await call("/fx/rates/EUR", investor)).status).toBe(404);
    expect((await call("/fx/convert?from=EUR&to=USD&amount=1", investor)).status).toBe(404);
    expect(await call("/fx/rates/EUR/USD/history", investor)).toMatchObject({ status: 200, body: { items: [] } });
  });
});

describe("reading rates", () => {
  beforeAll(async () => {
    await refreshRates(kit.deps);
  });

  test("signed-in users only", async () => {
    expect((await call("/fx/rates/EUR/USD")).status).toBe(401);
    expect((await call("/fx/convert?from=EUR&to=USD&amount=1")).status).toBe(401);
  });

  test("rate, latest, convert and history answer; codes in any case", async () => {
    expect(await call("/fx/rates/eur/usd", investor)).toMatchObject({
      status: 200,
      body: { base: "EUR", quote: "USD", rate: "1.0843", provider: "ecb", stale: false },
    });
    const latest = await call("/fx/rates/EUR", investor);
    expect(latest.status).toBe(200);
    expect((latest.body.rates as unknown[]).length).toBe(30);
    expect(await call("/fx/convert?from=EUR&to=JPY&amount=12.5", investor)).toMatchObject({
      status: 200,
      body: { result: "1986", rate: "158.92" },
    });
    const history = await call("/fx/rates/USD/JPY/history?limit=5", investor);
    expect(history).toMatchObject({ status: 200, body: { base: "USD", quote: "JPY" } });
    expect((history.body.items as unknown[]).length).toBe(1);
  });

  test("the typed client's face (/rpc) gives the same answer", async () => {
    const response = await kit.request("/rpc/fx/convert", {
      method: "POST",
      headers: { cookie: investor.cookie, "content-type": "application/json" },
      body: JSON.stringify({ json: { from: "USD", to: "JPY", amount: "100" } }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { json: { result: string } }).json.result).toBe("14656");
  });

  test("a pair no provider quotes is 404", async () => {
    expect((await call("/fx/rates/EUR/AFN", investor)).status).toBe(404);
    expect((await call("/fx/convert?from=AFN&to=EUR&amount=1", investor)).status).toBe(404);
  });
});

describe("bad input is a 400 that says what to fix", () => {
  const cases: [string, RegExp][] = [
    ["/fx/rates/EURO/USD", /base must be a three-letter ISO 4217 currency code/],
    ["/fx/rates/E1R/USD", /base must be a three-letter ISO 4217 currency code/],
    ["/fx/rates/EUR/XYZ", /XYZ is not a currency Kit knows/],
    ["/fx/rates/ABC", /ABC is not a currency Kit knows/],
    ["/fx/rates/EUR/EUR", /base and quote are both EUR/],
    ["/fx/convert?from=EUR&to=EUR&amount=1", /from and to are both EUR/],
    ["/fx/convert?from=EUR&to=USD&amount=-5", /amount must be greater than zero/],
    ["/fx/convert?from=EUR&to=USD&amount=0", /amount must be greater than zero/],
    ["/fx/convert?from=EUR&to=USD&amount=0.000", /amount must be greater than zero/],
    ["/fx/convert?from=EUR&to=USD&amount=1e5", /amount must be a plain decimal number/],
    ["/fx/convert?from=EUR&to=USD&amount=1%2C000.00", /amount must be a plain decimal number/],
    ["/fx/convert?from=EUR&to=USD&amount=abc", /amount must be a plain decimal number/],
    ["/fx/convert?from=EUR&to=USD&amount=", /amount must be a plain decimal number/],
    ["/fx/convert?from=EUR&to=USD&amount=.5", /amount must be a plain decimal number/],
    ["/fx/convert?from=EUR&to=USD&amount=NaN", /amount must be a plain decimal number/],
    [`/fx/convert?from=EUR&to=USD&amount=1${"0".repeat(30)}`, /at most 30 digits before the point and 18 after/],
    ["/fx/convert?from=EUR&to=USD&amount=1.0000000000000000001", /at most 30 digits before the point and 18 after/],
    ["/fx/convert?from=EUR&to=USD", /amount/],
    ["/fx/convert?from=XYZ&to=USD&amount=1", /XYZ is not a currency Kit knows/],
    ["/fx/rates/EUR/USD/history?limit=0", /limit/],
    ["/fx/rates/EUR/USD/history?limit=1001", /limit/],
    ["/fx/rates/EUR/USD/history?from=yesterday", /from/],
    ["/fx/rates/EUR/USD/history?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z", /from is after to/],
    ["/fx/rates/EUR/USD/history?provider=bank", /provider/],
  ];
  test.each(cases)("%s", async (path, message) => {
    const { status, body } = await call(path, investor);
    expect({ status, code: body.code }).toEqual({ status: 400, code: "BAD_REQUEST" });
    expect(String(body.message)).toMatch(message);
  });
});

describe("admin procedures", () => {
  test("refresh queues a job for the worker (admins only)", async () => {
    expect((await call("/fx/refresh", investor, { method: "POST" })).status).toBe(403);
    const queued = await call("/fx/refresh", admin, { method: "POST" });
    expect(queued.status).toBe(200);
    expect(queued.body.jobId).toEqual(expect.any(String));
  });

  test("a manual rate is stored as given and answers first; bad rates are refused", async () => {
    const put = (who: TestUser, rate: string) =>
      call("/fx/rates/EUR/USD", who, { method: "PUT", body: JSON.stringify({ rate }) });
    expect((await put(investor, "1.2")).status).toBe(403);
    for (const [rate, message] of [
      ["0", /rate must be greater than zero/],
      ["-1.2", /rate must be greater than zero/],
      ["1.2e3", /rate must be a plain decimal number/],
      ["1".repeat(16), /at most 15 digits before the point and 18 after/],
      ["0.0000000000000000001", /at most 15 digits before the point and 18 after/],
    ] as const) {
      const refused = await put(admin, rate);
      expect({ status: refused.status, message: refused.body.message }).toEqual({
        status: 400,
        message: expect.stringMatching(message),
      });
    }
    const set = await put(admin, "1.1000");
    expect(set).toMatchObject({
      status: 200,
      body: { base: "EUR", quote: "USD", rate: "1.1000", provider: "manual", setBy: admin.id },
    });
    expect(await call("/fx/rates/EUR/USD", investor)).toMatchObject({
      status: 200,
      body: { rate: "1.1000", provider: "manual", derivation: "direct" },
    });
    expect(await call("/fx/convert?from=USD&to=EUR&amount=11", investor)).toMatchObject({
      status: 200,
      body: { result: "10.00", provider: "manual", derivation: "inverse" },
    });
  });
});

describe("the provider order comes from system settings", () => {
  test("an admin putting er-api first changes which provider answers, at once (cache included)", async () => {
    // Both providers' quotes stored: ECB serves EUR/USD by default; er-api has USD-based quotes.
    await refreshRates(kit.deps);
    const erApi = {
      ...kit.deps,
      config: { ...kit.deps.config, fx: { ...kit.deps.config.fx, providers: ["er-api" as const] } },
    };
    await refreshRates(erApi);
    const before = await call("/fx/rates/USD/JPY", investor);
    expect(before.status).toBe(200);
    const order = (first: string, second: string) =>
      call("/settings/system", admin, { method: "PATCH", body: JSON.stringify({ fxProviders: [first, second] }) });

    expect((await order("er-api", "ecb")).status).toBe(200);
    expect((await call("/fx/rates/USD/JPY", investor)).body.provider).toBe("er-api");
    expect((await order("ecb", "er-api")).status).toBe(200);
    expect((await call("/fx/rates/USD/JPY", investor)).body.provider).toBe("ecb");
  });
});
