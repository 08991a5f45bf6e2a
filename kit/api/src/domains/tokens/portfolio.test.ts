// portfolio.get: balances of the caller's linked wallets, valued exactly. Every expected value is
// computed by hand in the comments (balance × price, then × rate, rounded half to even once).
import { describe, expect, test } from "bun:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { getAddress } from "viem";
import { createTestKit } from "../../../test/kit";
import { insertBalances, insertToken, linkAccount, randomAccount, randomAddress } from "../../../test/tokens";
import { createUser } from "../../../test/users";
import { setManualRate } from "../exchange-rates/service";
import { metadataKey, updateTokenMetadata } from "./metadata";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field by the assertions
type Json = any;

const kit = await createTestKit();
const [investor, admin] = await Promise.all([createUser(kit, "investor"), createUser(kit, "admin")]);
const [walletA, walletB] = [randomAccount(), randomAccount()];
await linkAccount(kit, investor.id, walletA);
await linkAccount(kit, investor.id, walletB);

const priced = (address: string, price: string | null, priceCurrency: string | null) =>
  updateTokenMetadata(kit.deps, admin.id, { address: getAddress(address), price, priceCurrency });

const equity = await insertToken(kit, { name: "Kit Equity", symbol: "KEQ", decimals: 18 });
const usdToken = await insertToken(kit, { name: "Dollar Note", symbol: "KUSD", decimals: 0 });
const unpriced = await insertToken(kit, { name: "No Price", symbol: "NOP", decimals: 2 });
const yenToken = await insertToken(kit, { name: "Yen Bond", symbol: "KJPY", decimals: 0 });
await insertBalances(kit, equity, {
  [walletA.address]: "1234567800000000000000", // 1234.5678 KEQ
  [walletB.address]: "500000000000000000", // 0.5 KEQ
  [randomAddress()]: "999000000000000000000", // somebody else's
});
await insertBalances(kit, usdToken, { [walletA.address]: "1" });
await insertBalances(kit, unpriced, { [walletA.address]: "700" });
await insertBalances(kit, yenToken, { [walletB.address]: "3" });
await priced(equity, "99.99", "EUR");
await priced(usdToken, "2.345", "USD");
await priced(yenToken, "1000", "JPY");
await setManualRate(kit.deps, { userId: admin.id }, { base: "EUR", quote: "USD", rate: "1.0842" });

async function portfolioOf(cookie: string) {
  const response = await kit.request("/api/portfolio", { headers: { cookie } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, Json>;
}

describe("portfolio.get", () => {
  test("values each position exactly in the display currency; missing prices and rates are said per position", async () => {
    const settings = await kit.request("/api/settings", {
      method: "PATCH",
      headers: { cookie: investor.cookie, "content-type": "application/json" },
      body: JSON.stringify({ currency: "USD" }),
    });
    expect(settings.status).toBe(200);

    const body = await portfolioOf(investor.cookie);
    expect(body.currency).toBe("USD");
    expect(body.wallets).toEqual([walletA.address, walletB.address]);
    const at = (token: string, wallet: string) =>
      body.positions.find((p: Json) => p.token === getAddress(token) && p.wallet === wallet);

    // 1234.5678 × 99.99 EUR = 123444.434322 EUR; × 1.0842 = 133838.4556919124 USD → 133838.46
    expect(at(equity, walletA.address)).toEqual({
      token: getAddress(equity),
      name: "Kit Equity",
      symbol: "KEQ",
      wallet: walletA.address,
      balance: { raw: "1234567800000000000000", formatted: "1234.5678" },
      price: { amount: "99.99", currency: "EUR" },
      value: { amount: "133838.46", currency: "USD" },
      valueMissing: null,
    });
    // 0.5 × 99.99 = 49.995 EUR; × 1.0842 = 54.204579 USD → 54.20
    expect(at(equity, walletB.address).value).toEqual({ amount: "54.20", currency: "USD" });
    // 1 × 2.345 USD, no conversion, half to even → 2.34
    expect(at(usdToken, walletA.address).value).toEqual({ amount: "2.34", currency: "USD" });
    expect(at(unpriced, walletA.address)).toMatchObject({
      balance: { raw: "700", formatted: "7" },
      price: null,
      value: null,
      valueMissing: "no_price",
    });
    expect(at(yenToken, walletB.address)).toMatchObject({
      price: { amount: "1000", currency: "JPY" },
      value: null,
      valueMissing: "no_rate",
    });
    expect(body.positions).toHaveLength(5);
    // 133838.46 + 54.20 + 2.34
    expect(body.total).toBe("133895.00");
    expect(body.complete).toBe(false);
  });

  test("in the system's base currency until the user picks one (EUR: no conversion for a EUR price)", async () => {
    const other = await createUser(kit, "investor");
    const wallet = randomAccount();
    await linkAccount(kit, other.id, wallet);
    await insertBalances(kit, equity, { [wallet.address]: "1234567800000000000000" });
    const body = await portfolioOf(other.cookie);
    expect(body.currency).toBe(kit.config.fx.baseCurrency);
    expect(body.currency).toBe("EUR");
    // 123444.434322 EUR → 123444.43
    expect(body.positions).toMatchObject([{ value: { amount: "123444.43", currency: "EUR" }, valueMissing: null }]);
    expect(body).toMatchObject({ total: "123444.43", complete: true });
  });

  test("a token whose metadata cannot be read is price_unavailable, and the rest is still valued", async () => {
    const someone = await createUser(kit, "investor");
    const wallet = randomAccount();
    await linkAccount(kit, someone.id, wallet);
    const broken = await insertToken(kit, { decimals: 0 });
    await insertBalances(kit, broken, { [wallet.address]: "5" });
    await insertBalances(kit, usdToken, { [wallet.address]: "10" });
    await kit.deps.storage.client.send(
      new PutObjectCommand({ Bucket: kit.deps.storage.buckets.tokenMetadata, Key: metadataKey(broken), Body: "{" }),
    );
    const body = await portfolioOf(someone.cookie);
    expect(body.positions.find((p: Json) => p.token === getAddress(broken))).toMatchObject({
      value: null,
      valueMissing: "price_unavailable",
    });
    // 10 × 2.345 USD = 23.45 USD; × (1 / 1.0842) = 21.628850765541413 EUR → 21.63
    expect(body.positions.find((p: Json) => p.token === getAddress(usdToken)).value).toEqual({
      amount: "21.63",
      currency: "EUR",
    });
    expect(body).toMatchObject({ total: "21.63", complete: false });
  });

  test("no linked wallet: an empty, complete portfolio; anonymous callers are refused", async () => {
    const lonely = await createUser(kit, "investor");
    expect(await portfolioOf(lonely.cookie)).toEqual({
      currency: "EUR",
      wallets: [],
      positions: [],
      total: "0.00",
      complete: true,
    });
    expect((await kit.request("/api/portfolio")).status).toBe(401);
  });
});
