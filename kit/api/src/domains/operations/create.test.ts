// tokens.create end to end on anvil: each kind requested through the API, deployed by the worker's
// outbox at the predicted address, unpaused, its creator granted, its terms in the metadata
// document, picked up by the indexer from the factory event; the compliance modules refusing on
// chain; bad input typed 4xx before anything is recorded; who may create; idempotency.
import { afterAll, describe, expect, test } from "bun:test";
import {
  conditionalTransferModuleAbi,
  identityRegistryAbi,
  modularComplianceAbi,
  send,
  tokenAbi,
  transfer,
  trexFactoryAbi,
} from "@kit/contracts";
import { eq } from "drizzle-orm";
import { type Address, encodeFunctionData, zeroAddress } from "viem";
import { callApi } from "../../../test/api";
import { startOperationsKit, startOperationsWorker, waitForOperation } from "../../../test/operations";
import { createUser } from "../../../test/users";
import { startIndexer } from "../tokens/indexer";
import { tokens as tokensTable } from "../tokens/schema";
import { tokenOperations } from "./schema";

const ops = await startOperationsKit({ INDEXER_POLL_MS: "20" });
const { kit, dev } = ops;
await startOperationsWorker(kit);
const indexer = startIndexer({ config: kit.config, redis: kit.deps.redis, log: kit.deps.log });
afterAll(() => indexer.stop());
const issuer = await createUser(kit, "issuer");
const client = dev.clients.publicClient;
// The demo investors' registered countries: Belgium, France, Germany, Netherlands.
const [be, fr, de] = dev.accounts.investors;
if (!be || !fr || !de) throw new Error("dev accounts missing");

/** A valid ISIN (ISO 6166 check digit) for a 9-character body. */
let isinCounter = 0;
function newIsin(prefix = "XS"): string {
  const body = `${prefix}${String(Date.now() % 1e5).padStart(5, "0")}${String(isinCounter++).padStart(4, "0")}`;
  const digits = [...body].map((c) => (c >= "A" ? String(c.charCodeAt(0) - 55) : c)).join("");
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

const nextYear = `${new Date().getUTCFullYear() + 1}-06-30`;
const bondBody = (overrides: Record<string, unknown> = {}) => ({
  kind: "bond",
  name: "Test Bond",
  symbol: "TB",
  decimals: 2,
  isin: newIsin(),
  faceValue: "1000",
  currency: "EUR",
  maturityDate: nextYear,
  couponRate: "4.5",
  couponFrequency: "annual",
  ...overrides,
});

const post = (path: string, body: unknown, who = issuer, headers: Record<string, string> = {}) =>
  callApi(kit.app, who, "POST", path, body, headers);

async function created(body: Record<string, unknown>): Promise<{ id: string; token: Address }> {
  const answer = await post("/tokens", body);
  if (answer.status !== 202) throw new Error(`create: ${answer.status} ${JSON.stringify(answer.body)}`);
  const row = await waitForOperation(kit, answer.body.operation.id, ["confirmed"], 30_000);
  return { id: row.id, token: row.token as Address };
}

const readToken = <T>(token: Address, functionName: string, args: unknown[] = []) =>
  client.readContract({ address: token, abi: tokenAbi, functionName, args } as never) as Promise<T>;

/** Waits until the indexer has the token (reads that start from the index need it). */
async function waitIndexed(token: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [indexed] = await kit.deps.db.select().from(tokensTable).where(eq(tokensTable.address, token));
    if (indexed) return;
    if (Date.now() > deadline) throw new Error(`${token} was not indexed`);
    await Bun.sleep(50);
  }
}

async function mintThroughKit(token: Address, to: Address, amount: string) {
  const answer = await post(`/tokens/${token}/operations/mint`, { recipients: [{ to, amount }] });
  expect(answer.status).toBe(202);
  return waitForOperation(kit, answer.body.operation.id, ["confirmed", "failed"]);
}

describe("each kind is created and confirmed", () => {
  const kinds = {
    bond: bondBody({ name: "Green Bond 2031", symbol: "GB31" }),
    equity: {
      kind: "equity",
      name: "Kit Preferred",
      symbol: "KPREF",
      decimals: 0,
      isin: newIsin("BE"),
      shareClass: "Preferred",
      votingRights: false,
    },
    fund: {
      kind: "fund",
      name: "Kit Money Market",
      symbol: "KMMF",
      decimals: 6,
      isin: newIsin("LU"),
      managementFee: "0.75",
      navCurrency: "USD",
      compliance: { allowCountries: ["be", "FR", "DE"] },
    },
    deposit: {
      kind: "deposit",
      name: "Kit Euro Deposit",
      symbol: "KEUR",
      decimals: 2,
      isin: newIsin("FR"),
      backingCurrency: "EUR",
      approvalPolicy: { approvalKinds: ["burn"], mintThreshold: "1000" },
    },
  };

  test("202 at once, then deployed at the predicted address, unpaused, granted, described and indexed", async () => {
    const answers = await Promise.all(Object.values(kinds).map((body) => post("/tokens", body)));
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.body.operation).toMatchObject({ kind: "create", status: "pending", requestedBy: issuer.id });
    }
    const rows = await Promise.all(
      answers.map((a) => waitForOperation(kit, a.body.operation.id, ["confirmed"], 30_000)),
    );
    for (const [i, [kind, body]] of Object.entries(kinds).entries()) {
      const row = rows[i];
      const token = row?.token as Address;
      expect(answers[i]?.body.operation.token).toBe(token);
      expect(await readToken<string>(token, "symbol")).toBe(body.symbol);
      expect(await readToken<number>(token, "decimals")).toBe(body.decimals);
      expect(await readToken<boolean>(token, "paused")).toBe(false);
      expect(await readToken<boolean>(token, "isAgent", [ops.dev.accounts.deployer.address])).toBe(true);
      const factoryToken = await client.readContract({
        address: dev.deployment.trex.factory,
        abi: trexFactoryAbi,
        functionName: "getToken",
        args: [body.isin],
      });
      expect(factoryToken.toLowerCase()).toBe(token);
      // Verified once, verified everywhere: the shared identity registry storage.
      const registry = await readToken<Address>(token, "identityRegistry");
      const storage = await client.readContract({
        address: registry,
        abi: identityRegistryAbi,
        functionName: "identityStorage",
      });
      expect(storage).toBe(dev.deployment.identityRegistryStorage);

      const history = await callApi(kit.app, issuer, "GET", `/token-operations/${row?.id}`);
      expect(history.status).toBe(200);
      expect(history.body.history.map((h: { to: string }) => h.to)).toEqual([
        "pending",
        "signed",
        "submitted",
        "pending",
        "signed",
        "submitted",
        "pending",
        "confirmed",
      ]);

      const metadata = await callApi(kit.app, undefined, "GET", `/tokens/${token}/metadata`);
      expect(metadata.body).toMatchObject({ assetClass: kind, isin: body.isin });
      expect(metadata.body.terms.kind).toBe(kind);
    }
    const bondMetadata = await callApi(kit.app, undefined, "GET", `/tokens/${rows[0]?.token}/metadata`);
    expect(bondMetadata.body.terms).toEqual({
      kind: "bond",
      faceValue: "1000",
      currency: "EUR",
      maturityDate: nextYear,
      couponRate: "4.5",
      couponFrequency: "annual",
    });

    // The creator may service each new token (a grant of its own), under the policy asked for.
    const mine = await callApi(kit.app, issuer, "GET", "/me/token-grants?limit=100");
    const granted = mine.body.items.map((g: { token: string }) => g.token.toLowerCase());
    for (const row of rows) expect(granted).toContain(row?.token);

    // The indexer found every token through the factory's TREXSuiteDeployed event.
    for (const row of rows) {
      await waitIndexed(row?.token as string);
      const [indexed] = await kit.deps.db
        .select()
        .from(tokensTable)
        .where(eq(tokensTable.address, row?.token as string));
      expect(indexed).toMatchObject({ kind: "t-rex", discoveredVia: "factory" });
    }
    const deposit = rows[3]?.token as string;
    const policy = await callApi(kit.app, issuer, "GET", `/tokens/${deposit}/operations-policy`);
    expect(policy.body).toMatchObject({ approvalKinds: ["burn"], mintThreshold: "1000", isDefault: false });
    const listed = await callApi(kit.app, issuer, "GET", `/tokens/${deposit}/operations`);
    expect(listed.body.items.map((o: { kind: string }) => o.kind)).toEqual(["create"]);
  }, 60_000);
});

describe("the compliance modules refuse on chain", () => {
  test("a blocked country, over the max balance, over the supply cap", async () => {
    const { token } = await created(
      bondBody({
        decimals: 0,
        compliance: { blockCountries: ["FR"], maxBalancePerInvestor: "100", supplyCap: "150" },
      }),
    );
    const compliance = await readToken<Address>(token, "compliance");
    const modules = await client.readContract({
      address: compliance,
      abi: modularComplianceAbi,
      functionName: "getModules",
    });
    expect(modules).toHaveLength(3);

    expect(await mintThroughKit(token, fr.address, "1")).toMatchObject({
      status: "failed",
      errorCode: "compliance_refused",
    });
    expect(await mintThroughKit(token, be.address, "101")).toMatchObject({
      status: "failed",
      errorCode: "compliance_refused",
    });
    expect((await mintThroughKit(token, be.address, "100")).status).toBe("confirmed");
    expect(await mintThroughKit(token, de.address, "51")).toMatchObject({ status: "failed" });
    expect((await mintThroughKit(token, de.address, "50")).status).toBe("confirmed");
    expect(await readToken<bigint>(token, "totalSupply")).toBe(150n);

    // Holders' own transfers: to France refused (the transfer check names the module); to an
    // investor at the max refused; else allowed.
    await waitIndexed(token.toLowerCase());
    const check = await callApi(
      kit.app,
      issuer,
      "GET",
      `/tokens/${token}/transfer-check?from=${be.address}&to=${fr.address}&amount=1`,
    );
    expect(check.body.allowed).toBe(false);
    const refusal = check.body.reasons.find((r: { code: string }) => r.code === "compliance_refused");
    expect(refusal?.message).toContain("CountryRestrictModule");
    await expect(transfer(dev.clients, be, token, fr.address, 1n)).rejects.toThrow();
    await expect(transfer(dev.clients, de, token, be.address, 1n)).rejects.toThrow();
    await transfer(dev.clients, be, token, de.address, 10n);
    expect(await readToken<bigint>(token, "balanceOf", [de.address])).toBe(60n);
  }, 60_000);

  test("an allow list: only receivers registered in its countries", async () => {
    const { token } = await created(bondBody({ decimals: 0, compliance: { allowCountries: ["BE", "DE"] } }));
    expect((await mintThroughKit(token, be.address, "5")).status).toBe("confirmed");
    expect(await mintThroughKit(token, fr.address, "5")).toMatchObject({ errorCode: "compliance_refused" });
    await transfer(dev.clients, be, token, de.address, 1n);
    await expect(transfer(dev.clients, be, token, fr.address, 1n)).rejects.toThrow();
  }, 60_000);

  test("transfer approval: nothing moves, a mint included, until the agent approved it", async () => {
    const { token } = await created(bondBody({ decimals: 0, compliance: { transferApproval: true } }));
    expect(await mintThroughKit(token, be.address, "10")).toMatchObject({ errorCode: "compliance_refused" });
    const compliance = await readToken<Address>(token, "compliance");
    const module = dev.deployment.complianceModules?.conditionalTransfer as Address;
    const approve = (from: Address, to: Address, amount: bigint) =>
      send(dev.clients, dev.accounts.deployer, {
        address: compliance,
        abi: modularComplianceAbi,
        functionName: "callModuleFunction",
        args: [
          encodeFunctionData({
            abi: conditionalTransferModuleAbi,
            functionName: "approveTransfer",
            args: [from, to, amount],
          }),
          module,
        ],
      });
    await approve(zeroAddress, be.address, 10n);
    expect((await mintThroughKit(token, be.address, "10")).status).toBe("confirmed");
    await expect(transfer(dev.clients, be, token, de.address, 3n)).rejects.toThrow();
    await approve(be.address, de.address, 3n);
    await transfer(dev.clients, be, token, de.address, 3n);
    expect(await readToken<bigint>(token, "balanceOf", [de.address])).toBe(3n);
  }, 60_000);
});

describe("refused before anything is recorded", () => {
  const creations = async () => (await kit.deps.db.select({ id: tokenOperations.id }).from(tokenOperations)).length;

  test("bad input is a typed 400 naming the field", async () => {
    const before = await creations();
    const cases: [Record<string, unknown>, string][] = [
      [bondBody({ isin: "US0378331006" }), "isin"],
      [bondBody({ decimals: 19 }), "decimals"],
      [bondBody({ compliance: { allowCountries: ["FR", "DE"], blockCountries: ["DE"] } }), "compliance.blockCountries"],
      [bondBody({ maturityDate: "2020-01-01" }), "maturityDate"],
      [bondBody({ currency: "XXQ" }), "currency"],
      [bondBody({ compliance: { supplyCap: "10.123" } }), "compliance.supplyCap"],
      [bondBody({ couponFrequency: "weekly" }), "couponFrequency"],
      [{ ...bondBody(), kind: "option" }, "kind"],
      [
        {
          kind: "fund",
          name: "F",
          symbol: "F",
          decimals: 2,
          isin: newIsin(),
          managementFee: "12",
          navCurrency: "EUR",
        },
        "managementFee",
      ],
    ];
    for (const [body, path] of cases) {
      const answer = await post("/tokens", body);
      expect({ path, status: answer.status }).toEqual({ path, status: 400 });
      const paths = (answer.body.data?.issues ?? []).map((i: { path: string | string[] }) =>
        Array.isArray(i.path) ? i.path.join(".") : i.path,
      );
      expect(paths.join(" ") || answer.body.message).toContain(path);
    }
    expect(await creations()).toBe(before);
  });

  test("an ISIN already used is a 409: by a Kit creation, or by the factory (the demo bond)", async () => {
    const isin = newIsin();
    const first = await post("/tokens", bondBody({ isin }));
    expect(first.status).toBe(202);
    const again = await post("/tokens", bondBody({ isin, name: "Another name" }));
    expect(again.status).toBe(409);
    expect(again.body.message).toContain(isin);
    const demo = await post("/tokens", bondBody({ isin: "XS2030000009" }));
    expect(demo.status).toBe(409);
    await waitForOperation(kit, first.body.operation.id, ["confirmed"], 30_000);
  }, 60_000);

  test("investors, reviewers and API keys without tokens: create are refused (403)", async () => {
    for (const role of ["investor", "kyc_reviewer"] as const) {
      const who = await createUser(kit, role);
      expect((await post("/tokens", bondBody(), who)).status).toBe(403);
    }
    const owner = issuer.id;
    const keyOf = async (permissions?: Record<string, string[]>) =>
      (await kit.deps.auth.api.createApiKey({ body: { userId: owner, ...(permissions ? { permissions } : {}) } })).key;
    const withKey = (key: string) => callApi(kit.app, undefined, "POST", "/tokens", bondBody(), { "x-api-key": key });
    expect((await withKey(await keyOf({ tokens: ["operate"] }))).status).toBe(403);
    const allowed = await withKey(await keyOf({ tokens: ["create"] }));
    expect(allowed.status).toBe(202);
    await waitForOperation(kit, allowed.body.operation.id, ["confirmed"], 30_000);
  }, 60_000);

  test("a token's fixed terms cannot change through the metadata edit", async () => {
    const { token } = await created(bondBody());
    // The metadata edit reads the token from the index, which follows the chain a moment later.
    await waitIndexed(token);
    const admin = ops.admin;
    const put = (body: Record<string, unknown>) => callApi(kit.app, admin, "PUT", `/tokens/${token}/metadata`, body);
    expect((await put({ assetClass: "equity" })).status).toBe(409);
    expect((await put({ isin: "US0378331005" })).status).toBe(409);
    expect((await put({ terms: { maturityDate: "2099-01-01" } })).status).toBe(400);
    const changed = await put({ description: "Green bond, use of proceeds: solar" });
    expect(changed.status).toBe(200);
    expect(changed.body.terms.maturityDate).toBe(nextYear);
  }, 60_000);
});

describe("idempotency", () => {
  test("the same key and body answer the same operation; another body with it is a 409", async () => {
    const body = bondBody();
    const headers = { "idempotency-key": `create-${crypto.randomUUID()}` };
    const first = await post("/tokens", body, issuer, headers);
    const second = await post("/tokens", body, issuer, headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.operation.id).toBe(first.body.operation.id);
    const other = await post("/tokens", { ...body, name: "Other" }, issuer, headers);
    expect(other.status).toBe(409);
    await waitForOperation(kit, first.body.operation.id, ["confirmed"], 30_000);
  }, 60_000);

  test("the same request sent five times at once: one creation, the same answer to all", async () => {
    const body = { ...bondBody(), idempotencyKey: `race-${crypto.randomUUID()}` };
    const answers = await Promise.all(Array.from({ length: 5 }, () => post("/tokens", body)));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(answers.map((a) => a.body.operation.id)).size).toBe(1);
    await waitForOperation(kit, answers[0]?.body.operation.id, ["confirmed"], 30_000);
  }, 60_000);
});
