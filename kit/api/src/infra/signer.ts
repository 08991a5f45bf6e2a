// How Kit signs on chain. Everything that needs a signature goes through `ChainSigner`, so a remote
// signer or a KMS can replace the local keys by implementing these three members; nothing else
// changes. A signer exposes its address only: the key never leaves the closure (it cannot reach a
// log line, a response or an error message).
import type { ChainClients } from "@kit/contracts";
import type { Address, Hash, Hex, LocalAccount, TransactionSerializableEIP1559 } from "viem";

export interface ChainSigner {
  readonly address: Address;
  /** EIP-191 signature over raw bytes (how ONCHAINID's ClaimIssuer checks a claim). */
  signMessage(message: { raw: Hex }): Promise<Hex>;
  /** Signs and broadcasts a call; resolves with its hash once the node accepted it (not mined). */
  sendTransaction(request: { to: Address; data: Hex }): Promise<Hash>;
  /**
   * Signs a complete transaction (nonce, gas and fees given) without sending it: the operations
   * outbox stores the signed bytes before it broadcasts them (domains/operations/sender.ts).
   */
  signTransaction(transaction: TransactionSerializableEIP1559 & { chainId: number }): Promise<Hex>;
}

/**
 * A signer holding its key in this process (CHAIN_AGENT_PRIVATE_KEY, CLAIM_SIGNER_PRIVATE_KEY).
 * Sends are serialised: each takes the next nonce only after the previous one reached the node, so
 * concurrent jobs of one process never race for a nonce (another process's race fails the send,
 * and the job retries).
 */
export function localSigner(account: LocalAccount, clients: ChainClients): ChainSigner {
  const wallet = clients.wallet(account);
  let previous: Promise<unknown> = Promise.resolve();
  return {
    address: account.address,
    signMessage: ({ raw }) => account.signMessage({ message: { raw } }),
    signTransaction: (transaction) => account.signTransaction(transaction),
    sendTransaction(request) {
      const sent = previous.then(() => wallet.sendTransaction({ to: request.to, data: request.data }));
      previous = sent.catch(() => {});
      return sent;
    },
  };
}
