// tokens.transferCheck: would a holder's `transfer(to, amount)` go through now, and if not, why, in
// words. The verdict is the chain's own rule (T-REX Token.transfer: not paused; neither wallet
// frozen; the amount within the balance less its frozen part; the receiver verified in the identity
// registry; the compliance's canTransfer), read at one block; every failing condition is named, not
// only the first. Kit's records only explain: a receiver the registry does not verify is told apart
// by its KYC (none, in review, expired on a date, revoked…) or its on-chain registration in progress.
//
// Personal data: what the chain shows (frozen, paused, balances, verified) is public and told to
// anyone. Kit's records of a party are told only to that party (one of their linked wallets), to
// the token's issuers (a grant on it) and to KYC reviewers; anyone else learns that the receiver is
// not eligible to hold the token, nothing about why.
import { identityRegistryAbi, modularComplianceAbi, tokenAbi } from "@kit/contracts";
import { type Address, BaseError, parseAbi } from "viem";
import type { DomainQueries } from "../../deps";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import type { Database } from "../../infra/db";
import { callerMay } from "../../rpc/access";
import type { SignedInCaller } from "../../rpc/context";
import { listWalletAddresses, walletOwners } from "../auth/wallets";
import { fromSmallestUnit, toSmallestUnit } from "./amounts";
import { hasGrant } from "./grants";
import { decodeRevert } from "./reverts";

export interface TransferCheckDeps {
  db: Database;
  chain: Chain;
  config: { chain: { id: number } };
  queries: Pick<DomainQueries, "kycStanding" | "walletRegistration">;
}

type Party = "sender" | "receiver" | "token";
interface TransferReason {
  code: string;
  message: string;
  party: Party;
}

export interface Viewer {
  /** The caller's linked wallets, lowercase: what Kit knows of those parties is theirs to see. */
  wallets: string[];
  /** The token's issuers and KYC reviewers see what Kit knows of either party. */
  privileged: boolean;
}

/** Who is asking, as far as what they may be told goes. */
export async function viewerOf(deps: TransferCheckDeps, caller: SignedInCaller, token: string): Promise<Viewer> {
  const [wallets, granted] = await Promise.all([
    listWalletAddresses(deps, caller.user.id),
    hasGrant(deps, token, caller.user.id),
  ]);
  const issuer = granted && callerMay(caller, { tokens: ["operate"] }, { tokens: ["operate"] });
  const reviewer = callerMay(caller, { kyc: ["review"] }, { kyc: ["review"] });
  return { wallets: wallets.map((w) => w.toLowerCase()), privileged: issuer || reviewer };
}

const moduleAbi = parseAbi([
  "function moduleCheck(address from, address to, uint256 value, address compliance) view returns (bool)",
  "function name() view returns (string)",
]);

interface TransferFacts {
  block: bigint;
  paused: boolean;
  senderFrozen: boolean;
  receiverFrozen: boolean;
  balance: bigint;
  frozenAmount: bigint;
  senderVerified: boolean;
  receiverVerified: boolean;
  /** Null when the compliance allows it; otherwise the names of the modules that refuse (maybe none known). */
  complianceRefusal: string[] | null;
}

/** Every read at one block, in two parallel rounds (three when the compliance refuses: which module). */
async function readTransferFacts(chain: Chain, token: Address, from: Address, to: Address, value: bigint) {
  const block = await chain.getBlockNumber({ cacheTime: 0 });
  const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
    chain.readContract({ address, abi, functionName, args, blockNumber: block } as never) as Promise<T>;
  const [paused, senderFrozen, receiverFrozen, balance, frozenAmount, registry, compliance] = await Promise.all([
    read<boolean>(token, tokenAbi, "paused"),
    read<boolean>(token, tokenAbi, "isFrozen", [from]),
    read<boolean>(token, tokenAbi, "isFrozen", [to]),
    read<bigint>(token, tokenAbi, "balanceOf", [from]),
    read<bigint>(token, tokenAbi, "getFrozenTokens", [from]),
    read<Address>(token, tokenAbi, "identityRegistry"),
    read<Address>(token, tokenAbi, "compliance"),
  ]);
  const canTransfer = read<boolean>(compliance, modularComplianceAbi, "canTransfer", [from, to, value]).catch(
    (error) => {
      // A module that reverts refuses the transfer as surely as one that answers false.
      if (decodeRevert(error)) return false;
      throw error;
    },
  );
  const [senderVerified, receiverVerified, allowed] = await Promise.all([
    read<boolean>(registry, identityRegistryAbi, "isVerified", [from]),
    read<boolean>(registry, identityRegistryAbi, "isVerified", [to]),
    canTransfer,
  ]);
  let complianceRefusal: string[] | null = null;
  if (!allowed) {
    const modules = await read<Address[]>(compliance, modularComplianceAbi, "getModules");
    const verdicts = await Promise.all(
      modules.map(async (module) => {
        const passes = await read<boolean>(module, moduleAbi, "moduleCheck", [from, to, value, compliance]).catch(
          () => false,
        );
        return passes ? null : await read<string>(module, moduleAbi, "name").catch(() => module);
      }),
    );
    complianceRefusal = verdicts.filter((name): name is string => name !== null);
  }
  return {
    block,
    paused,
    senderFrozen,
    receiverFrozen,
    balance,
    frozenAmount,
    senderVerified,
    receiverVerified,
    complianceRefusal,
  } satisfies TransferFacts;
}

export async function checkTransfer(
  deps: TransferCheckDeps,
  token: { address: string; chainId: number; decimals: number; kind: string },
  viewer: Viewer,
  input: { from: string; to: string; amount: string },
) {
  if (token.kind !== "t-rex") {
    throw new KitError(
      "PRECONDITION_FAILED",
      `${token.address} is a plain ERC-20; transfer checks are for ERC-3643 (T-REX) tokens.`,
    );
  }
  const value = toSmallestUnit(input.amount, token.decimals, "amount");
  const to = input.to.toLowerCase() as Address;
  let facts: TransferFacts;
  try {
    facts = await readTransferFacts(
      deps.chain,
      token.address as Address,
      input.from.toLowerCase() as Address,
      to,
      value,
    );
  } catch (error) {
    if (error instanceof BaseError) {
      throw new KitError("SERVICE_UNAVAILABLE", "The chain node could not be read; retry shortly.");
    }
    throw error;
  }
  const units = (raw: bigint) => fromSmallestUnit(raw, token.decimals);
  const reasons = holdingReasons(facts, value, units);
  const warnings: TransferReason[] = [];
  const seesReceiver = viewer.privileged || viewer.wallets.includes(to);
  if (!facts.receiverVerified) {
    const why = seesReceiver
      ? await receiverNotVerified(deps, token.chainId, to)
      : { code: "receiver_not_eligible", message: "the receiver is not eligible to hold this token" };
    reasons.push({ party: "receiver", ...why });
  } else if (seesReceiver) {
    const ending = await receiverApprovalEnded(deps, to);
    if (ending) warnings.push({ party: "receiver", ...ending });
  }
  if (facts.complianceRefusal) {
    const modules = facts.complianceRefusal.length > 0 ? ` (${facts.complianceRefusal.join(", ")})` : "";
    reasons.push({
      party: "token",
      code: "compliance_refused",
      message: `the token's compliance rules refuse this transfer${modules}`,
    });
  }
  if (!facts.senderVerified) {
    warnings.push({
      party: "sender",
      code: "sender_not_verified",
      message:
        "the sender's wallet is not verified in the token's identity registry: ERC-3643 lets it send what it holds, but it could not receive",
    });
  }
  return {
    allowed: reasons.length === 0,
    reasons,
    warnings,
    amount: { raw: value.toString(), formatted: units(value) },
    blockNumber: facts.block.toString(),
  };
}

/** Paused, frozen wallets, the balance less its frozen part: the chain's facts, public to anyone. */
function holdingReasons(facts: TransferFacts, value: bigint, units: (raw: bigint) => string): TransferReason[] {
  const reasons: TransferReason[] = [];
  const reason = (party: Party, code: string, message: string) => reasons.push({ code, message, party });
  if (facts.paused) {
    reason("token", "token_paused", "the token is paused: no holder can transfer it until it is unpaused");
  }
  if (facts.senderFrozen) reason("sender", "sender_frozen", "the sender's wallet is frozen on this token");
  if (facts.receiverFrozen) reason("receiver", "receiver_frozen", "the receiver's wallet is frozen on this token");
  const free = facts.balance - facts.frozenAmount;
  if (value > facts.balance) {
    reason(
      "sender",
      "insufficient_balance",
      `the sender holds ${units(facts.balance)}, less than the ${units(value)} to send`,
    );
  } else if (value > free) {
    reason(
      "sender",
      "tokens_frozen",
      `${units(facts.frozenAmount)} of the sender's ${units(facts.balance)} are frozen: at most ${units(free)} can be sent`,
    );
  }
  return reasons;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/** Why the registry does not verify the receiver, from Kit's records (for those who may know). */
async function receiverNotVerified(
  deps: TransferCheckDeps,
  chainId: number,
  to: string,
): Promise<{ code: string; message: string }> {
  const owner = (await walletOwners(deps, [to])).get(to);
  if (!owner) {
    return {
      code: "receiver_unknown",
      message:
        "the receiver's wallet is not linked to any Kit account: its owner must link it and pass KYC before it can hold this token",
    };
  }
  const [kyc, registration] = await Promise.all([
    deps.queries.kycStanding(deps, owner),
    deps.queries.walletRegistration(deps, chainId, to),
  ]);
  if (!kyc.approved) return kycNotApproved(kyc);
  switch (registration?.status) {
    case undefined:
    case "pending":
      return {
        code: "receiver_registration_pending",
        message:
          "the receiver's KYC is approved and Kit is registering their wallet on chain; try again in a few minutes",
      };
    case "failed":
      return {
        code: "receiver_registration_failed",
        message:
          "the receiver's KYC is approved, but registering their wallet on chain failed; Kit's operators can retry it",
      };
    case "recovering":
    case "recovered":
      return {
        code: "receiver_wallet_recovered",
        message: "the receiver's wallet was replaced by another of their wallets (a recovery): send to the new one",
      };
    default:
      return {
        code: "receiver_not_verified",
        message: "the receiver's wallet is not verified in the token's identity registry",
      };
  }
}

function kycNotApproved(kyc: Awaited<ReturnType<DomainQueries["kycStanding"]>>): { code: string; message: string } {
  switch (kyc.status) {
    case "none":
      return { code: "receiver_kyc_missing", message: "the receiver has not applied for KYC" };
    case "draft":
    case "changes_requested":
      return { code: "receiver_kyc_incomplete", message: "the receiver's KYC application is not complete yet" };
    case "submitted":
    case "in_review":
    case "approval_pending":
      return { code: "receiver_kyc_in_review", message: "the receiver's KYC application is being reviewed" };
    case "rejected":
      return { code: "receiver_kyc_rejected", message: "the receiver's KYC application was rejected" };
    case "revoked":
      return { code: "receiver_kyc_revoked", message: "the receiver's KYC approval was revoked" };
    default:
      return {
        code: "receiver_kyc_expired",
        message: kyc.expiresAt
          ? `the receiver's KYC approval expired on ${day(kyc.expiresAt)}`
          : "the receiver's KYC approval expired",
      };
  }
}

/**
 * The registry still verifies the receiver, but Kit's approval ended: Kit is about to withdraw the
 * claim (or failed to), and transfers to them will then fail.
 */
async function receiverApprovalEnded(deps: TransferCheckDeps, to: string) {
  const owner = (await walletOwners(deps, [to])).get(to);
  if (!owner) return undefined;
  const kyc = await deps.queries.kycStanding(deps, owner);
  if (kyc.approved || kyc.status === "none") return undefined;
  const ended = kycNotApproved(kyc);
  return {
    code: "receiver_kyc_ending",
    message: `${ended.message}; Kit is withdrawing their eligibility on chain, after which transfers to them fail`,
  };
}
