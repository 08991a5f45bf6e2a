// Token metadata against the real suite on anvil (kit/contracts), s3rver and Postgres: who may
// write (the token's owner or agents on chain, or an admin), immutable fields, validation, the
// logo's presigned upload and public URL, and tokens.get's live facts from the chain.
import { afterAll, describe, expect, test } from "bun:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { send, startDevChain, tokenAbi } from "@kit/contracts";
import { getAddress } from "viem";
import { createTestKit } from "../../../test/kit";
import { insertToken, linkAccount } from "../../../test/tokens";
import { createUser, type TestUser } from "../../../test/users";
import { allowPublicMetadataReads, metadataCacheKey, metadataKey } from "./metadata";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field by the assertions
type Json = any;

const chain = await startDevChain();
afterAll(() => chain.stop());
const kit = await createTestKit({ env: { RPC_URL: chain.rpcUrl } });

const bondSpec = chain.deployment.tokens.find((t) => t.kind === "bond") ?? chain.deployment.tokens[0];
const equitySpec = chain.deployment.tokens.find((t) => t.kind === "equity") ?? chain.deployment.tokens[1];
if (!bondSpec || !equitySpec) throw new Error("the dev chain has no demo tokens");
const bond = bondSpec.address;
const equity = equitySpec.address;
for (const spec of [bondSpec, equitySpec]) {
  await insertToken(kit, { address: spec.address, name: spec.name, symbol: spec.symbol, decimals: spec.decimals });
}

const { deployer, others } = chain.accounts;
const [admin, investor, agentIssuer, plainIssuer, walletlessIssuer, laterIssuer] = await Promise.all([
  createUser(kit, "admin"),
  createUser(kit, "investor"),
  createUser(kit, "issuer"),
  createUser(kit, "issuer"),
  createUser(kit, "issuer"),
  createUser(kit, "issuer"),
]);
// The deployer owns the tokens and is their agent; others[0] and others[1] are neither (yet).
await linkAccount(kit, agentIssuer.id, deployer);
await linkAccount(kit, plainIssuer.id, others[0] as (typeof others)[number]);
await linkAccount(kit, laterIssuer.id, others[1] as (typeof others)[number]);

async function call(method: string, path: string, who: TestUser | undefined, body?: unknown) {
  const response = await kit.request(`/api${path}`, {
    method,
    headers: { ...(who ? { cookie: who.cookie } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, Json> };
}
const update = (token: string, who: TestUser | undefined, body: Record<string, unknown>) =>
  call("PUT", `/tokens/${token}/metadata`, who, body);

async function storedMetadata(token: string): Promise<unknown> {
  const response = await fetch(
    `${kit.config.s3.endpoint}/${kit.config.s3.buckets.tokenMetadata}/${metadataKey(token)}`,
  );
  return response.status === 200 ? response.json() : null;
}

describe("who may write a token's metadata", () => {
  test("an investor is refused by role; issuers without a wallet, or whose wallets are not agents, by the chain", async () => {
    const byInvestor = await update(bond, investor, { description: "mine" });
    expect(byInvestor.status).toBe(403);
    const walletless = await update(bond, walletlessIssuer, { description: "mine" });
    expect(walletless.status).toBe(403);
    expect(walletless.body.message).toContain("no linked wallet");
    const notAgent = await update(bond, plainIssuer, { description: "mine" });
    expect(notAgent.status).toBe(403);
    expect(notAgent.body.message).toContain("owner or an agent");
    expect(await storedMetadata(bond)).toBeNull();
    expect(
      (await call("POST", `/tokens/${bond}/logo`, plainIssuer, { contentType: "image/png", size: 10 })).status,
    ).toBe(403);
  });

  test("an issuer whose linked wallet is an agent (and owner) may; so may an admin", async () => {
    const byAgent = await update(bond, agentIssuer, {
      description: "A five-year bond.",
      price: "99.99",
      priceCurrency: "EUR",
    });
    expect(byAgent.status).toBe(200);
    expect(byAgent.body).toMatchObject({
      description: "A five-year bond.",
      price: "99.99",
      priceCurrency: "EUR",
      updatedBy: agentIssuer.id,
    });
    const byAdmin = await update(bond, admin, { description: "A five-year bond, callable." });
    expect(byAdmin.status).toBe(200);
    // Fields left out keep their value.
    expect(byAdmin.body).toMatchObject({
      description: "A five-year bond, callable.",
      price: "99.99",
      updatedBy: admin.id,
    });
    expect(await storedMetadata(bond)).toMatchObject({ version: 1, description: "A five-year bond, callable." });
  });

  test("the check is live: a wallet made an agent on chain may write from then on", async () => {
    expect((await update(equity, laterIssuer, { description: "x" })).status).toBe(403);
    await send(chain.clients, deployer, {
      address: equity,
      abi: tokenAbi,
      functionName: "addAgent",
      args: [(others[1] as (typeof others)[number]).address],
    });
    expect((await update(equity, laterIssuer, { description: "equity" })).status).toBe(200);
    expect((await update(bond, laterIssuer, { description: "x" })).status).toBe(403);
    // ... and is refused again once removed.
    await send(chain.clients, deployer, {
      address: equity,
      abi: tokenAbi,
      functionName: "removeAgent",
      args: [(others[1] as (typeof others)[number]).address],
    });
    expect((await update(equity, laterIssuer, { description: "x" })).status).toBe(403);
  });

  test("the token's owner on chain may write without being an agent", async () => {
    const ownerIssuer = await createUser(kit, "issuer");
    const ownerWallet = others[2] as (typeof others)[number];
    await linkAccount(kit, ownerIssuer.id, ownerWallet);
    expect((await update(equity, ownerIssuer, { description: "x" })).status).toBe(403);
    await send(chain.clients, deployer, {
      address: equity,
      abi: tokenAbi,
      functionName: "transferOwnership",
      args: [ownerWallet.address],
    });
    const isAgent = await chain.clients.publicClient.readContract({
      address: equity,
      abi: tokenAbi,
      functionName: "isAgent",
      args: [ownerWallet.address],
    });
    expect(isAgent).toBe(false);
    expect((await update(equity, ownerIssuer, { description: "owned" })).status).toBe(200);
  });

  test("a token Kit does not index is NOT_FOUND, also for admins", async () => {
    const unknown = getAddress(`0x${"12".repeat(20)}`);
    expect((await update(unknown, admin, { description: "x" })).status).toBe(404);
    expect((await call("GET", `/tokens/${unknown}/metadata`, undefined)).status).toBe(404);
  });
});

describe("immutable fields and validation", () => {
  test("ISIN and asset class are fixed once set; the same value again, or leaving them out, is fine", async () => {
    const set = await update(bond, admin, { isin: "us0378331005", assetClass: "bond" });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ isin: "US0378331005", assetClass: "bond" });
    const changeIsin = await update(bond, agentIssuer, { isin: "DE000BAY0017" });
    expect(changeIsin.status).toBe(409);
    expect(changeIsin.body.message).toContain("isin");
    const changeClass = await update(bond, admin, { assetClass: "equity" });
    expect(changeClass.status).toBe(409);
    expect((await update(bond, admin, { isin: "US0378331005", assetClass: "bond", description: null })).status).toBe(
      200,
    );
    const kept = await call("GET", `/tokens/${bond}/metadata`, undefined);
    expect(kept.body).toMatchObject({ isin: "US0378331005", assetClass: "bond", description: null, price: "99.99" });
  });

  test("two concurrent first settings of an ISIN: one wins, the other is a CONFLICT", async () => {
    const answers = await Promise.all([
      update(equity, admin, { isin: "US0378331005" }),
      update(equity, agentIssuer, { isin: "DE000BAY0017" }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const winner = answers.find((a) => a.status === 200)?.body.isin;
    expect((await call("GET", `/tokens/${equity}/metadata`, undefined)).body.isin).toBe(winner);
  });

  test("bad ISINs, prices, currencies and documents are BAD_REQUEST with the field named", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ isin: "US0378331006" }, "isin"],
      [{ isin: "US03783310" }, "isin"],
      [{ price: "12.5" }, "priceCurrency"],
      [{ price: "-1", priceCurrency: "EUR" }, "price"],
      [{ price: "1e3", priceCurrency: "EUR" }, "price"],
      [{ price: "0", priceCurrency: "EUR" }, "price"],
      [{ price: "10", priceCurrency: "XYZ" }, "priceCurrency"],
      [{ documents: [{ name: "Prospectus", url: "http://example.com/p.pdf" }] }, "documents.0.url"],
      [{ assetClass: "tulips" }, "assetClass"],
    ];
    for (const [body, path] of cases) {
      const answer = await update(equity, admin, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(
        answer.body.data.issues.map((i: { path: string }) => i.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    const documents = [{ name: "Prospectus", url: "https://example.com/prospectus.pdf" }];
    const ok = await update(equity, admin, { price: "0.000000000000000001", priceCurrency: "usd", documents });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ price: "0.000000000000000001", priceCurrency: "USD", documents });
  });
});

describe("readers take a copy from Redis", () => {
  /** Replaces the stored document behind Kit's back, as only another writer could. */
  async function storeDirectly(token: string, description: string) {
    const document = { ...((await storedMetadata(token)) as object), description };
    await kit.deps.storage.client.send(
      new PutObjectCommand({
        Bucket: kit.deps.storage.buckets.tokenMetadata,
        Key: metadataKey(token),
        Body: JSON.stringify(document),
      }),
    );
  }
  const described = async (token: string) =>
    (await call("GET", `/tokens/${token}/metadata`, investor)).body.description;

  test("a write replaces the copy at once; a lost copy is read again from the store", async () => {
    const token = await insertToken(kit, { decimals: 2 });
    expect((await update(token, admin, { description: "first" })).status).toBe(200);
    expect(await described(token)).toBe("first");

    // Readers keep the copy: the store is not read again on every call.
    await storeDirectly(token, "changed in the store");
    expect(await described(token)).toBe("first");

    // A write through Kit (which checks against the store itself) replaces it for every reader.
    expect((await update(token, admin, { description: "second" })).status).toBe(200);
    expect(await described(token)).toBe("second");
    expect(await kit.deps.redis.ttl(metadataCacheKey(token))).toBeGreaterThan(0);

    // Without the copy, the store answers, and is copied again.
    await storeDirectly(token, "third");
    await kit.deps.redis.del(metadataCacheKey(token));
    expect(await described(token)).toBe("third");
    expect(await kit.deps.redis.exists(metadataCacheKey(token))).toBe(1);
  });

  test("concurrent writes leave the copy of the last document written", async () => {
    const token = await insertToken(kit, { decimals: 2 });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => update(token, admin, { description: `writer ${i}` })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const stored = (await storedMetadata(token)) as { description: string };
    expect(await described(token)).toBe(stored.description);
  });
});

describe("the logo", () => {
  // A 1×1 PNG.
  const png = Buffer.from(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082",
    "hex",
  );

  test("a presigned PUT stores it; it is then served from its public URL and listed in the metadata", async () => {
    const started = await call("POST", `/tokens/${bond}/logo`, agentIssuer, {
      contentType: "image/png",
      size: png.length,
    });
    expect(started.status).toBe(200);
    const { uploadUrl, headers, publicUrl, expiresAt } = started.body;
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(14 * 60 * 1000);
    expect(publicUrl).toBe(
      `${kit.config.s3.endpoint}/${kit.config.s3.buckets.tokenMetadata}/${bond.toLowerCase()}/logo.png`,
    );
    const put = await fetch(uploadUrl, { method: "PUT", headers, body: png });
    expect(put.status).toBe(200);
    const served = await fetch(publicUrl);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);
    const metadata = await call("GET", `/tokens/${bond}/metadata`, undefined);
    expect(metadata.body.logoUrl.startsWith(`${publicUrl}?v=`)).toBe(true);
  });

  test("making the bucket publicly readable never fails the start (s3rver has no policies)", async () => {
    const warnings: unknown[] = [];
    const log = Object.assign(Object.create(kit.deps.log), { warn: (...args: unknown[]) => warnings.push(args) });
    await allowPublicMetadataReads(kit.deps.storage, log);
    expect(warnings).toEqual([]);
  });

  test("SVG and files over 1 MiB are refused before any URL is made", async () => {
    const svg = await call("POST", `/tokens/${bond}/logo`, admin, { contentType: "image/svg+xml", size: 100 });
    expect(svg.status).toBe(400);
    expect(svg.body.message).toContain("SVG");
    expect(
      (await call("POST", `/tokens/${bond}/logo`, admin, { contentType: "image/png", size: 1024 * 1024 + 1 })).status,
    ).toBe(400);
  });
});

describe("tokens.get reads the chain", () => {
  test("name, symbol, decimals, total supply and paused from the token itself, with the metadata", async () => {
    const [totalSupply, paused] = await Promise.all([
      chain.clients.publicClient.readContract({ address: bond, abi: tokenAbi, functionName: "totalSupply" }),
      chain.clients.publicClient.readContract({ address: bond, abi: tokenAbi, functionName: "paused" }),
    ]);
    const { status, body } = await call("GET", `/tokens/${bond.toLowerCase()}`, undefined);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      address: getAddress(bond),
      source: "chain",
      name: bondSpec.name,
      symbol: bondSpec.symbol,
      decimals: bondSpec.decimals,
      totalSupply: { raw: totalSupply.toString() },
      paused,
      metadata: { isin: "US0378331005", assetClass: "bond", price: "99.99", priceCurrency: "EUR" },
    });
    expect(totalSupply > 0n).toBe(true);
  });

  test("shared for a few seconds: with the node gone, the next read still answers the chain's facts", async () => {
    const first = await call("GET", `/tokens/${bond}`, undefined);
    expect(first.body.source).toBe("chain");
    await chain.stop();
    const second = await call("GET", `/tokens/${bond}`, undefined);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      source: "chain",
      totalSupply: first.body.totalSupply,
      paused: first.body.paused,
    });
  });
});
