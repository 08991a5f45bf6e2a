// The exchange-rate service against real Postgres and Redis, with the providers served by a local
// stub from the saved documents. ECB quotes EUR → 30 currencies; ExchangeRate-API quotes USD → 49
// (BHD, KWD, … that the ECB lacks).
import { describe, expect, test } from "bun:test";
import { and, eq, sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { startProviderStub } from "../../../test/fx-providers";
import { createTestKit } from "../../../test/kit";
import { deleteKeysWithPrefix } from "../../infra/redis";
import { getHistory } from "./history";
import { refreshRates } from "./refresh";
import { fxRates, fxRatesLatest } from "./schema";
import { convert, FX_UPDATED_CHANNEL, getLatest, getRate, setManualRate } from "./service";

const stub = await startProviderStub();
const kit = await createTestKit({ env: stub.env });
const deps = kit.deps;

const convertTo = (from: string, to: string, amount: string) => convert(deps, { from, to, amount });

/** Both levels: Redis's entries and this process's copies of them. */
async function dropCache() {
  await deleteKeysWithPrefix(deps.redis, `${kit.config.redis.keyPrefix}cache:{fx}:`);
  deps.local.fxCopies.forget();
}

describe("refreshRates", () => {
  test("before any refresh, a pair has no rate (null), and an unknown currency is the caller's error", async () => {
    expect(await getRate(deps, { base: "EUR", quote: "USD" })).toBeNull();
    await expect(getRate(deps, { base: "EUR", quote: "XYZ" })).rejects.toThrow(/XYZ is not a currency Kit knows/);
  });

  test("the preferred provider (ECB) serves; history and latest get one multi-row insert each; fx:updated is published", async () => {
    const subscriber = new Redis(kit.config.redis.url);
    const messages: string[] = [];
    const channel = `${kit.config.redis.keyPrefix}${FX_UPDATED_CHANNEL}`;
    await subscriber.subscribe(channel);
    subscriber.on("message", (_channel, message) => messages.push(message));

    const result = await refreshRates(deps);
    expect(result).toEqual({ provider: "ecb", pairs: 30, inserted: 30, effectiveAt: "2026-11-20T00:00:00.000Z" });
    expect(stub.erApi.hits).toBe(0);

    const [latest] = await deps.db
      .select()
      .from(fxRatesLatest)
      .where(and(eq(fxRatesLatest.base, "EUR"), eq(fxRatesLatest.quote, "NOK")));
    expect(latest?.rate).toBe("11.6120"); // as given, trailing zero and all
    expect(latest?.provider).toBe("ecb");
    expect((latest?.expiresAt.getTime() ?? 0) - (latest?.fetchedAt.getTime() ?? 0)).toBe(
      kit.config.fx.rateTtlSeconds * 1000,
    );

    for (let i = 0; i < 50 && messages.length === 0; i++) await Bun.sleep(10);
    expect(messages.map((m) => JSON.parse(m))).toEqual([result]);
    subscriber.disconnect();
  });

  test("is idempotent: a second run inserts nothing new", async () => {
    const before = await deps.db.select({ n: sql<number>`count(*)::int` }).from(fxRates);
    const again = await refreshRates(deps);
    expect(again).toMatchObject({ provider: "ecb", pairs: 30, inserted: 0 });
    const after = await deps.db.select({ n: sql<number>`count(*)::int` }).from(fxRates);
    expect(after).toEqual(before);
  });

  test("a provider that is down (HTTP 500) is skipped: the next one serves; unknown codes are skipped", async () => {
    stub.ecb.mode = "500";
    const original = await Bun.file(`${import.meta.dir}/../../../test/fixtures/fx/er-api-latest-USD.json`).text();
    stub.erApi.body = original.replace('"AED": 3.6725,', '"AED": 3.6725,\n  "ZZZ": 1.5,');
    try {
      const result = await refreshRates(deps);
      const codes = Object.keys((JSON.parse(original) as { rates: object }).rates).length;
      expect(result).toEqual({
        provider: "er-api",
        pairs: codes - 1,
        inserted: codes - 1,
        effectiveAt: new Date(1763596951 * 1000).toISOString(),
      });
      const zzz = await deps.db.select().from(fxRatesLatest).where(eq(fxRatesLatest.quote, "ZZZ"));
      expect(zzz).toEqual([]);
    } finally {
      stub.ecb.mode = "ok";
      stub.erApi.body = undefined;
    }
  });

  test("an error answer counts as down too; with every provider down the refresh fails and nothing changes", async () => {
    stub.ecb.mode = "error-json";
    stub.erApi.mode = "error-json";
    try {
      await expect(refreshRates(deps)).rejects.toThrow(/No exchange-rate provider answered.*unsupported-code/);
      expect((await getRate(deps, { base: "EUR", quote: "USD" }))?.rate).toBe("1.0843");
    } finally {
      stub.ecb.mode = "ok";
      stub.erApi.mode = "ok";
    }
  });
});

describe("rates", () => {
  test("direct, inverse and cross, each from the preferred provider that has the pair", async () => {
    expect(await getRate(deps, { base: "EUR", quote: "USD" })).toMatchObject({
      provider: "ecb",
      derivation: "direct",
      rate: "1.0843",
      via: null,
      effectiveAt: "2026-11-20T00:00:00.000Z",
      stale: false,
      quotes: [{ base: "EUR", quote: "USD", rate: "1.0843", effectiveAt: "2026-11-20T00:00:00.000Z" }],
    });
    expect(await getRate(deps, { base: "JPY", quote: "EUR" })).toMatchObject({
      provider: "ecb",
      derivation: "inverse",
      rate: "0.0062924742008557764913",
    });
    expect(await getRate(deps, { base: "USD", quote: "JPY" })).toMatchObject({
      provider: "ecb",
      derivation: "cross",
      via: "EUR",
      rate: "146.56460389191183252",
    });
    // The ECB has no BHD: ExchangeRate-API answers, USD direct, EUR through USD.
    expect(await getRate(deps, { base: "USD", quote: "BHD" })).toMatchObject({
      provider: "er-api",
      derivation: "direct",
      rate: "0.376",
    });
    expect(await getRate(deps, { base: "EUR", quote: "BHD" })).toMatchObject({
      provider: "er-api",
      derivation: "cross",
      via: "USD",
      rate: "0.40772066796790284103",
    });
    expect(await getRate(deps, { base: "EUR", quote: "AFN" })).toBeNull();
  });

  test("latest for a base lists every reachable currency", async () => {
    const latest = await getLatest(deps, { base: "EUR" });
    const byQuote = Object.fromEntries((latest?.rates ?? []).map((r) => [r.quote, r]));
    expect(byQuote.USD).toMatchObject({ provider: "ecb", rate: "1.0843" });
    expect(byQuote.KWD).toMatchObject({ provider: "er-api", derivation: "cross" });
    expect(byQuote.EUR).toBeUndefined();
    expect(await getLatest(deps, { base: "AFN" })).toBeNull();
  });
});

describe("exact conversion, rounded half to even to the target's minor units", () => {
  test.each([
    // from, to, amount, result — each hand-computed from the saved quotes
    ["EUR", "JPY", "1234.5", "196187"], // 196186.74 → JPY has no minor units
    ["EUR", "JPY", "12.5", "1986"], // 1986.5, a tie: the even neighbour
    ["EUR", "JPY", "37.5", "5960"], // 5959.5, a tie: the even neighbour
    ["JPY", "EUR", "1000000", "6292.47"], // inverse: 1000000 / 158.92
    ["USD", "JPY", "100", "14656"], // cross: 100 × 158.92 / 1.0843 = 14656.46…
    ["USD", "BHD", "1000", "376.000"], // BHD has 3 minor units
    ["USD", "BHD", "0.1875", "0.070"], // 0.0705, a tie: half-up would say 0.071
    ["EUR", "BHD", "1000", "407.721"], // cross through USD at ExchangeRate-API
    ["EUR", "JPY", "0.000000000000000001", "0"],
    ["EUR", "USD", "0.000000000000000001", "0.00"],
    ["EUR", "JPY", "999999999999999999999999999999.999999999999999999", "158920000000000000000000000000000"],
    ["EUR", "USD", "999999999999999999999999999999.999999999999999999", "1084300000000000000000000000000.00"],
    ["USD", "GBP", "999999999999999999999999999999.999999999999999999", "788914507055243013926035230102.37"],
    ["GBP", "CHF", "250.75", "277.51"], // cross of two ECB quotes
  ])("%s → %s %s = %s", async (from, to, amount, result) => {
    const conversion = await convertTo(from, to, amount);
    expect(conversion?.result).toBe(result);
    expect(conversion?.amount).toBe(amount);
    expect(conversion?.stale).toBe(false);
  });

  test("the answer names the rate, provider and time used", async () => {
    expect(await convertTo("USD", "JPY", "100")).toEqual({
      from: "USD",
      to: "JPY",
      amount: "100",
      result: "14656",
      rate: "146.56460389191183252",
      provider: "ecb",
      derivation: "cross",
      via: "EUR",
      effectiveAt: "2026-11-20T00:00:00.000Z",
      expiresAt: expect.any(String),
      stale: false,
      quotes: [
        { base: "EUR", quote: "USD", rate: "1.0843", effectiveAt: "2026-11-20T00:00:00.000Z" },
        { base: "EUR", quote: "JPY", rate: "158.92", effectiveAt: "2026-11-20T00:00:00.000Z" },
      ],
    });
    expect(await convertTo("EUR", "AFN", "1")).toBeNull();
  });
});

describe("the cache", () => {
  const answers = async () => ({
    rate: await getRate(deps, { base: "USD", quote: "JPY" }),
    inverse: await getRate(deps, { base: "JPY", quote: "EUR" }),
    convert: await convertTo("EUR", "BHD", "1000"),
    latest: await getLatest(deps, { base: "GBP" }),
  });

  test("hot answers are cached (at most 300 s) and losing the cache changes no answer", async () => {
    const first = await answers();
    expect(await deps.redis.ttl("cache:{fx}:USD:JPY")).toBeGreaterThan(0);
    expect(await deps.redis.ttl("cache:{fx}:USD:JPY")).toBeLessThanOrEqual(300);
    expect(await deps.redis.exists("cache:{fx}:GBP")).toBe(1);
    expect(await answers()).toEqual(first);
    await dropCache();
    expect(await answers()).toEqual(first);
    await deps.redis.set("cache:{fx}:version", "999"); // a generation nobody wrote: every entry is ignored
    expect(await answers()).toEqual(first);
  });

  test("a refresh recomputes the hot entries, so they answer the new rates at once", async () => {
    await getRate(deps, { base: "EUR", quote: "USD" });
    stub.ecb.body = (await Bun.file(`${import.meta.dir}/../../../test/fixtures/fx/ecb-eurofxref-daily.xml`).text())
      .replace("time='2026-11-20'", "time='2026-11-21'")
      .replace("rate='1.0843'", "rate='1.0900'");
    try {
      const result = await refreshRates(deps);
      expect(result).toMatchObject({ provider: "ecb", inserted: 30, effectiveAt: "2026-11-21T00:00:00.000Z" });
      const cached = JSON.parse((await deps.redis.get("cache:{fx}:EUR:USD")) ?? "{}");
      expect(cached.value.resolution.rate).toBe("1.0900");
      expect(await getRate(deps, { base: "EUR", quote: "USD" })).toMatchObject({
        rate: "1.0900",
        effectiveAt: "2026-11-21T00:00:00.000Z",
      });
    } finally {
      stub.ecb.body = undefined;
    }
    // The older document again: history keeps it, the latest does not go back.
    expect((await refreshRates(deps)).inserted).toBe(0);
    expect((await getRate(deps, { base: "EUR", quote: "USD" }))?.rate).toBe("1.0900");
  });
});

describe("manual rates", () => {
  test("an admin's rate answers first, as given, with who and when; crosses through it stay with one provider", async () => {
    const manual = await setManualRate(deps, { userId: "admin-1" }, { base: "CHF", quote: "JPY", rate: "170.50" });
    expect(manual).toMatchObject({ base: "CHF", quote: "JPY", rate: "170.50", provider: "manual", setBy: "admin-1" });
    expect(await getRate(deps, { base: "CHF", quote: "JPY" })).toMatchObject({
      provider: "manual",
      derivation: "direct",
      rate: "170.50",
      stale: false,
    });
    expect(await getRate(deps, { base: "JPY", quote: "CHF" })).toMatchObject({
      provider: "manual",
      derivation: "inverse",
    });
    expect((await convertTo("CHF", "JPY", "3"))?.result).toBe("512"); // 511.5, a tie: 512 is even
    expect((await getRate(deps, { base: "EUR", quote: "JPY" }))?.provider).toBe("ecb");
    const [row] = await deps.db
      .select()
      .from(fxRates)
      .where(and(eq(fxRates.provider, "manual"), eq(fxRates.base, "CHF")));
    expect(row?.setBy).toBe("admin-1");
    expect(row?.rate).toBe("170.50");
  });

  test("refuses a pair of one currency and unknown currencies", async () => {
    await expect(setManualRate(deps, { userId: "a" }, { base: "EUR", quote: "EUR", rate: "1" })).rejects.toThrow(
      /both EUR/,
    );
    await expect(setManualRate(deps, { userId: "a" }, { base: "EUR", quote: "XYZ", rate: "1" })).rejects.toThrow(/XYZ/);
  });
});

describe("history", () => {
  test("newest first, per provider and time; crosses derived from quotes of the same time; range and limit", async () => {
    const all = await getHistory(deps, { base: "USD", quote: "JPY", limit: 100 });
    expect(all.items).toEqual([
      {
        rate: "145.7981651376146789",
        provider: "ecb",
        derivation: "cross",
        via: "EUR",
        effectiveAt: "2026-11-21T00:00:00.000Z",
      },
      {
        rate: "146.56460389191183252",
        provider: "ecb",
        derivation: "cross",
        via: "EUR",
        effectiveAt: "2026-11-20T00:00:00.000Z",
      },
      // ExchangeRate-API's sample was updated at 1763596951 (2025-11-20T00:02:31Z)
      { rate: "146.57", provider: "er-api", derivation: "direct", via: null, effectiveAt: "2025-11-20T00:02:31.000Z" },
    ]);
    const limited = await getHistory(deps, { base: "USD", quote: "JPY", limit: 1 });
    expect(limited.items.map((i) => i.effectiveAt)).toEqual(["2026-11-21T00:00:00.000Z"]);
    const ranged = await getHistory(deps, {
      base: "USD",
      quote: "JPY",
      from: "2026-11-20T00:00:00Z",
      to: "2026-11-20T12:00:00Z",
      provider: "ecb",
      limit: 10,
    });
    expect(ranged.items.map((i) => i.rate)).toEqual(["146.56460389191183252"]);
    await expect(
      getHistory(deps, {
        base: "USD",
        quote: "JPY",
        from: "2026-11-21T00:00:00Z",
        to: "2026-11-20T00:00:00Z",
        limit: 5,
      }),
    ).rejects.toThrow(/from is after to/);
  });
});

describe("without Redis", () => {
  test("answers come from Postgres unchanged, and a refresh still stores rates", async () => {
    const before = {
      rate: await getRate(deps, { base: "USD", quote: "JPY" }),
      convert: await convertTo("EUR", "BHD", "1000"),
    };
    deps.redis.disconnect();
    try {
      expect({
        rate: await getRate(deps, { base: "USD", quote: "JPY" }),
        convert: await convertTo("EUR", "BHD", "1000"),
      }).toEqual(before);
      expect((await refreshRates(deps)).provider).toBe("ecb");
    } finally {
      // Back again, so that the harness can remove this file's keys.
      await deps.redis.connect();
    }
  });
});
