// Token operations end to end on anvil: each operation through the API, the worker's sender and
// confirmer, checked on chain; idempotency keys; typed refusals before any transaction.
import { describe, expect, test } from "bun:test";
import { tokenAbi } from "@kit/contracts";
import { parseUnits } from "viem";
import { callApi } from "../../../test/api";
import {
  balanceOf,
  grantedIssuer,
  startOperationsKit,
  startOperationsWorker,
  totalSupply,
  waitForOperation,
} from "../../../test/operations";
import { readServerSentEvents } from "../../../test/sse";
import { createUser } from "../../../test/users";

const ops = await startOperationsKit();
const { kit, dev, bond, equity } = ops;
await startOperationsWorker(kit);
const issuer = await grantedIssuer(ops, [bond, equity]);
const [alice, bob] = dev.accounts.investors.map((a) => a.address);
const [stranger] = dev.accounts.others.map((a) => a.address);
if (!alice || !bob || !stranger) throw new Error("dev accounts missing");

const post = (path: string, body: unknown, who = issuer, headers: Record<string, string> = {}) =>
  callApi(kit.app, who, "POST", path, body, headers);

describe("servicing a token, confirmed on chain", () => {
  test("a mint: 202 with the operation, then pending → signed → submitted → confirmed, and the balance on chain", async () => {
    const before = await balanceOf(dev, bond, alice);
    const { status, body } = await post(`/tokens/${bond}/operations/mint`, {
      recipients: [{ to: alice, amount: "12.5" }],
    });
    expect(status).toBe(202);
    expect(body.operation).toMatchObject({ kind: "mint", status: "pending", requestedBy: issuer.id });
    expect(body.operation.parameters).toEqual({
      recipients: [{ to: alice.toLowerCase(), amount: parseUnits("12.5", 18).toString() }],
    });
    const row = await waitForOperation(kit, body.operation.id);
    expect(await balanceOf(dev, bond, alice)).toBe(before + parseUnits("12.5", 18));
    const receipt = await dev.clients.publicClient.getTransactionReceipt({ hash: row.txHash as `0x${string}` });
    expect(Number(receipt.blockNumber)).toBe(row.blockNumber as number);
    const answer = await callApi(kit.app, issuer, "GET", `/token-operations/${row.id}`);
    expect(answer.status).toBe(200);
    expect(answer.body.history.map((h: { to: string }) => h.to)).toEqual([
      "pending",
      "signed",
      "submitted",
      "confirmed",
    ]);
    expect(answer.body).toMatchObject({ status: "confirmed", txHash: row.txHash, nonce: row.nonce, error: null });
  });

  test("a batch mint to three recipients is one batchMint transaction", async () => {
    const supply = await totalSupply(dev, equity);
    const { status, body } = await post(`/tokens/${equity}/operations/mint`, {
      recipients: [
        { to: alice, amount: "3" },
        { to: bob, amount: "4" },
        { to: alice, amount: "5" },
      ],
    });
    expect(status).toBe(202);
    const row = await waitForOperation(kit, body.operation.id);
    expect(await totalSupply(dev, equity)).toBe(supply + 12n);
    const tx = await dev.clients.publicClient.getTransaction({ hash: row.txHash as `0x${string}` });
    expect(tx.input.startsWith("0x68573107")).toBe(true); // batchMint(address[],uint256[])
  });

  test("burn, freeze, unfreeze, pause and unpause each change the chain as asked", async () => {
    const balance = await balanceOf(dev, equity, bob);
    const burn = await post(`/tokens/${equity}/operations/burn`, { from: bob, amount: "1" });
    expect(burn.status).toBe(202);
    await waitForOperation(kit, burn.body.operation.id);
    expect(await balanceOf(dev, equity, bob)).toBe(balance - 1n);

    const read = (functionName: "isFrozen" | "paused", args: readonly unknown[] = []) =>
      dev.clients.publicClient.readContract({ address: equity, abi: tokenAbi, functionName, args } as never);
    const freeze = await post(`/tokens/${equity}/operations/freeze`, { wallet: bob });
    await waitForOperation(kit, freeze.body.operation.id);
    expect(await read("isFrozen", [bob])).toBe(true);
    const unfreeze = await post(`/tokens/${equity}/operations/unfreeze`, { wallet: bob });
    await waitForOperation(kit, unfreeze.body.operation.id);
    expect(await read("isFrozen", [bob])).toBe(false);

    const pause = await post(`/tokens/${equity}/operations/pause`, {});
    await waitForOperation(kit, pause.body.operation.id);
    expect(await read("paused")).toBe(true);
    const again = await post(`/tokens/${equity}/operations/pause`, {});
    expect(again.status).toBe(412);
    expect(again.body.message).toContain("already paused");
    const unpause = await post(`/tokens/${equity}/operations/unpause`, {});
    await waitForOperation(kit, unpause.body.operation.id);
    expect(await read("paused")).toBe(false);
  });

  test("part of a balance is frozen and unfrozen; more than there is is a 400 before any transaction", async () => {
    const read = (functionName: "getFrozenTokens") =>
      dev.clients.publicClient.readContract({ address: equity, abi: tokenAbi, functionName, args: [bob] });
    const balance = await balanceOf(dev, equity, bob);
    const freeze = await post(`/tokens/${equity}/operations/freeze-partial`, { wallet: bob, amount: "2" });
    expect(freeze.status).toBe(202);
    await waitForOperation(kit, freeze.body.operation.id);
    expect(await read("getFrozenTokens")).toBe(2n);
    const tooMuch = await post(`/tokens/${equity}/operations/freeze-partial`, {
      wallet: bob,
      amount: String(balance - 1n),
    });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.message).toContain("exceeds the unfrozen balance");
    const overUnfreeze = await post(`/tokens/${equity}/operations/unfreeze-partial`, { wallet: bob, amount: "3" });
    expect(overUnfreeze.status).toBe(400);
    const unfreeze = await post(`/tokens/${equity}/operations/unfreeze-partial`, { wallet: bob, amount: "2" });
    await waitForOperation(kit, unfreeze.body.operation.id);
    expect(await read("getFrozenTokens")).toBe(0n);
  });

  test("operations list newest first, in exact pages", async () => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const { status, body } = await callApi(kit.app, issuer, "GET", `/tokens/${equity}/operations${query}`);
      expect(status).toBe(200);
      pages.push(body.items.map((o: { kind: string }) => o.kind));
      cursor = body.nextCursor;
    } while (cursor);
    expect(pages.flat()).toEqual([
      "unfreeze_partial",
      "freeze_partial",
      "unpause",
      "pause",
      "unfreeze",
      "freeze",
      "burn",
      "mint",
    ]);
    expect(pages[0]).toHaveLength(2);
  });
});

describe("live operations (SSE)", () => {
  test("a stream shows each status change of the token's operations; an ungranted issuer gets a 403", async () => {
    const controller = new AbortController();
    const response = await kit.request(`/api/tokens/${equity}/operations/events`, {
      headers: { cookie: issuer.cookie },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const events = readServerSentEvents(response.body as ReadableStream<Uint8Array>, 10_000);
    const { body } = await post(`/tokens/${equity}/operations/mint`, { recipients: [{ to: alice, amount: "1" }] });
    const seen: string[] = [];
    while (!seen.includes("confirmed")) {
      const event = await events.event();
      const operation = event.data as { id: string; status: string };
      if (operation.id === body.operation.id) seen.push(operation.status);
    }
    // Polled: a status may be passed over between two polls, never shown out of order.
    const order = ["pending", "signed", "submitted", "confirmed"];
    expect(seen.map((status) => order.indexOf(status))).toEqual(
      [...seen.map((status) => order.indexOf(status))].sort(),
    );
    controller.abort();
    const ungranted = await createUser(kit, "issuer");
    const refused = await kit.request(`/api/tokens/${equity}/operations/events`, {
      headers: { cookie: ungranted.cookie },
    });
    expect(refused.status).toBe(403);
  });
});

describe("idempotency", () => {
  test("the same key and body answer the same operation, and only one transaction is sent", async () => {
    const supply = await totalSupply(dev, equity);
    const body = { recipients: [{ to: alice, amount: "7" }] };
    const first = await post(`/tokens/${equity}/operations/mint`, body, issuer, { "idempotency-key": "order-7" });
    const second = await post(`/tokens/${equity}/operations/mint`, { ...body, idempotencyKey: "order-7" });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.operation.id).toBe(first.body.operation.id);
    await waitForOperation(kit, first.body.operation.id);
    // After confirmation the same request still answers the same operation, without a new mint.
    const third = await post(`/tokens/${equity}/operations/mint`, body, issuer, { "idempotency-key": "order-7" });
    expect(third.body.operation).toMatchObject({ id: first.body.operation.id, status: "confirmed" });
    expect(await totalSupply(dev, equity)).toBe(supply + 7n);
  });

  test("the same key with another body is a 409; another user's same key is their own", async () => {
    const first = await post(`/tokens/${equity}/operations/mint`, {
      recipients: [{ to: alice, amount: "1" }],
      idempotencyKey: "k-1",
    });
    const clash = await post(`/tokens/${equity}/operations/mint`, {
      recipients: [{ to: alice, amount: "2" }],
      idempotencyKey: "k-1",
    });
    expect(clash.status).toBe(409);
    expect(clash.body.message).toContain("already used for another request");
    const other = await grantedIssuer(ops, [equity]);
    const theirs = await post(
      `/tokens/${equity}/operations/mint`,
      { recipients: [{ to: alice, amount: "2" }], idempotencyKey: "k-1" },
      other,
    );
    expect(theirs.status).toBe(202);
    expect(theirs.body.operation.id).not.toBe(first.body.operation.id);
    await waitForOperation(kit, first.body.operation.id);
    await waitForOperation(kit, theirs.body.operation.id);
  });

  test("a body key and a header key that differ are a 400", async () => {
    const { status, body } = await post(`/tokens/${equity}/operations/pause`, { idempotencyKey: "a" }, issuer, {
      "idempotency-key": "b",
    });
    expect(status).toBe(400);
    expect(body.data.issues[0].path).toBe("idempotencyKey");
  });
});

describe("bad input is a typed 4xx before any transaction", () => {
  const nonce = () => dev.clients.publicClient.getTransactionCount({ address: dev.accounts.deployer.address });

  test("more decimals than the token, unverified receiver, burn above balance, unknown wallet", async () => {
    const before = await nonce();
    const cases = [
      [`/tokens/${equity}/operations/mint`, { recipients: [{ to: alice, amount: "1.5" }] }, "recipients.0.amount"],
      [
        `/tokens/${bond}/operations/mint`,
        {
          recipients: [
            { to: alice, amount: "1" },
            { to: stranger, amount: "1" },
          ],
        },
        "recipients.1.to",
      ],
      [`/tokens/${equity}/operations/burn`, { from: alice, amount: "100000000" }, "amount"],
      [`/tokens/${equity}/operations/freeze`, { wallet: stranger }, "wallet"],
      [`/tokens/${equity}/operations/forced-transfer`, { from: alice, to: stranger, amount: "1" }, "to"],
    ] as const;
    for (const [path, body, field] of cases) {
      const answer = await post(path, body);
      expect({ path, status: answer.status }).toEqual({ path, status: 400 });
      expect(answer.body.data.issues[0].path).toBe(field);
    }
    const unverified = await post(`/tokens/${bond}/operations/mint`, { recipients: [{ to: stranger, amount: "1" }] });
    expect(unverified.body.message).toContain("is not verified");
    expect(await nonce()).toBe(before);
  });

  test("a mint above 200 recipients and an amount with an exponent are refused by the schema", async () => {
    const many = Array.from({ length: 201 }, () => ({ to: alice, amount: "1" }));
    expect((await post(`/tokens/${equity}/operations/mint`, { recipients: many })).status).toBe(400);
    const exp = await post(`/tokens/${equity}/operations/mint`, { recipients: [{ to: alice, amount: "1e3" }] });
    expect(exp.status).toBe(400);
  });
});

describe("who may operate", () => {
  test("an issuer without a grant on the token, and an investor, are refused", async () => {
    const ungranted = await createUser(kit, "issuer");
    const refused = await post(`/tokens/${equity}/operations/pause`, {}, ungranted);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("no grant on the token");
    const investor = await createUser(kit, "investor");
    expect((await post(`/tokens/${equity}/operations/pause`, {}, investor)).status).toBe(403);
    expect((await callApi(kit.app, investor, "GET", `/tokens/${equity}/operations`)).status).toBe(403);
  });

  test("a granted issuer grants another issuer, but not an investor; grants can be taken back", async () => {
    const next = await createUser(kit, "issuer");
    const granted = await post(`/tokens/${equity}/grants`, { userId: next.id });
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ userId: next.id, grantedBy: issuer.id });
    const investor = await createUser(kit, "investor");
    const refused = await post(`/tokens/${equity}/grants`, { userId: investor.id });
    expect(refused.status).toBe(400);
    const removed = await callApi(kit.app, issuer, "DELETE", `/tokens/${equity}/grants/${next.id}`);
    expect(removed.body).toEqual({ removed: true });
    expect((await post(`/tokens/${equity}/operations/pause`, {}, next)).status).toBe(403);
  });
});
