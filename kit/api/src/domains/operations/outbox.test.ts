// The outbox's sender and confirmer as plain functions on anvil, driven step by step: revert
// decoding at simulation, a crash between storing and broadcasting (or after broadcasting), a
// nonce taken by another transaction, a stuck transaction replaced, a reorg, and the history's
// append-only rule.
import { describe, expect, test } from "bun:test";
import { mint as mintDirectly } from "@kit/contracts";
import { eq } from "drizzle-orm";
import type { Hex } from "viem";
import { eventually } from "../../../test/eventually";
import { balanceOf, startOperationsKit, totalSupply } from "../../../test/operations";
import { createUser } from "../../../test/users";
import { connectOperationsChain, type OperationsChain } from "./chain";
import { confirmSubmitted } from "./confirmer";
import { tokenOperationHistory, tokenOperations } from "./schema";
import { sendPending } from "./sender";
import { type OperationRow, transition } from "./store";

const { kit, dev, bond, equity } = await startOperationsKit();
const deps = kit.deps;
const chain = await connectOperationsChain(kit.config);
const requester = await createUser(kit, "issuer");
const [alice] = dev.accounts.investors.map((a) => a.address);
const [stranger] = dev.accounts.others.map((a) => a.address);
if (!alice || !stranger) throw new Error("dev accounts missing");
const rpc = (method: string, params: unknown[] = []) =>
  dev.clients.publicClient.request({ method, params } as never) as Promise<unknown>;
const agentNonce = () => dev.clients.publicClient.getTransactionCount({ address: chain.agent.address });

async function pending(kind: OperationRow["kind"], token: string, parameters: Record<string, unknown>) {
  const [row] = await deps.db
    .insert(tokenOperations)
    .values({
      chainId: chain.chainId,
      token: token.toLowerCase(),
      kind,
      parameters,
      requestedBy: requester.id,
      requestHash: crypto.randomUUID(),
      status: "pending",
    })
    .returning();
  if (!row) throw new Error("no row");
  return row;
}
const mintOf = (to: string, amount: bigint) => ({ recipients: [{ to: to.toLowerCase(), amount: amount.toString() }] });
const reload = async (id: string) =>
  (await deps.db.select().from(tokenOperations).where(eq(tokenOperations.id, id)))[0] as OperationRow;

/** anvil's automine answers a broadcast before its block exists: confirm until all are seen (bounded). */
const confirmedBy = (...ids: string[]) =>
  eventually(`operations ${ids.join(", ")} confirmed`, async () => {
    await confirmSubmitted(deps, chain);
    for (const id of ids) if ((await reload(id)).status !== "confirmed") return false;
    return true;
  });

/** A chain whose broadcast "crashes" the process: before the node gets it, or after. */
function crashingAt(moment: "before" | "after"): OperationsChain {
  const client = new Proxy(chain.client, {
    get(target, property, receiver) {
      if (property !== "sendRawTransaction") return Reflect.get(target, property, receiver);
      return async (args: { serializedTransaction: Hex }) => {
        if (moment === "after") await target.sendRawTransaction(args);
        throw new Error("killed");
      };
    },
  });
  return { ...chain, client };
}

describe("simulation", () => {
  test("a revert fails the operation with its decoded reason and uses no nonce", async () => {
    const nonce = await agentNonce();
    const cases = [
      [await pending("mint", bond, mintOf(stranger, 1n)), "receiver_not_verified", "Identity is not verified."],
      [
        await pending("burn", equity, { from: alice, amount: "999999999" }),
        "burn_exceeds_balance",
        "cannot burn more than balance",
      ],
      [await pending("unpause", equity, {}), "token_not_paused", "Pausable: not paused"],
    ] as const;
    const summary = await sendPending(deps, chain);
    expect(summary).toMatchObject({ sent: 0, failed: 3 });
    for (const [row, code, message] of cases) {
      expect(await reload(row.id)).toMatchObject({
        status: "failed",
        errorCode: code,
        error: message,
        nonce: null,
        txHash: null,
      });
    }
    expect(await agentNonce()).toBe(nonce);
  });

  test("a burn that depends on a mint of the same batch is simulated again after the mint, not refused", async () => {
    const balance = await balanceOf(dev, equity, alice);
    const mint = await pending("mint", equity, mintOf(alice, 5n));
    const burn = await pending("burn", equity, { from: alice.toLowerCase(), amount: (balance + 5n).toString() });
    expect(await sendPending(deps, chain)).toMatchObject({ sent: 2, failed: 0 });
    await confirmedBy(mint.id, burn.id);
    expect((await reload(mint.id)).status).toBe("confirmed");
    expect((await reload(burn.id)).status).toBe("confirmed");
    expect(await balanceOf(dev, equity, alice)).toBe(0n);
  });
});

describe("crash safety", () => {
  test("killed after storing the signed transaction, before broadcasting: the same bytes are sent once", async () => {
    const supply = await totalSupply(dev, equity);
    const op = await pending("mint", equity, mintOf(alice, 5n));
    await expect(sendPending(deps, crashingAt("before"))).rejects.toThrow("killed");
    const stored = await reload(op.id);
    expect(stored).toMatchObject({ status: "signed" });
    expect(stored.rawTransaction).toBeString();
    expect(await agentNonce()).toBe(stored.nonce as number); // not on chain yet

    await sendPending(deps, chain);
    await confirmedBy(op.id);
    const done = await reload(op.id);
    expect(done).toMatchObject({ status: "confirmed", txHash: stored.txHash, nonce: stored.nonce });
    expect(await totalSupply(dev, equity)).toBe(supply + 5n);
  });

  test("killed after broadcasting, before recording it: found mined, never sent again, next nonce follows", async () => {
    const supply = await totalSupply(dev, equity);
    const op = await pending("mint", equity, mintOf(alice, 6n));
    await expect(sendPending(deps, crashingAt("after"))).rejects.toThrow("killed");
    expect(await reload(op.id)).toMatchObject({ status: "signed" });
    const next = await pending("mint", equity, mintOf(alice, 1n));
    await sendPending(deps, chain);
    await confirmedBy(op.id, next.id);
    const [first, second] = [await reload(op.id), await reload(next.id)];
    expect(first.status).toBe("confirmed");
    expect(second.status).toBe("confirmed");
    expect(second.nonce).toBe((first.nonce as number) + 1);
    expect(await totalSupply(dev, equity)).toBe(supply + 7n);
  });

  test("a nonce another sender took: the operation goes back to pending and is sent with a new nonce", async () => {
    const supply = await totalSupply(dev, equity);
    const op = await pending("mint", equity, mintOf(alice, 8n));
    await expect(sendPending(deps, crashingAt("before"))).rejects.toThrow("killed");
    const stored = await reload(op.id);
    // Another sender of the same key (e.g. the KYC jobs) uses that nonce meanwhile.
    await mintDirectly(dev.clients, dev.accounts.deployer, equity, alice, 100n);
    await sendPending(deps, chain);
    await confirmedBy(op.id);
    const done = await reload(op.id);
    expect(done.status).toBe("confirmed");
    expect(done.nonce).toBe((stored.nonce as number) + 1);
    expect(done.txHash).not.toBe(stored.txHash);
    expect(await totalSupply(dev, equity)).toBe(supply + 108n);
    const history = await deps.db
      .select()
      .from(tokenOperationHistory)
      .where(eq(tokenOperationHistory.operationId, op.id));
    expect(history.map((h) => h.toStatus)).toEqual(["signed", "pending", "signed", "submitted", "confirmed"]);
    expect(history[1]?.reason).toContain("nonce was used by another transaction");
  });
});

describe("stuck transactions and reorgs", () => {
  test("a transaction not mined for OPERATIONS_STUCK_BLOCKS is replaced with the same nonce and a higher fee", async () => {
    const supply = await totalSupply(dev, equity);
    await rpc("evm_setAutomine", [false]);
    try {
      const op = await pending("mint", equity, mintOf(alice, 9n));
      await sendPending(deps, chain);
      const sent = await reload(op.id);
      expect(sent.status).toBe("submitted");
      // The node loses it, and blocks go by without it.
      await rpc("anvil_dropTransaction", [sent.txHash]);
      await rpc("anvil_mine", [`0x${kit.config.operations.stuckBlocks.toString(16)}`]);
      expect((await confirmSubmitted(deps, chain)).replaced).toBe(1);
      const replaced = await reload(op.id);
      expect(replaced).toMatchObject({ status: "submitted", nonce: sent.nonce, replacedHashes: [sent.txHash] });
      expect(replaced.txHash).not.toBe(sent.txHash);
      await rpc("anvil_mine", ["0x1"]);
      await confirmSubmitted(deps, chain);
      expect(await reload(op.id)).toMatchObject({ status: "confirmed", txHash: replaced.txHash });
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(await totalSupply(dev, equity)).toBe(supply + 9n);
  });

  test("only the next nonce is stuck: transactions waiting behind it are not replaced", async () => {
    const supply = await totalSupply(dev, equity);
    await rpc("evm_setAutomine", [false]);
    try {
      const queued = [
        await pending("mint", equity, mintOf(alice, 1n)),
        await pending("mint", equity, mintOf(alice, 2n)),
      ];
      const third = await pending("mint", equity, mintOf(alice, 3n));
      await sendPending(deps, chain);
      const [first] = await Promise.all([reload(queued[0]?.id as string)]);
      // The first is lost; blocks go by while the two behind it wait for its nonce.
      await rpc("anvil_dropTransaction", [first?.txHash]);
      await rpc("anvil_mine", [`0x${kit.config.operations.stuckBlocks.toString(16)}`]);
      expect((await confirmSubmitted(deps, chain)).replaced).toBe(1);
      expect((await reload(third.id)).replacedHashes).toEqual([]);
      // anvil drops the ones behind a dropped transaction too: the sweep's resume sends them again.
      await sendPending(deps, chain);
      await rpc("anvil_mine", ["0x3"]);
      await confirmSubmitted(deps, chain);
      for (const op of [...queued, third]) expect((await reload(op.id)).status).toBe("confirmed");
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    expect(await totalSupply(dev, equity)).toBe(supply + 6n);
  });

  test("a reorg that drops a confirmed transaction: back to submitted, sent again as its nonce is free, minted once", async () => {
    const supply = await totalSupply(dev, equity);
    const snapshot = await rpc("evm_snapshot");
    const op = await pending("mint", equity, mintOf(alice, 10n));
    await sendPending(deps, chain);
    await confirmedBy(op.id);
    const confirmed = await reload(op.id);
    expect(confirmed.status).toBe("confirmed");
    await rpc("evm_revert", [snapshot]);
    expect(await totalSupply(dev, equity)).toBe(supply);

    expect((await confirmSubmitted(deps, chain)).reorged).toBe(1);
    expect((await reload(op.id)).status).toBe("submitted");
    await sendPending(deps, chain);
    await confirmedBy(op.id);
    expect(await reload(op.id)).toMatchObject({
      status: "confirmed",
      txHash: confirmed.txHash,
      nonce: confirmed.nonce,
    });
    expect(await totalSupply(dev, equity)).toBe(supply + 10n);
  });
});

test("the status history is append-only", async () => {
  const op = await pending("pause", equity, {});
  await transition(deps.db, op.id, { from: "pending", to: "rejected", reason: "test" });
  const refused = (statement: string) => expect(deps.pool.query(statement, statement.includes("$1") ? [op.id] : []));
  await refused("update token_operation_history set reason = 'x' where operation_id = $1").rejects.toThrow(
    "append-only",
  );
  await refused("delete from token_operation_history where operation_id = $1").rejects.toThrow("append-only");
  await refused("truncate token_operation_history cascade").rejects.toThrow("append-only");
});
