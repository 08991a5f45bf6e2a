// Quotes that outlive their freshness (FX_RATE_TTL_SECONDS, 2 s here): answers keep coming, marked
// stale, and a fresh quote from a less preferred provider wins over a stale one from a better one.
import { describe, expect, test } from "bun:test";
import { startProviderStub } from "../../../test/fx-providers";
import { createTestKit } from "../../../test/kit";
import { refreshRates } from "./refresh";
import { convert, getLatest, getRate } from "./service";

const TTL_MS = 2_000;
const stub = await startProviderStub();
const kit = await createTestKit({ env: { ...stub.env, FX_RATE_TTL_SECONDS: String(TTL_MS / 1000) } });
const deps = kit.deps;

const eurUsd = () => getRate(deps, { base: "EUR", quote: "USD" });

describe("stale quotes", () => {
  test("past their expiry, pairs still answer, flagged stale; fresh quotes elsewhere win; all down is never an error", async () => {
    const first = await refreshRates(deps);
    expect(first.provider).toBe("ecb");
    const freshAnswer = await eurUsd();
    expect(freshAnswer).toMatchObject({ provider: "ecb", rate: "1.0843", stale: false });
    // A cached fresh answer lives no longer than its freshness.
    expect(await deps.redis.ttl("cache:{fx}:EUR:USD")).toBeLessThanOrEqual(TTL_MS / 1000);

    await Bun.sleep(TTL_MS + 100);
    expect(await eurUsd()).toEqual({ ...freshAnswer, stale: true } as typeof freshAnswer);
    expect(await convert(deps, { from: "EUR", to: "USD", amount: "10" })).toMatchObject({
      result: "10.84",
      stale: true,
    });
    expect((await getLatest(deps, { base: "EUR" }))?.rates.every((r) => r.stale)).toBe(true);

    // The ECB is down; ExchangeRate-API answers: its fresh quote beats the ECB's stale one.
    stub.ecb.mode = "500";
    expect((await refreshRates(deps)).provider).toBe("er-api");
    expect(await eurUsd()).toMatchObject({
      provider: "er-api",
      derivation: "inverse",
      rate: "1.0843634786380394708",
      stale: false,
    });

    // Everything down, everything expired: the preferred stale quote answers.
    stub.erApi.mode = "500";
    await expect(refreshRates(deps)).rejects.toThrow(/No exchange-rate provider answered/);
    await Bun.sleep(TTL_MS + 100);
    expect(await eurUsd()).toMatchObject({ provider: "ecb", rate: "1.0843", stale: true });
    expect(await getRate(deps, { base: "USD", quote: "BHD" })).toMatchObject({ provider: "er-api", stale: true });
    expect(await convert(deps, { from: "USD", to: "BHD", amount: "1000" })).toMatchObject({
      result: "376.000",
      stale: true,
    });
  }, 15_000);
});
