// A reverted call in words: T-REX's revert strings mapped to typed reasons a caller can act on.
import { BaseError, ContractFunctionRevertedError } from "viem";

const REVERT_REASONS = {
  "Identity is not verified.": "receiver_not_verified",
  "Compliance not followed": "compliance_refused",
  "Transfer not possible": "transfer_not_possible",
  "Pausable: paused": "token_paused",
  "Pausable: not paused": "token_not_paused",
  "cannot burn more than balance": "burn_exceeds_balance",
  "sender balance too low": "insufficient_balance",
  "Insufficient Balance": "insufficient_balance",
  "Amount exceeds available balance": "freeze_exceeds_balance",
  "Amount should be less than or equal to frozen tokens": "unfreeze_exceeds_frozen",
  "wallet is frozen": "wallet_frozen",
  "no tokens to recover": "nothing_to_recover",
  "Recovery not possible": "recovery_not_possible",
  // A recovery's other steps (ONCHAINID's Identity, the identity registry storage).
  "Permissions: Sender does not have management key": "identity_not_managed",
  "Conflict: Key already has purpose": "key_exists",
  "NonExisting: Key isn't registered": "key_missing",
  "address stored already": "wallet_already_registered",
  "address not stored yet": "wallet_not_registered",
  "AgentRole: caller does not have the Agent role": "not_agent",
  "Ownable: caller is not the owner": "not_owner",
  // A creation (TREXFactory.deployTREXSuite).
  "token already deployed": "isin_taken",
  "max 30 module actions at deployment": "too_many_modules",
} as const satisfies Record<string, string>;

type RevertCode = (typeof REVERT_REASONS)[keyof typeof REVERT_REASONS] | "reverted";

export interface DecodedRevert {
  code: RevertCode;
  /** The contract's own words (or what the node said when it gave none). */
  message: string;
}

/**
 * The revert inside a viem error, or undefined when the error is not a revert (a node outage, a
 * timeout): those are retried, a revert is final.
 */
export function decodeRevert(error: unknown): DecodedRevert | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    const reason = reverted.reason ?? reverted.data?.errorName ?? reverted.shortMessage;
    return { code: codeOf(reason), message: reason };
  }
  // Without an ABI (a raw eth_call or estimateGas) viem reports "execution reverted: <reason>".
  const text = error.walk((e) => /execution reverted/i.test((e as BaseError).details ?? (e as Error).message ?? ""));
  if (text) {
    const raw = (text as BaseError).details ?? (text as Error).message;
    const reason =
      raw
        .match(/execution reverted:?\s*(.*)$/i)?.[1]
        ?.trim()
        .replace(/^"|"$/g, "") || "reverted";
    return { code: codeOf(reason), message: reason };
  }
  return undefined;
}

function codeOf(reason: string): RevertCode {
  return (REVERT_REASONS as Record<string, RevertCode>)[reason] ?? "reverted";
}
