// The eligibility plans as pure functions: each step only when the chain lacks its effect, never the
// same step twice (a step confirmed whose effect is still missing ends the operation with a reason).
import { describe, expect, test } from "bun:test";
import { zeroAddress } from "viem";
import { type EligibilityFacts, nextFreezeStep, nextRegisterStep, nextRevokeStep } from "./eligibility-steps";
import type { OperationSteps } from "./schema";

const identity = "0x00000000000000000000000000000000000000aa";
const agent = "0x00000000000000000000000000000000000000Bb";
const none: EligibilityFacts = {
  identity: zeroAddress,
  registered: false,
  claimPresent: false,
  country: 0,
  verified: false,
  frozen: false,
};
const start: Pick<OperationSteps, "done" | "failure"> = { done: [], failure: null };
const after = (...actions: string[]): Pick<OperationSteps, "done" | "failure"> => ({
  done: actions.map((action, i) => ({
    step: { action },
    txHash: `0x${i}`,
    nonce: i,
    raw: "0x",
    blockNumber: i,
    blockHash: "0x",
  })),
  failure: null,
});
const country = { country: 250 };

describe("identity_register", () => {
  test("from nothing: identity (managed by the agent), claim, registration, then done", () => {
    expect(nextRegisterStep(none, country, start, agent)).toEqual({
      send: { action: "create_identity", manager: agent.toLowerCase() },
    });
    const created = { ...none, identity };
    expect(nextRegisterStep(created, country, after("create_identity"), agent)).toEqual({
      send: { action: "add_claim", identity },
    });
    const claimed = { ...created, claimPresent: true };
    expect(nextRegisterStep(claimed, country, after("create_identity", "add_claim"), agent)).toEqual({
      send: { action: "register_identity", identity },
    });
    const registered = { ...claimed, registered: true, country: 250, verified: true };
    expect(
      nextRegisterStep(registered, country, after("create_identity", "add_claim", "register_identity"), agent),
    ).toEqual({ end: "done" });
  });

  test("what the chain already shows is not sent again (a run after a crash, or a second job)", () => {
    const inPlace = { ...none, identity, claimPresent: true, registered: true, country: 250, verified: true };
    expect(nextRegisterStep(inPlace, country, start, agent)).toEqual({ end: "done" });
    expect(nextRegisterStep({ ...inPlace, country: 56 }, country, start, agent)).toEqual({
      send: { action: "update_country" },
    });
  });

  test("a confirmed step whose effect is missing, or a revert, ends it with a reason instead of a loop", () => {
    expect(nextRegisterStep(none, country, after("create_identity"), agent)).toMatchObject({
      end: "failed",
      failure: { code: "no_identity" },
    });
    const claimLost = { ...none, identity };
    expect(nextRegisterStep(claimLost, country, after("create_identity", "add_claim"), agent)).toMatchObject({
      end: "failed",
      failure: { code: "claim_invalid" },
    });
    const notVerified = { ...none, identity, claimPresent: true, registered: true, country: 250 };
    expect(nextRegisterStep(notVerified, country, start, agent)).toMatchObject({
      end: "failed",
      failure: { code: "not_verified" },
    });
    const reverted = {
      done: [],
      failure: { code: "not_agent", message: "AgentRole: caller does not have the Agent role" },
    };
    expect(nextRegisterStep(none, country, reverted, agent)).toEqual({ end: "failed", failure: reverted.failure });
  });
});

describe("identity_revoke and freezes", () => {
  test("the claim goes only when Kit's is there; the identity stays", () => {
    expect(nextRevokeStep({ ...none, identity, claimPresent: true }, start)).toEqual({
      send: { action: "remove_claim", identity },
    });
    expect(nextRevokeStep({ ...none, identity }, start)).toEqual({ end: "done" });
    expect(nextRevokeStep(none, start)).toEqual({ end: "done" });
    expect(nextRevokeStep({ ...none, identity, claimPresent: true }, after("remove_claim"))).toMatchObject({
      end: "failed",
    });
  });

  test("setAddressFrozen only when the wallet is not already as wanted", () => {
    expect(nextFreezeStep(none, true, start)).toEqual({ send: { action: "set_frozen", frozen: true } });
    expect(nextFreezeStep({ ...none, frozen: true }, true, start)).toEqual({ end: "done" });
    expect(nextFreezeStep({ ...none, frozen: true }, false, start)).toEqual({
      send: { action: "set_frozen", frozen: false },
    });
    expect(nextFreezeStep(none, false, start)).toEqual({ end: "done" });
  });
});
