// Whether a wallet signed a message. An ordinary account (EOA) is checked offline, so wallet sign-in
// does not depend on the chain node; a smart-contract wallet (ERC-1271, or ERC-6492 before it is
// deployed) can only answer on chain, so Kit asks it through its node.
import {
  BaseError,
  HttpRequestError,
  isErc6492Signature,
  TimeoutError,
  verifyMessage,
  WebSocketRequestError,
} from "viem";
import type { Chain } from "../../infra/chain";

export type WalletSignatureCheck = "valid" | "invalid" | "chain-unavailable";

export async function checkWalletSignature(
  chain: Chain | null,
  input: { address: `0x${string}`; message: string; signature: `0x${string}` },
): Promise<WalletSignatureCheck> {
  if (await verifyMessage(input).catch(() => false)) return "valid";
  if (!chain) return "chain-unavailable";
  try {
    // No code and no counterfactual (ERC-6492) signature: an EOA whose signature did not match.
    // Asked first because viem's own check reads an unreachable node as a refusal.
    const code = await chain.getCode({ address: input.address });
    if (!code && !isErc6492Signature(input.signature)) return "invalid";
    return (await chain.verifyMessage(input)) ? "valid" : "invalid";
  } catch (error) {
    return nodeUnreachable(error) ? "chain-unavailable" : "invalid";
  }
}

function nodeUnreachable(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  return Boolean(
    error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError || e instanceof WebSocketRequestError),
  );
}
