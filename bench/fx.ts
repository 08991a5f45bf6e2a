// Exchange rates for the http bench: a local stand-in for the providers (the saved ECB and
// ExchangeRate-API documents of kit/api/test/fixtures/fx, as kit/api/test/fx-providers.ts serves
// them, without bun:test), plus a made-up ExchangeRate-API document with as many currencies as
// the `currencies` table holds (~170) to time one refresh.
import { join } from "node:path";
import type { Deps } from "../kit/api/src/deps";
import { refreshRates } from "../kit/api/src/domains/exchange-rates/refresh";
import { currencies } from "../kit/api/src/domains/exchange-rates/schema";
import type { RefreshResult } from "../kit/api/src/domains/exchange-rates/service";

const FIXTURES = join(import.meta.dir, "..", "kit", "api", "test", "fixtures", "fx");

export interface FxStub {
  /** Environment pointing Kit at the saved documents (FX_ECB_URL, FX_ERAPI_URL, FX_BASE_CURRENCY=USD). */
  env: Record<string, string>;
  /** Base URL (no trailing slash, no base code) of the big made-up er-api document. */
  bigErApiUrl: string;
  /** The big document's rates, by ISO code (USD is 1). */
  setBigDocument(rates: Record<string, string>, updatedUnix: number): void;
  stop(): void;
}

export async function startFxStub(): Promise<FxStub> {
  const [ecbDaily, erApiUsd] = await Promise.all([
    Bun.file(join(FIXTURES, "ecb-eurofxref-daily.xml")).text(),
    Bun.file(join(FIXTURES, "er-api-latest-USD.json")).text(),
  ]);
  let big = "";
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/ecb/eurofxref-daily.xml")
        return new Response(ecbDaily, { headers: { "content-type": "text/xml" } });
      if (path === "/er-api/v6/latest/USD")
        return new Response(erApiUsd, { headers: { "content-type": "application/json" } });
      if (path === "/er-api-big/v6/latest/USD")
        return new Response(big, { headers: { "content-type": "application/json" } });
      return new Response("not found", { status: 404 });
    },
  });
  const origin = `http://127.0.0.1:${server.port}`;
  return {
    env: {
      FX_ECB_URL: `${origin}/ecb/eurofxref-daily.xml`,
      FX_ERAPI_URL: `${origin}/er-api/v6/latest`,
      FX_BASE_CURRENCY: "USD",
    },
    bigErApiUrl: `${origin}/er-api-big/v6/latest`,
    setBigDocument(rates, updatedUnix) {
      // The er-api format; rates are written as JSON numbers with their decimals, as the provider does.
      const entries = Object.entries(rates).map(([code, rate]) => `"${code}":${rate}`);
      big =
        `{"result":"success","provider":"https://www.exchangerate-api.com","time_last_update_unix":${updatedUnix},` +
        `"time_next_update_unix":${updatedUnix + 86_400},"time_eol_unix":0,"base_code":"USD",` +
        `"rates":{${entries.join(",")}}}`;
    },
    stop: () => server.stop(true),
  };
}

export interface RefreshTiming {
  currencies: number;
  runs: number;
  msRuns: number[];
  medianMs: number;
  pairs: number;
  inserted: number;
}

/**
 * Times `refreshRates` against the big document, er-api only (a config copy whose fx.providers is
 * ["er-api"] and whose erApiUrl is the big document): `runs` runs, each with a new
 * time_last_update_unix so that every run really inserts its rows.
 */
export async function timeRefresh(deps: Deps, stub: FxStub, runs: number): Promise<RefreshTiming> {
  const codes = (await deps.db.select({ code: currencies.code }).from(currencies)).map((r) => r.code).sort();
  if (!codes.includes("USD")) throw new Error("the currencies table has no USD");
  // Made-up decimal rates, stable per code: 0.5 … ~5000 with 6 decimals.
  const rates: Record<string, string> = {};
  codes.forEach((code, i) => {
    rates[code] = code === "USD" ? "1" : ((((i * 7919) % 997) + 1) * 5.0123456).toFixed(6);
  });
  const fxDeps = {
    ...deps,
    config: { ...deps.config, fx: { ...deps.config.fx, providers: ["er-api" as const], erApiUrl: stub.bigErApiUrl } },
  };
  const start = Math.floor(Date.now() / 1000) - 24 * 60 * 60;
  const msRuns: number[] = [];
  let last: RefreshResult | undefined;
  for (let run = 0; run < runs; run++) {
    stub.setBigDocument(rates, start + run * 60);
    const t0 = performance.now();
    last = await refreshRates(fxDeps);
    msRuns.push(performance.now() - t0);
    if (last.provider !== "er-api") throw new Error(`refresh was served by ${last.provider}, not er-api`);
    if (last.inserted !== last.pairs)
      throw new Error(`refresh run ${run + 1} inserted ${last.inserted} of ${last.pairs} pairs`);
  }
  const sorted = [...msRuns].sort((a, b) => a - b);
  const round1 = (n: number) => Math.round(n * 10) / 10;
  return {
    currencies: codes.length,
    runs,
    msRuns: msRuns.map(round1),
    medianMs: round1(sorted[Math.floor(sorted.length / 2)] ?? 0),
    pairs: last?.pairs ?? 0,
    inserted: last?.inserted ?? 0,
  };
}
