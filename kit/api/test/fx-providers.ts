// A local stand-in for the exchange-rate providers: serves the saved ECB and ExchangeRate-API
// documents (test/fixtures/fx) on a free port, and can be told to fail, one provider at a time.
import { afterAll } from "bun:test";
import { join } from "node:path";

const FIXTURES = join(import.meta.dir, "fixtures", "fx");

export const readFixture = (name: string) => Bun.file(join(FIXTURES, name)).text();

/** `ok`: the saved document (or `body`); `500`: a server error; `error-json`: the provider's error shape. */
type StubMode = "ok" | "500" | "error-json";

export interface ProviderStub {
  /** Environment pointing Kit at the stub (FX_ECB_URL, FX_ERAPI_URL, FX_BASE_CURRENCY=USD). */
  env: Record<string, string>;
  ecb: { mode: StubMode; body?: string; hits: number };
  erApi: { mode: StubMode; body?: string; hits: number };
  stop(): void;
}

export async function startProviderStub(): Promise<ProviderStub> {
  const [ecbDaily, erApiUsd, erApiError] = await Promise.all([
    readFixture("ecb-eurofxref-daily.xml"),
    readFixture("er-api-latest-USD.json"),
    readFixture("er-api-error.json"),
  ]);
  const ecb: ProviderStub["ecb"] = { mode: "ok", hits: 0 };
  const erApi: ProviderStub["erApi"] = { mode: "ok", hits: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/ecb/eurofxref-daily.xml") {
        ecb.hits += 1;
        if (ecb.mode === "500") return new Response("Internal Server Error", { status: 500 });
        if (ecb.mode === "error-json") return Response.json({ error: "maintenance" }, { status: 503 });
        return new Response(ecb.body ?? ecbDaily, { headers: { "content-type": "text/xml" } });
      }
      const latest = /^\/er-api\/v6\/latest\/([A-Z]{3})$/.exec(path);
      if (latest) {
        erApi.hits += 1;
        if (erApi.mode === "500") return new Response("upstream failure", { status: 500 });
        if (erApi.mode === "error-json" || latest[1] !== "USD")
          return new Response(erApiError, { headers: { "content-type": "application/json" } });
        return new Response(erApi.body ?? erApiUsd, { headers: { "content-type": "application/json" } });
      }
      return new Response("not found", { status: 404 });
    },
  });
  const stub: ProviderStub = {
    env: {
      FX_ECB_URL: `http://127.0.0.1:${server.port}/ecb/eurofxref-daily.xml`,
      FX_ERAPI_URL: `http://127.0.0.1:${server.port}/er-api/v6/latest`,
      FX_BASE_CURRENCY: "USD",
    },
    ecb,
    erApi,
    stop: () => server.stop(true),
  };
  afterAll(() => stub.stop());
  return stub;
}
