// The read side over HTTP: token list, one token, holders and transfers pages (exact order,
// cursors, amounts as exact strings), wallet transfers and who may read them. Rows are written
// straight into the indexer's tables; this file's kit has no chain, so tokens.get answers indexed
// values (source "index").
import { describe, expect, test } from "bun:test";
import { getAddress } from "viem";
import { createTestKit } from "../../../test/kit";
import {
  insertBalances,
  insertToken,
  insertTransfers,
  linkAccount,
  randomAccount,
  randomAddress,
} from "../../../test/tokens";
import { createUser } from "../../../test/users";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field by the assertions
type Json = any;

const kit = await createTestKit();
const [investor, issuer] = await Promise.all([createUser(kit, "investor"), createUser(kit, "issuer")]);

async function get(path: string, cookie?: string) {
  const response = await kit.request(`/api${path}`, { headers: cookie ? { cookie } : {} });
  return { status: response.status, body: (await response.json()) as Record<string, Json> };
}

/** Every page of a listing, following nextCursor. */
async function allPages(path: string, cookie: string | undefined, limit: number) {
  const pages: Json[][] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const { status, body } = await get(`${path}?${query}`, cookie);
    expect(status).toBe(200);
    pages.push(body.items);
    cursor = body.nextCursor;
  } while (cursor);
  return pages;
}

const [h1, h2, h3, h4, h5, h6] = Array.from({ length: 6 }, randomAddress);
const [tieLow, tieHigh] = [h2, h3].sort() as [string, string];
const bond = await insertToken(kit, { name: "Kit Bond", symbol: "KBND", decimals: 6, totalSupply: "12000001" });
await insertBalances(kit, bond, {
  [h1 as string]: "5000000",
  [h2 as string]: "3000000",
  [h3 as string]: "3000000",
  [h4 as string]: "1000000",
  [h5 as string]: "0",
  [h6 as string]: "1",
});

describe("tokens.list and tokens.get", () => {
  test("lists tokens by address in exact pages, with amounts as exact strings", async () => {
    const others = await Promise.all([
      insertToken(kit, { kind: "erc20", decimals: 18, totalSupply: "123456789012345678901234567890" }),
      insertToken(kit, { decimals: 0, totalSupply: "42" }),
    ]);
    const pages = await allPages("/tokens", undefined, 2);
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    const items = pages.flat();
    expect(items.map((t) => t.address)).toEqual([bond, ...others].sort().map((a) => getAddress(a)));
    const big = items.find((t) => t.address === getAddress(others[0] as string));
    expect(big).toMatchObject({
      decimals: 18,
      totalSupply: { raw: "123456789012345678901234567890", formatted: "123456789012.34567890123456789" },
      paused: null,
      holders: 0,
    });
    expect(items.find((t) => t.address === getAddress(bond))).toMatchObject({
      name: "Kit Bond",
      symbol: "KBND",
      totalSupply: { raw: "12000001", formatted: "12.000001" },
      paused: false,
      holders: 5,
    });
  });

  test("gets one token by its address in any case; indexed values when the chain cannot be reached", async () => {
    for (const form of [bond, bond.toUpperCase().replace("0X", "0x"), getAddress(bond)]) {
      const { status, body } = await get(`/tokens/${form}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        address: getAddress(bond),
        chainId: kit.config.chain.id,
        name: "Kit Bond",
        decimals: 6,
        totalSupply: { raw: "12000001", formatted: "12.000001" },
        paused: false,
        holders: 5,
        source: "index",
        metadata: { isin: null, price: null, documents: [], logoUrl: null },
      });
    }
  });

  test("an unknown token is NOT_FOUND; a malformed address is BAD_REQUEST", async () => {
    expect((await get(`/tokens/${randomAddress()}`)).status).toBe(404);
    expect((await get("/tokens/0x1234")).status).toBe(400);
    expect((await get(`/tokens/${"0x"}${"g".repeat(40)}`)).status).toBe(400);
  });
});

describe("tokens.holders", () => {
  test("holders by balance, largest first, ties by address; zero balances left out; exact pages", async () => {
    const pages = await allPages(`/tokens/${bond}/holders`, investor.cookie, 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const unfrozen = { frozen: false, frozenAmount: { raw: "0", formatted: "0" } };
    expect(pages.flat()).toEqual([
      { address: getAddress(h1 as string), balance: { raw: "5000000", formatted: "5" }, ...unfrozen },
      { address: getAddress(tieLow), balance: { raw: "3000000", formatted: "3" }, ...unfrozen },
      { address: getAddress(tieHigh), balance: { raw: "3000000", formatted: "3" }, ...unfrozen },
      { address: getAddress(h4 as string), balance: { raw: "1000000", formatted: "1" }, ...unfrozen },
      { address: getAddress(h6 as string), balance: { raw: "1", formatted: "0.000001" }, ...unfrozen },
    ]);
    // One page holding them all has no next cursor.
    const whole = await get(`/tokens/${bond}/holders?limit=100`, investor.cookie);
    expect(whole.body.items).toHaveLength(5);
    expect(whole.body.nextCursor).toBeNull();
  });

  test("a cursor that this listing did not give out is BAD_REQUEST; anonymous callers are refused", async () => {
    for (const cursor of [
      "nope",
      Buffer.from('["x","y"]').toString("base64url"),
      Buffer.from("[1]").toString("base64url"),
    ]) {
      const { status, body } = await get(`/tokens/${bond}/holders?cursor=${cursor}`, investor.cookie);
      expect(status).toBe(400);
      expect(body.message).toContain("cursor");
    }
    expect((await get(`/tokens/${bond}/holders`)).status).toBe(401);
    expect((await get(`/tokens/${randomAddress()}/holders`, investor.cookie)).status).toBe(404);
  });
});

describe("tokens.transfers and wallets.transfers", () => {
  const account = randomAccount();
  const wallet = account.address.toLowerCase();
  const counterpart = randomAddress();
  const zero = `0x${"0".repeat(40)}`;
  let hashes: string[] = [];
  let otherToken = "";

  test("a token's transfers, newest first (block, then log index), in exact pages", async () => {
    hashes = await insertTransfers(kit, bond, [
      { from: zero, to: wallet, amount: "1000000", blockNumber: 10, logIndex: 0 },
      { from: wallet, to: counterpart, amount: "250000", blockNumber: 10, logIndex: 1 },
      { from: counterpart, to: h1 as string, amount: "1", blockNumber: 11, logIndex: 0 },
      { from: wallet, to: h1 as string, amount: "5", blockNumber: 12, logIndex: 3 },
      { from: h1 as string, to: wallet, amount: "123456789", blockNumber: 12, logIndex: 5 },
    ]);
    const pages = await allPages(`/tokens/${bond}/transfers`, investor.cookie, 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const items = pages.flat();
    expect(items.map((t) => [t.blockNumber, t.logIndex])).toEqual([
      ["12", 5],
      ["12", 3],
      ["11", 0],
      ["10", 1],
      ["10", 0],
    ]);
    expect(items[0]).toEqual({
      token: getAddress(bond),
      from: getAddress(h1 as string),
      to: getAddress(wallet),
      value: { raw: "123456789", formatted: "123.456789" },
      blockNumber: "12",
      transactionHash: hashes[4],
      logIndex: 5,
    });
    expect(items[4]?.from).toBe(getAddress(zero));
  });

  test("a wallet's transfers of every token, either side, newest first", async () => {
    otherToken = await insertToken(kit, { decimals: 2 });
    await insertTransfers(kit, otherToken, [
      { from: counterpart, to: wallet, amount: "12345", blockNumber: 11, logIndex: 7 },
    ]);
    await linkAccount(kit, investor.id, account);
    const pages = await allPages(`/wallets/${account.address}/transfers`, investor.cookie, 3);
    const items = pages.flat();
    expect(items.map((t) => [t.blockNumber, t.logIndex])).toEqual([
      ["12", 5],
      ["12", 3],
      ["11", 7],
      ["10", 1],
      ["10", 0],
    ]);
    // Each value in its own token's decimals.
    expect(items[2]).toMatchObject({ token: getAddress(otherToken), value: { raw: "12345", formatted: "123.45" } });
  });

  test("investors may list their own wallets only; issuers any wallet", async () => {
    const other = await get(`/wallets/${counterpart}/transfers`, investor.cookie);
    expect(other.status).toBe(403);
    expect(other.body.code).toBe("FORBIDDEN");
    const byIssuer = await get(`/wallets/${counterpart}/transfers?limit=10`, issuer.cookie);
    expect(byIssuer.status).toBe(200);
    expect(byIssuer.body.items.map((t: Json) => t.logIndex)).toEqual([7, 0, 1]);
    // Lowercase or checksummed, it is the same wallet.
    const lower = await get(`/wallets/${wallet}/transfers?limit=1`, investor.cookie);
    expect(lower.status).toBe(200);
    expect(lower.body.items).toHaveLength(1);
  });
});
