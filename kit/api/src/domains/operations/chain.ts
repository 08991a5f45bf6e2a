// The chain side of the outbox: a client for one RPC endpoint and Kit's chain agent behind
// ChainSigner (a KMS can replace the local key without touching the outbox).
import { type ChainClients, connect, isAnvil } from "@kit/contracts";
import type { Config } from "../../config";
import { chainAccounts } from "../../infra/chain-accounts";
import { type ChainSigner, localSigner } from "../../infra/signer";

export interface OperationsChain {
  client: ChainClients["publicClient"];
  chainId: number;
  /** Kit's chain agent: agent of every token Kit services; it signs every operation. */
  agent: ChainSigner;
  /** The signing key of Kit's trusted ClaimIssuer: it signs the KYC claims eligibility adds (no transaction). */
  claimSigner?: ChainSigner;
}

export async function connectOperationsChain(config: Pick<Config, "chain" | "auth">): Promise<OperationsChain> {
  const rpcUrl = config.chain.rpcUrl;
  if (!rpcUrl) throw new Error("RPC_URL is not set");
  const clients = await connect(rpcUrl);
  // Operations are recorded under CHAIN_ID (the tokens' chain): a node of another chain must not send them.
  if (clients.chain.id !== config.chain.id) {
    throw new Error(`the node serves chain ${clients.chain.id}, CHAIN_ID is ${config.chain.id}`);
  }
  const accounts = chainAccounts(config, await isAnvil(clients.publicClient));
  return {
    client: clients.publicClient,
    chainId: clients.chain.id,
    agent: localSigner(accounts.agent, clients),
    claimSigner: localSigner(accounts.claimSigner, clients),
  };
}
