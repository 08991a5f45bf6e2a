// Each operation kind as the one call on its token that carries it out.
import { tokenAbi } from "@kit/contracts";
import { type Address, encodeFunctionData, type Hex } from "viem";
import type { OperationKind } from "./contract-values";

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
  recover: { lostWallet: string; newWallet: string; investorOnchainId: string };
}

export interface OperationCall {
  to: Address;
  data: Hex;
  functionName: string;
}

const addr = (value: unknown) => value as Address;
const big = (value: unknown) => BigInt(value as string);

/** The token call for `kind`; a mint to one recipient is `mint`, to several one `batchMint`. */
export function callOf(kind: OperationKind, token: string, parameters: Record<string, unknown>): OperationCall {
  const p = parameters as Record<string, unknown>;
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
    case "recover":
      return encode("recoveryAddress", [addr(p.lostWallet), addr(p.newWallet), addr(p.investorOnchainId)]);
  }
}
