// The recovery planner as a pure function: each path walked step by step, feeding back what each
// step does on chain, plus the clean-up after a revert. (recover.test.ts runs the same on anvil.)
import { describe, expect, test } from "bun:test";
import { zeroAddress } from "viem";
import { nextRecoveryStep, type RecoveryFacts, type RecoveryStep } from "./recovery-steps";
import type { OperationSteps } from "./schema";

const IDENTITY = "0x00000000000000000000000000000000000000a1";
const OWN_IDENTITY = "0x00000000000000000000000000000000000000b2";
const REGISTRY = "0x00000000000000000000000000000000000000c3";

const start: RecoveryFacts = {
  identity: IDENTITY,
  registry: REGISTRY,
  lostBalance: 100n,
  lostFrozenAmount: 30n,
  lostFrozen: false,
  newBalance: 0n,
  newFrozen: false,
  lostIdentity: IDENTITY,
  newIdentity: zeroAddress,
  keyPresent: false,
  agentManages: true,
  country: 250,
};

/** What each step does to the facts, as the chain would. */
function apply(f: RecoveryFacts, step: RecoveryStep): RecoveryFacts {
  switch (step.action) {
    case "unregister_new_wallet":
      return { ...f, newIdentity: zeroAddress };
    case "add_key":
      return { ...f, keyPresent: true };
    case "remove_key":
      return { ...f, keyPresent: false };
    case "recovery_address":
      return {
        ...f,
        lostBalance: 0n,
        lostFrozenAmount: 0n,
        newBalance: f.lostBalance,
        newFrozen: f.newFrozen || f.lostFrozen,
        lostIdentity: zeroAddress,
        newIdentity: f.identity,
      };
    case "freeze_new_wallet":
      return { ...f, newFrozen: true };
    case "unfreeze_new_wallet":
      return { ...f, newFrozen: false };
    case "forced_transfer":
      return { ...f, lostBalance: 0n, lostFrozenAmount: 0n, newBalance: f.newBalance + BigInt(step.amount) };
    case "freeze_partial":
      return f;
  }
}

/** Plans and "confirms" steps until the plan ends; answers the steps in order and the end. */
function run(facts: RecoveryFacts, revertAt?: RecoveryStep["action"]) {
  let f = facts;
  let progress: Pick<OperationSteps, "done" | "failure"> = { done: [], failure: null };
  const sent: string[] = [];
  for (let i = 0; i < 12; i++) {
    const plan = nextRecoveryStep(f, progress);
    if ("end" in plan) return { sent, end: plan.end, failure: "failure" in plan ? plan.failure : null };
    sent.push(plan.send.action);
    if (plan.send.action === revertAt) {
      progress = { ...progress, failure: plan.failure ?? { code: "reverted", message: "boom" } };
      continue;
    }
    f = apply(f, plan.send);
    const entry = { step: plan.send, txHash: "0x", nonce: i, raw: "0x", blockNumber: i, blockHash: "0x" };
    progress = { done: [...progress.done, entry], failure: plan.failure };
  }
  throw new Error("the plan did not end");
}

describe("the first of Kit's tokens: recoveryAddress", () => {
  test("new wallet not registered: add key, recoveryAddress, remove key", () => {
    expect(run(start)).toEqual({
      sent: ["add_key", "recovery_address", "remove_key"],
      end: "recovered",
      failure: null,
    });
  });

  test("new wallet registered by eligibility with an identity of its own: it is taken out first", () => {
    expect(run({ ...start, newIdentity: OWN_IDENTITY }).sent).toEqual([
      "unregister_new_wallet",
      "add_key",
      "recovery_address",
      "remove_key",
    ]);
  });

  test("the new wallet already a management key: not added, so not removed", () => {
    expect(run({ ...start, keyPresent: true }).sent).toEqual(["recovery_address"]);
  });

  test("resumed after a step confirmed: the next step, never the same again", () => {
    const afterKey = apply(start, { action: "add_key", identity: IDENTITY });
    const done = [
      {
        step: { action: "add_key", identity: IDENTITY },
        txHash: "0x",
        nonce: 1,
        raw: "0x",
        blockNumber: 1,
        blockHash: "0x",
      },
    ];
    expect(nextRecoveryStep(afterKey, { done, failure: null })).toEqual({
      send: { action: "recovery_address" },
      failure: null,
    });
  });

  test("Kit's agent does not manage the identity: fails before any transaction", () => {
    expect(run({ ...start, agentManages: false })).toMatchObject({
      sent: [],
      end: "failed",
      failure: { code: "identity_not_managed" },
    });
  });

  test("recoveryAddress reverts after the key was added: the key comes off, then it fails with the revert", () => {
    expect(run(start, "recovery_address")).toMatchObject({
      sent: ["add_key", "recovery_address", "remove_key"],
      end: "failed",
      failure: { code: "reverted" },
    });
  });
});

describe("a later token: the registration already moved", () => {
  const moved = { ...start, lostIdentity: zeroAddress, newIdentity: IDENTITY };

  test("something frozen: the new wallet is frozen first, then the move, the frozen amount, the unfreeze", () => {
    expect(run(moved)).toEqual({
      sent: ["freeze_new_wallet", "forced_transfer", "freeze_partial", "unfreeze_new_wallet"],
      end: "recovered",
      failure: null,
    });
  });

  test("nothing frozen: one forced transfer", () => {
    expect(run({ ...moved, lostFrozenAmount: 0n }).sent).toEqual(["forced_transfer"]);
  });

  test("the lost wallet frozen as a whole: the new wallet stays frozen", () => {
    expect(run({ ...moved, lostFrozen: true }).sent).toEqual([
      "freeze_new_wallet",
      "forced_transfer",
      "freeze_partial",
    ]);
  });

  test("the move reverts: the new wallet is unfrozen again (nothing moved)", () => {
    expect(run(moved, "forced_transfer")).toMatchObject({
      sent: ["freeze_new_wallet", "forced_transfer", "unfreeze_new_wallet"],
      end: "failed",
    });
  });

  test("the frozen amount cannot be frozen again after the move: the new wallet stays frozen", () => {
    expect(run(moved, "freeze_partial")).toMatchObject({
      sent: ["freeze_new_wallet", "forced_transfer", "freeze_partial"],
      end: "failed",
    });
  });
});

test("the lost wallet emptied meanwhile: nothing to recover", () => {
  expect(run({ ...start, lostBalance: 0n })).toMatchObject({
    sent: [],
    end: "failed",
    failure: { code: "nothing_to_recover" },
  });
});

test("a clean-up step that reverts ends it at once", () => {
  const progress = {
    done: [
      {
        step: { action: "add_key", identity: IDENTITY },
        txHash: "0x",
        nonce: 1,
        raw: "0x",
        blockNumber: 1,
        blockHash: "0x",
      },
    ],
    failure: { code: "reverted", message: "boom", cleanupFailed: true },
  };
  expect(nextRecoveryStep({ ...start, keyPresent: true }, progress)).toEqual({
    end: "failed",
    failure: progress.failure,
  });
});
