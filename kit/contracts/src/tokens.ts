// Token operations the demo, the tests and the benches share. Only agents mint; holders transfer.
import type { Account, Address, TransactionReceipt } from "viem";
import { tokenAbi } from "./abis";
import { type ChainClients, send } from "./clients";

export function mint(clients: ChainClients, agent: Account, token: Address, to: Address, amount: bigint) {
  return send(clients, agent, { address: token, abi: tokenAbi, functionName: "mint", args: [to, amount] });
}

export function transfer(clients: ChainClients, from: Account, token: Address, to: Address, amount: bigint) {
  return send(clients, from, { address: token, abi: tokenAbi, functionName: "transfer", args: [to, amount] });
}

/** One transaction, one Transfer event per recipient (every recipient must be verified). */
export function batchMint(
  clients: ChainClients,
  agent: Account,
  token: Address,
  recipients: readonly Address[],
  amounts: readonly bigint[],
): Promise<TransactionReceipt> {
  return send(clients, agent, {
    address: token,
    abi: tokenAbi,
    functionName: "batchMint",
    args: [recipients, amounts],
  });
}

export function batchTransfer(
  clients: ChainClients,
  from: Account,
  token: Address,
  recipients: readonly Address[],
  amounts: readonly bigint[],
): Promise<TransactionReceipt> {
  return send(clients, from, {
    address: token,
    abi: tokenAbi,
    functionName: "batchTransfer",
    args: [recipients, amounts],
  });
}

export function unpause(clients: ChainClients, agent: Account, token: Address) {
  return send(clients, agent, { address: token, abi: tokenAbi, functionName: "unpause", args: [] });
}

export function pause(clients: ChainClients, agent: Account, token: Address) {
  return send(clients, agent, { address: token, abi: tokenAbi, functionName: "pause", args: [] });
}
