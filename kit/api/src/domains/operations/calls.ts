// Each operation kind as the call that carries it out (a recovery: its current step's).
import { creationCall, tokenAbi } from "@kit/contracts";
import { type Address, encodeFunctionData, type Hex } from "viem";
import { type CreateParameters, creationStepOf, specOf, suiteOf } from "./create-parameters";
import { type EligibilityStep, eligibilityCall } from "./eligibility-steps";
import { type RecoverParameters, type RecoveryStep, recoveryCall } from "./recovery-steps";
import type { OperationRow } from "./store";

/** Parameters as stored: addresses lowercase, amounts integer strings in the token's smallest unit. */
export interface OperationParameters {
  mint: { recipients: { to: string; amount: string }[] };
  burn: { from: string; amount: string };
  pause: Record<string, never>;
  unpause: Record<string, never>;
  freeze: { wallet: string };
  unfreeze: { wallet: string };
  freeze_partial: { wallet: string; amount: string };
  unfreeze_partial: { wallet: string; amount: string };
  forced_transfer: { from: string; to: string; amount: string };
  recover: RecoverParameters;
  create: CreateParameters;
}

export interface OperationCall {
  to: Address;
  data: Hex;
  functionName: string;
}

const addr = (value: unknown) => value as Address;
const big = (value: unknown) => BigInt(value as string);

/**
 * The call the operation's (next) transaction makes: for most kinds one call on the token (a mint to
 * one recipient is `mint`, to several one `batchMint`); for a recovery its current step's call.
 */
export function callOf(
  operation: Pick<OperationRow, "kind" | "token" | "target" | "parameters" | "steps">,
): OperationCall {
  const { kind } = operation;
  const token = operation.token as string;
  const p = operation.parameters;
  const encode = (functionName: string, args: readonly unknown[]): OperationCall => ({
    to: token as Address,
    functionName,
    data: encodeFunctionData({ abi: tokenAbi, functionName, args } as never),
  });
  switch (kind) {
    case "mint": {
      const recipients = (p as OperationParameters["mint"]).recipients;
      const [only] = recipients;
      if (recipients.length === 1 && only) return encode("mint", [addr(only.to), big(only.amount)]);
      return encode("batchMint", [recipients.map((r) => addr(r.to)), recipients.map((r) => big(r.amount))]);
    }
    case "burn":
      return encode("burn", [addr(p.from), big(p.amount)]);
    case "pause":
      return encode("pause", []);
    case "unpause":
      return encode("unpause", []);
    case "freeze":
      return encode("setAddressFrozen", [addr(p.wallet), true]);
    case "unfreeze":
      return encode("setAddressFrozen", [addr(p.wallet), false]);
    case "freeze_partial":
      return encode("freezePartialTokens", [addr(p.wallet), big(p.amount)]);
    case "unfreeze_partial":
      return encode("unfreezePartialTokens", [addr(p.wallet), big(p.amount)]);
    case "forced_transfer":
      return encode("forcedTransfer", [addr(p.from), addr(p.to), big(p.amount)]);
    case "recover": {
      const step = operation.steps?.current;
      if (!step) throw new Error(`recovery ${token} has no step planned`);
      return recoveryCall(token, p as unknown as RecoverParameters, step as RecoveryStep);
    }
    case "create": {
      const step = operation.steps?.current;
      if (!step) throw new Error(`creation of ${token} has no step planned`);
      const created = p as unknown as CreateParameters;
      return creationCall(suiteOf(created), specOf(created), creationStepOf(step));
    }
    case "identity_register":
    case "identity_revoke": {
      const step = operation.steps?.current;
      if (!step) throw new Error(`${kind} of ${String(p.wallet)} has no step planned`);
      return eligibilityCall(operation, step as EligibilityStep);
    }
  }
}
