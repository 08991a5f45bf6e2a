// Kit's own operations for on-chain eligibility (kyc asks for them: docs/onchain-eligibility.md),
// planned step by step like a recovery (steps.ts): each step is chosen from what the chain shows now
// and what was already confirmed — pure functions here, so a resumed or repeated plan never sends a
// step whose effect is on chain (never a second identity, never a duplicate claim).
//   identity_register: create the identity (if the wallet has none) → add Kit's claim (if missing or
//     invalid) → register the wallet in the identity registry (or fix its country) → isVerified.
//   identity_revoke: remove Kit's claim (if it is there); the identity stays.
//   a system freeze / unfreeze: setAddressFrozen, unless the wallet already is as wanted.
import {
  claimIdOf,
  claimIssuerAbi,
  identityAbi,
  identityRegistryAbi,
  idFactoryAbi,
  keyOf,
  tokenAbi,
} from "@kit/contracts";
import { type Address, encodeAbiParameters, encodeFunctionData, type Hex, keccak256, zeroAddress } from "viem";
import type { OperationSteps } from "./schema";

/** identity_register's parameters; the operation's `target` is the identity registry. */
export interface IdentityRegisterParameters {
  wallet: string;
  userId: string;
  applicationId: string;
  idFactory: string;
  claimIssuer: string;
  /** The KYC claim topic, as a decimal string. */
  topic: string;
  /** The claim's public data (different for each approval). */
  claimData: string;
  /** ISO 3166-1 numeric. */
  country: number;
}

/** identity_revoke's parameters; `identity` is the one Kit recorded (null: ask the IdFactory). */
export interface IdentityRevokeParameters {
  wallet: string;
  userId: string;
  identity: string | null;
  idFactory: string;
  claimIssuer: string;
  topic: string;
}

export type EligibilityStep =
  | { action: "create_identity"; manager: string }
  | { action: "add_claim"; identity: string; signature: string }
  | { action: "register_identity"; identity: string }
  | { action: "update_country" }
  | { action: "remove_claim"; identity: string }
  | { action: "set_frozen"; frozen: boolean };

/** What a plan reads from the chain (addresses lowercase; zero address when none). */
export interface EligibilityFacts {
  /** The wallet's identity: the registry's entry when registered, else the IdFactory's. */
  identity: string;
  registered: boolean;
  /** Kit's claim on the identity is there (register: and valid for this approval). */
  claimPresent: boolean;
  /** The wallet's country in the registry (0 when not registered). */
  country: number;
  verified: boolean;
  /** A freeze's token: the wallet is frozen on it. */
  frozen: boolean;
}

type Failure = NonNullable<OperationSteps["failure"]>;
type Progress = Pick<OperationSteps, "done" | "failure">;
/** `add_claim` is planned here without its signature: the planner signs it (system-steps.ts). */
type Planned = Exclude<EligibilityStep, { action: "add_claim" }> | { action: "add_claim"; identity: string };
export type EligibilityPlan = { send: Planned } | { end: "done" } | { end: "failed"; failure: Failure };

const did = (progress: Progress, action: EligibilityStep["action"]) =>
  progress.done.some((d) => d.step?.action === action);

/**
 * A step whose effect still is not on chain after it was confirmed is not sent again (that would
 * loop): the operation fails saying what is wrong.
 */
function once(progress: Progress, step: Planned, code: string, message: string): EligibilityPlan {
  return did(progress, step.action) ? { end: "failed", failure: { code, message } } : { send: step };
}

export function nextRegisterStep(
  f: EligibilityFacts,
  p: Pick<IdentityRegisterParameters, "country">,
  progress: Progress,
  agent: string,
): EligibilityPlan {
  if (progress.failure) return { end: "failed", failure: progress.failure };
  if (f.identity === zeroAddress) {
    const create = { action: "create_identity", manager: agent.toLowerCase() } as const;
    return once(progress, create, "no_identity", "the IdFactory created no identity for the wallet");
  }
  if (!f.claimPresent) {
    const claim = { action: "add_claim", identity: f.identity } as const;
    return once(
      progress,
      claim,
      "claim_invalid",
      "Kit's claim was added but is not valid: the claim signer must be a CLAIM key of Kit's ClaimIssuer",
    );
  }
  if (!f.registered) return { send: { action: "register_identity", identity: f.identity } };
  if (f.country !== p.country) {
    return once(progress, { action: "update_country" }, "country_unchanged", "the registry kept its country");
  }
  if (!f.verified) {
    return {
      end: "failed",
      failure: {
        code: "not_verified",
        message:
          "registered with Kit's claim, yet isVerified is false: check the token's claim topics and trusted issuers",
      },
    };
  }
  return { end: "done" };
}

export function nextRevokeStep(f: EligibilityFacts, progress: Progress): EligibilityPlan {
  if (progress.failure) return { end: "failed", failure: progress.failure };
  if (f.identity !== zeroAddress && f.claimPresent) {
    const remove = { action: "remove_claim", identity: f.identity } as const;
    return once(progress, remove, "claim_kept", "Kit's claim is still on the identity after its removal");
  }
  return { end: "done" };
}

export function nextFreezeStep(f: EligibilityFacts, frozen: boolean, progress: Progress): EligibilityPlan {
  if (progress.failure) return { end: "failed", failure: progress.failure };
  if (f.frozen === frozen) return { end: "done" };
  return once(progress, { action: "set_frozen", frozen }, "freeze_unchanged", "the token kept the wallet as it was");
}

type Read = <T>(address: string, abi: readonly unknown[], functionName: string, args?: unknown[]) => Promise<T>;

/** Identity, registration and Kit's claim of `wallet`, as identity_register and identity_revoke plan them. */
export async function readIdentityFacts(
  read: Read,
  registry: string,
  p: { wallet: string; idFactory: string; claimIssuer: string; topic: string; identity?: string | null },
  claimData?: string,
): Promise<EligibilityFacts> {
  const [registered, verified] = await Promise.all([
    read<boolean>(registry, identityRegistryAbi, "contains", [p.wallet]),
    read<boolean>(registry, identityRegistryAbi, "isVerified", [p.wallet]),
  ]);
  // A wallet already in the registry keeps its identity there (the claim goes where isVerified looks).
  const [identity, country] = registered
    ? await Promise.all([
        read<string>(registry, identityRegistryAbi, "identity", [p.wallet]),
        read<number>(registry, identityRegistryAbi, "investorCountry", [p.wallet]),
      ])
    : [p.identity ?? (await read<string>(p.idFactory, idFactoryAbi, "getIdentity", [p.wallet])), 0];
  const claimPresent =
    identity !== zeroAddress && (await hasKitClaim(read, identity, p.claimIssuer, BigInt(p.topic), claimData));
  return { identity: identity.toLowerCase(), registered, claimPresent, country, verified, frozen: false };
}

/** Kit's claim on the identity; with `data`, only when it carries that data and the issuer stands by it. */
async function hasKitClaim(read: Read, identity: string, issuer: string, topic: bigint, data?: string) {
  const [, , claimIssuer, signature, claimData] = await read<readonly [bigint, bigint, string, Hex, Hex, string]>(
    identity,
    identityAbi,
    "getClaim",
    [claimIdOf(issuer as Address, topic)],
  );
  if (claimIssuer.toLowerCase() !== issuer.toLowerCase()) return false;
  if (data === undefined) return true;
  if (claimData !== data) return false;
  return read<boolean>(issuer, claimIssuerAbi, "isClaimValid", [identity, topic, signature, claimData]);
}

/** ONCHAINID's claim digest, keccak256(abi.encode(identity, topic, data)): the claim signer signs it (EIP-191). */
export function claimDigest(identity: string, topic: string, data: string): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "address" }, { type: "uint256" }, { type: "bytes" }],
      [identity as Address, BigInt(topic), data as Hex],
    ),
  );
}

/** A step's call: on the IdFactory, the wallet's identity, the identity registry or the token. */
export function eligibilityCall(
  operation: { kind: string; token: string | null; target: string | null; parameters: Record<string, unknown> },
  step: EligibilityStep,
): { to: Address; data: Hex; functionName: string } {
  const p = operation.parameters as unknown as IdentityRegisterParameters;
  const wallet = p.wallet as Address;
  const on = (to: string, abi: readonly unknown[], functionName: string, args: readonly unknown[]) => ({
    to: to as Address,
    functionName,
    data: encodeFunctionData({ abi, functionName, args } as never),
  });
  const registry = operation.target as string;
  switch (step.action) {
    case "create_identity":
      // The agent, not the wallet, manages the identity: Kit adds and removes its claims unaided.
      return on(p.idFactory, idFactoryAbi, "createIdentityWithManagementKeys", [
        wallet,
        p.wallet,
        [keyOf(step.manager as Address)],
      ]);
    case "add_claim":
      return on(step.identity, identityAbi, "addClaim", [
        BigInt(p.topic),
        1n,
        p.claimIssuer,
        step.signature,
        p.claimData,
        "",
      ]);
    case "register_identity":
      return on(registry, identityRegistryAbi, "registerIdentity", [wallet, step.identity, p.country]);
    case "update_country":
      return on(registry, identityRegistryAbi, "updateCountry", [wallet, p.country]);
    case "remove_claim":
      return on(step.identity, identityAbi, "removeClaim", [claimIdOf(p.claimIssuer as Address, BigInt(p.topic))]);
    case "set_frozen":
      return on(operation.token as string, tokenAbi, "setAddressFrozen", [wallet, step.frozen]);
  }
}

/** A step in words, for the operation's history. */
export function describeEligibilityStep(step: EligibilityStep): string {
  switch (step.action) {
    case "create_identity":
      return "created the wallet's identity (ONCHAINID) through the IdFactory";
    case "add_claim":
      return "added Kit's KYC claim to the identity";
    case "register_identity":
      return "registered the wallet with its identity in the identity registry";
    case "update_country":
      return "updated the wallet's country in the identity registry";
    case "remove_claim":
      return "removed Kit's KYC claim from the identity";
    case "set_frozen":
      return step.frozen ? "froze the wallet on the token" : "unfroze the wallet on the token";
  }
}
