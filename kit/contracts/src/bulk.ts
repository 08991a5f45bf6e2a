// Many Transfer events fast, for benches and indexer tests: batchMint / batchTransfer with many
// recipients per transaction, sent with explicit nonces while anvil's automine is off, then mined
// with evm_mine so that each block packs many transactions. (anvil's automine stalls after a few
// thousand fast transactions; mining on demand does not.) anvil only; it raises the block gas limit.
import { type Address, encodeFunctionData, type Hex, type LocalAccount } from "viem";
import { tokenAbi } from "./abis";
import type { ChainClients } from "./clients";

export interface BulkResult {
  transactions: number;
  /** Transfer events emitted (one per recipient entry). */
  events: number;
  fromBlock: bigint;
  toBlock: bigint;
  ms: number;
}

export interface BulkOptions {
  token: Address;
  /** Verified wallets, used round-robin. */
  recipients: readonly Address[];
  /** Transfer events wanted in total. */
  events: number;
  /** Recipient entries per transaction (default 100). */
  perTransaction?: number;
  /** Amount per entry in base units (default 1). */
  amount?: bigint;
  /** Transactions mined per block (default 20). */
  transactionsPerBlock?: number;
}

/** `batchMint` by an agent: Transfer events from the zero address. */
export function bulkMint(clients: ChainClients, agent: LocalAccount, o: BulkOptions): Promise<BulkResult> {
  return bulkBatch(clients, agent, "batchMint", o);
}

/** `batchTransfer` by a holder: needs `events × amount` tokens, and every recipient verified. */
export function bulkTransfer(clients: ChainClients, holder: LocalAccount, o: BulkOptions): Promise<BulkResult> {
  return bulkBatch(clients, holder, "batchTransfer", o);
}

async function bulkBatch(
  clients: ChainClients,
  account: LocalAccount,
  functionName: "batchMint" | "batchTransfer",
  o: BulkOptions,
): Promise<BulkResult> {
  const started = performance.now();
  const perTransaction = o.perTransaction ?? 100;
  const amount = o.amount ?? 1n;
  if (o.recipients.length === 0) throw new Error("bulk: no recipients");
  const calls: Hex[] = [];
  let cursor = 0;
  for (let left = o.events; left > 0; left -= perTransaction) {
    const size = Math.min(left, perTransaction);
    const to: Address[] = [];
    for (let i = 0; i < size; i++) to.push(o.recipients[cursor++ % o.recipients.length] as Address);
    calls.push(encodeFunctionData({ abi: tokenAbi, functionName, args: [to, to.map(() => amount)] }));
  }
  // Gas from one real estimate of a full batch, with headroom: the estimate per call would cost a
  // round trip each, and a too-tight limit fails like a compliance revert.
  const gas = calls[0]
    ? ((await clients.publicClient.estimateGas({ account, to: o.token, data: calls[0] })) * 13n) / 10n
    : 0n;
  const result = await sendPacked(clients, account, o.token, calls, gas, o.transactionsPerBlock ?? 20);
  return { ...result, transactions: calls.length, events: o.events, ms: performance.now() - started };
}

/** Signs locally with consecutive nonces, submits with automine off, mines, checks every receipt. */
export async function sendPacked(
  clients: ChainClients,
  account: LocalAccount,
  to: Address,
  calls: readonly Hex[],
  gas: bigint,
  transactionsPerBlock: number,
): Promise<{ fromBlock: bigint; toBlock: bigint }> {
  const { publicClient, chain } = clients;
  const request = (method: string, params: unknown[] = []) => publicClient.request({ method, params } as never);
  const fromBlock = (await publicClient.getBlockNumber()) + 1n;
  let nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "pending" });
  const gasPrice = ((await publicClient.getGasPrice()) * 3n) / 2n;
  // Fewer, fuller blocks are faster (anvil's per-block work dominates), so lift the block gas limit
  // to fit `transactionsPerBlock`; it stays raised on this chain.
  const { gasLimit } = await publicClient.getBlock();
  const wanted = gas * BigInt(transactionsPerBlock);
  if (wanted > gasLimit) await request("evm_setBlockGasLimit", [`0x${wanted.toString(16)}`]);
  await request("evm_setAutomine", [false]);
  const hashes: Hex[] = [];
  try {
    for (let start = 0; start < calls.length; start += transactionsPerBlock) {
      const chunk = calls.slice(start, start + transactionsPerBlock);
      const signed = await Promise.all(
        chunk.map((data) =>
          account.signTransaction({ chainId: chain.id, to, data, gas, gasPrice, nonce: nonce++, type: "legacy" }),
        ),
      );
      for (const raw of signed) hashes.push((await request("eth_sendRawTransaction", [raw])) as Hex);
      await request("evm_mine");
    }
    // Whatever did not fit (a block gas limit) is still pending: mine until the pool is empty.
    for (let i = 0; i < 10_000; i++) {
      const status = (await request("txpool_status")) as { pending: Hex; queued: Hex };
      if (BigInt(status.pending) === 0n && BigInt(status.queued) === 0n) break;
      await request("evm_mine");
    }
  } finally {
    await request("evm_setAutomine", [true]);
  }
  const toBlock = await publicClient.getBlockNumber();
  for (let i = 0; i < hashes.length; i += 200) {
    const receipts = await Promise.all(
      hashes.slice(i, i + 200).map((hash) => publicClient.getTransactionReceipt({ hash: hash as Hex })),
    );
    const failed = receipts.find((r) => r.status !== "success");
    if (failed) throw new Error(`bulk: transaction ${failed.transactionHash} reverted (block ${failed.blockNumber})`);
  }
  return { fromBlock, toBlock };
}
