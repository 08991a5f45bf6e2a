// A development stack with no way out to the providers: the bundled ECB snapshot is stored stale,
// the last refresh's outcome says why, and the first provider that answers again takes over.
import { expect, test } from "bun:test";
import { startProviderStub } from "../../../test/fx-providers";
import { createTestKit } from "../../../test/kit";
import { createUser } from "../../../test/users";
import { ECB_SNAPSHOT_DATE } from "./providers/ecb-snapshot";
import { refreshRates } from "./refresh";
import { fxRatesLatest } from "./schema";
import { getRate } from "./service";

const stub = await startProviderStub();
const kit = await createTestKit({ env: { ...stub.env, FX_OFFLINE_SNAPSHOT: "true" } });
const plain = await createTestKit({ env: stub.env });

test("no provider reachable: the snapshot is stored stale and the outcome names each failure; a provider back takes over", async () => {
  stub.ecb.mode = "500";
  stub.erApi.mode = "500";
  await expect(refreshRates(kit.deps)).rejects.toThrow(/No exchange-rate provider answered/);

  const rate = await getRate(kit.deps, { base: "EUR", quote: "USD" });
  expect(rate).toMatchObject({
    rate: "1.1476",
    provider: "ecb",
    stale: true,
    effectiveAt: `${ECB_SNAPSHOT_DATE}T00:00:00.000Z`,
  });

  const user = await createUser(kit, "investor");
  const status = await kit.request("/api/fx/refresh", { headers: { cookie: user.cookie } });
  expect(status.status).toBe(200);
  const outcome = await status.json();
  expect(outcome).toMatchObject({
    ok: false,
    provider: null,
    snapshotDate: ECB_SNAPSHOT_DATE,
    failed: [
      { provider: "ecb", reason: "answered HTTP 500" },
      { provider: "er-api", reason: expect.any(String) },
    ],
  });
  // Never the providers' addresses.
  expect(JSON.stringify(outcome)).not.toContain("127.0.0.1");

  // A second failure stores nothing new and still says the rates are the snapshot's.
  await expect(refreshRates(kit.deps)).rejects.toThrow();
  expect((await (await kit.request("/api/fx/refresh", { headers: { cookie: user.cookie } })).json()).snapshotDate).toBe(
    ECB_SNAPSHOT_DATE,
  );

  stub.ecb.mode = "ok";
  stub.erApi.mode = "ok";
  await refreshRates(kit.deps);
  expect(await getRate(kit.deps, { base: "EUR", quote: "USD" })).toMatchObject({ provider: "ecb", stale: false });
  expect(await (await kit.request("/api/fx/refresh", { headers: { cookie: user.cookie } })).json()).toMatchObject({
    ok: true,
    provider: "ecb",
    failed: [],
    snapshotDate: null,
  });
});

test("outside development (FX_OFFLINE_SNAPSHOT unset under test) nothing is invented: no rate, and the outcome says so", async () => {
  stub.ecb.mode = "500";
  stub.erApi.mode = "500";
  await expect(refreshRates(plain.deps)).rejects.toThrow();
  expect(await plain.deps.db.select().from(fxRatesLatest)).toEqual([]);
  const user = await createUser(plain, "investor");
  const anonymous = await plain.request("/api/fx/refresh");
  expect(anonymous.status).toBe(401);
  expect(await (await plain.request("/api/fx/refresh", { headers: { cookie: user.cookie } })).json()).toMatchObject({
    ok: false,
    snapshotDate: null,
  });
});
