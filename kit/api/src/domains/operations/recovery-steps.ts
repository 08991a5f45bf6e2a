// A recovery's next step, decided from what the chain shows now and what was already confirmed —
// a pure function, so a resumed or repeated plan never sends a step twice: a step whose effect is
// on chain is not chosen again. T-REX's recoveryAddress (4.x) moves balance, frozen amount, frozen
// flag and registration in one transaction, but needs the new wallet as a MANAGEMENT key of the
// investor's ONCHAINID and the new wallet absent from the registry. So, on the first of Kit's
// tokens (their registry storage is shared):
//   unregister the new wallet (if eligibility registered it with an identity of its own)
//   → add its key to the investor's identity → recoveryAddress → take the key off again
// (Kit's identities are managed by Kit's agent alone). On a token recovered after the registration
// already moved (same investor, another token), recoveryAddress cannot run (the new wallet is
// registered); the agent moves the holdings instead, freezing the new wallet first when anything
// was frozen so that nothing frozen can leave between two transactions:
//   freeze the new wallet → forcedTransfer → freeze the frozen amount → unfreeze the new wallet.
// A reverted step switches to clean-up: only what Kit added for the move is taken back.
import { identityAbi, identityRegistryAbi, keyOf, tokenAbi } from "@kit/contracts";
import { type Address, encodeFunctionData, type Hex, zeroAddress } from "viem";
import type { OperationSteps } from "./schema";

const MANAGEMENT = 1n;
const ECDSA = 1n;

export type RecoveryStep =
  | { action: "unregister_new_wallet"; registry: string }
  | { action: "add_key"; identity: string }
  | { action: "recovery_address" }
  | { action: "remove_key"; identity: string }
  | { action: "freeze_new_wallet" }
  | { action: "forced_transfer"; amount: string; frozenAmount: string; lostWalletFrozen: boolean }
  | { action: "freeze_partial"; amount: string }
  | { action: "unfreeze_new_wallet" };

/** What the plan reads from the chain (addresses lowercase; zero address when not registered). */
export interface RecoveryFacts {
  /** The investor's ONCHAINID, fixed when the recovery was requested. */
  identity: string;
  /** The token's identity registry. */
  registry: string;
  lostBalance: bigint;
  lostFrozenAmount: bigint;
  lostFrozen: boolean;
  newBalance: bigint;
  newFrozen: boolean;
  /** The identity each wallet is registered with in the token's registry. */
  lostIdentity: string;
  newIdentity: string;
  /** The new wallet is a management key of the investor's identity. */
  keyPresent: boolean;
  /** Kit's agent is a management key of the investor's identity (it can add and remove keys). */
  agentManages: boolean;
  /** The investor's country in the registry (ISO 3166-1 numeric; 0 when neither wallet is registered). */
  country: number;
}

type Failure = NonNullable<OperationSteps["failure"]>;
export type RecoveryPlan =
  | { send: RecoveryStep; failure: Failure | null }
  | { end: "recovered" }
  | { end: "failed"; failure: Failure };

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function nextRecoveryStep(f: RecoveryFacts, progress: Pick<OperationSteps, "done" | "failure">): RecoveryPlan {
  const done = progress.done.map((d) => d.step as RecoveryStep);
  const did = (action: RecoveryStep["action"]) => done.some((step) => step.action === action);
  const transfer = done.find((step) => step.action === "forced_transfer");
  const moved = did("recovery_address") || transfer !== undefined;
  const removeKey =
    did("add_key") && f.keyPresent ? ({ action: "remove_key", identity: f.identity } as const) : undefined;
  const failure = progress.failure;
  const send = (step: RecoveryStep): RecoveryPlan => ({ send: step, failure });
  const fail = (code: string, message: string) => nextRecoveryStep(f, { ...progress, failure: { code, message } });

  if (failure) {
    if (failure.cleanupFailed) return { end: "failed", failure };
    // What Kit added only for the move comes off; a new wallet frozen before a move that happened
    // stays frozen (it may now hold what was frozen on the lost one).
    if (!moved && did("freeze_new_wallet") && f.newFrozen) return send({ action: "unfreeze_new_wallet" });
    if (removeKey) return send(removeKey);
    return { end: "failed", failure };
  }
  if (!moved) {
    if (f.lostBalance === 0n) return fail("nothing_to_recover", "the lost wallet holds none of this token any more");
    if (same(f.lostIdentity, f.identity)) {
      if (!same(f.newIdentity, zeroAddress)) {
        return send({ action: "unregister_new_wallet", registry: f.registry });
      }
      if (!f.keyPresent) {
        if (!f.agentManages) {
          return fail(
            "identity_not_managed",
            "Kit's agent is not a management key of the investor's identity, so it cannot add the new wallet's key that recoveryAddress requires",
          );
        }
        return send({ action: "add_key", identity: f.identity });
      }
      return send({ action: "recovery_address" });
    }
    if (same(f.newIdentity, f.identity)) {
      const anythingFrozen = f.lostFrozenAmount > 0n || f.lostFrozen;
      if (anythingFrozen && !f.newFrozen && !did("freeze_new_wallet")) return send({ action: "freeze_new_wallet" });
      return send({
        action: "forced_transfer",
        amount: f.lostBalance.toString(),
        frozenAmount: f.lostFrozenAmount.toString(),
        lostWalletFrozen: f.lostFrozen,
      });
    }
    return fail(
      "registration_changed",
      "neither wallet is registered with the investor's identity in the token's identity registry any more",
    );
  }
  if (transfer && BigInt(transfer.frozenAmount) > 0n && !did("freeze_partial")) {
    return send({ action: "freeze_partial", amount: transfer.frozenAmount });
  }
  const lostWasFrozen = transfer ? transfer.lostWalletFrozen : f.lostFrozen;
  if (did("freeze_new_wallet") && !lostWasFrozen && f.newFrozen) return send({ action: "unfreeze_new_wallet" });
  if (removeKey) return send(removeKey);
  return { end: "recovered" };
}

/**
 * Whether the recovery is to move the registration (recoveryAddress: the lost wallet is still
 * registered with the investor's identity): eligibility must hold both wallets from its first step.
 */
export function movesRegistration(f: RecoveryFacts): boolean {
  return same(f.lostIdentity, f.identity);
}

export interface RecoverParameters {
  lostWallet: string;
  newWallet: string;
  /** The investor's ONCHAINID, read from the registry when requested. */
  investorOnchainId: string;
  /** The Kit user both wallets are linked to. */
  userId: string;
  reason?: string;
}

/** A step's call (calls.ts's OperationCall): on the token, its identity registry or the investor's identity. */
export function recoveryCall(
  token: string,
  p: RecoverParameters,
  step: RecoveryStep,
): { to: Address; data: Hex; functionName: string } {
  const lost = p.lostWallet as Address;
  const fresh = p.newWallet as Address;
  const on = (to: string, abi: readonly unknown[], functionName: string, args: readonly unknown[]) => ({
    to: to as Address,
    functionName,
    data: encodeFunctionData({ abi, functionName, args } as never),
  });
  switch (step.action) {
    case "unregister_new_wallet":
      return on(step.registry, identityRegistryAbi, "deleteIdentity", [fresh]);
    case "add_key":
      return on(step.identity, identityAbi, "addKey", [keyOf(fresh), MANAGEMENT, ECDSA]);
    case "remove_key":
      return on(step.identity, identityAbi, "removeKey", [keyOf(fresh), MANAGEMENT]);
    case "recovery_address":
      return on(token, tokenAbi, "recoveryAddress", [lost, fresh, p.investorOnchainId as Address]);
    case "freeze_new_wallet":
      return on(token, tokenAbi, "setAddressFrozen", [fresh, true]);
    case "unfreeze_new_wallet":
      return on(token, tokenAbi, "setAddressFrozen", [fresh, false]);
    case "forced_transfer":
      return on(token, tokenAbi, "forcedTransfer", [lost, fresh, BigInt(step.amount)]);
    case "freeze_partial":
      return on(token, tokenAbi, "freezePartialTokens", [fresh, BigInt(step.amount)]);
  }
}

/** A step in words, for the operation's history. */
export function describeStep(step: RecoveryStep): string {
  switch (step.action) {
    case "unregister_new_wallet":
      return "took the new wallet's own registration out of the identity registry";
    case "add_key":
      return "added the new wallet as a management key of the investor's identity";
    case "remove_key":
      return "removed the new wallet's management key from the investor's identity again";
    case "recovery_address":
      return "recoveryAddress moved the balance, frozen amount and registration to the new wallet";
    case "freeze_new_wallet":
      return "froze the new wallet while the holdings move";
    case "unfreeze_new_wallet":
      return "unfroze the new wallet";
    case "forced_transfer":
      return "moved the lost wallet's balance to the new wallet (forcedTransfer)";
    case "freeze_partial":
      return "froze on the new wallet the amount that was frozen on the lost one";
  }
}
