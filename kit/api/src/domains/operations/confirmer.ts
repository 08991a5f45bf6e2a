// The confirmer: settles submitted operations from their receipts once CHAIN_CONFIRMATIONS blocks
// carry them; replaces a transaction stuck for OPERATIONS_STUCK_BLOCKS (same nonce, higher fee);
// and puts a confirmed operation whose transaction a reorg dropped back to submitted, from where it
// is sent again only if its nonce is still free (sender.ts, resumeInFlight).
import { type Hex, keccak256, parseTransaction, type TransactionReceipt } from "viem";
import type { Config } from "../../config";
import { callOf } from "./calls";
import type { OperationsChain } from "./chain";
import { decodeRevert } from "./reverts";
import { BUSY, broadcast, minedHash, requeue, type SenderDeps, withSignerLock } from "./sender";
import { isMultiStep, stepMined, stepReverted } from "./steps";
import { inFlightOperations, type OperationRow, recentlyConfirmed, submittedOperations, transition } from "./store";

export interface ConfirmerDeps extends SenderDeps {
  config: { operations: Config["operations"] };
}

/** Blocks a confirmed operation is re-checked for a reorg. */
const REORG_WINDOW = 64;

export interface ConfirmSummary {
  /** Still submitted after this pass (not yet mined or not yet deep enough). */
  waiting: string[];
  confirmed: number;
  failed: number;
  requeued: number;
  replaced: number;
  reorged: number;
  /** Steps of multi-step operations confirmed: those operations are pending again, for their next step. */
  advanced: number;
}

/**
 * Settles submitted operations: all of the signer's (the sweep, which also looks for reorgs), or
 * only `ids` (what one send job just broadcast: its cost stays with its own operations).
 */
export async function confirmSubmitted(
  deps: ConfirmerDeps,
  chain: OperationsChain,
  options: { ids?: string[] } = {},
): Promise<ConfirmSummary> {
  const summary: ConfirmSummary = {
    waiting: [],
    confirmed: 0,
    failed: 0,
    requeued: 0,
    replaced: 0,
    reorged: 0,
    advanced: 0,
  };
  if (options.ids?.length === 0) return summary;
  const signer = chain.agent.address.toLowerCase();
  const head = Number(await chain.client.getBlockNumber());
  if (!options.ids) summary.reorged = await checkReorgs(deps, chain, head);
  const open = options.ids
    ? await submittedOperations(deps.db, options.ids)
    : await inFlightOperations(deps.db, chain.chainId, signer, ["submitted"]);
  if (open.length === 0) return summary;
  const minedNonces = await chain.client.getTransactionCount({ address: chain.agent.address, blockTag: "latest" });
  const stuck: OperationRow[] = [];
  // A few receipts at a time: one round trip per operation, not one after the other.
  for (let i = 0; i < open.length; i += 16) {
    const slice = open.slice(i, i + 16);
    const outcomes = await Promise.all(slice.map((op) => settle(deps, chain, op, { head, minedNonces })));
    for (const [j, outcome] of outcomes.entries()) {
      const operation = slice[j] as OperationRow;
      if (outcome === "stuck") stuck.push(operation);
      if (outcome === "stuck" || outcome === "waiting") summary.waiting.push(operation.id);
      else summary[outcome] += 1;
    }
  }
  if (stuck.length > 0) summary.replaced = await replaceStuck(deps, chain, stuck);
  return summary;
}

type Outcome = "confirmed" | "failed" | "advanced" | "requeued" | "stuck" | "waiting";

async function settle(
  deps: ConfirmerDeps,
  chain: OperationsChain,
  operation: OperationRow,
  at: { head: number; minedNonces: number },
): Promise<Outcome> {
  const receipt = await minedHash(chain, operation);
  if (receipt) {
    const depth = at.head - Number(receipt.blockNumber) + 1;
    if (depth < deps.config.operations.confirmations) return "waiting";
    return finish(deps, chain, operation, receipt);
  }
  if ((operation.nonce ?? 0) < at.minedNonces) {
    // Re-read: the receipt may have landed between the two reads.
    if (await minedHash(chain, operation)) return "waiting";
    await requeue(deps.db, operation, "its nonce was used by another transaction");
    return "requeued";
  }
  // Only the next nonce to be mined can be stuck: the ones behind it wait for it (and a node
  // that mines a burst of Kit's transactions one per block must not make the last ones look stuck).
  if (operation.nonce !== at.minedNonces) return "waiting";
  const sentAt = operation.sentAtBlock ?? at.head;
  return at.head - sentAt >= deps.config.operations.stuckBlocks ? "stuck" : "waiting";
}

async function finish(
  deps: ConfirmerDeps,
  chain: OperationsChain,
  operation: OperationRow,
  receipt: TransactionReceipt,
): Promise<Outcome> {
  if (isMultiStep(operation)) {
    const moved =
      receipt.status === "success"
        ? await stepMined(deps, operation, receipt)
        : await stepReverted(deps, operation, await minedRevert(chain, operation, receipt), "submitted");
    return moved ? "advanced" : "waiting";
  }
  const settled = await settleMined(deps, chain, operation, receipt);
  return settled ? (receipt.status === "success" ? "confirmed" : "failed") : "waiting";
}

async function settleMined(
  deps: ConfirmerDeps,
  chain: OperationsChain,
  operation: OperationRow,
  receipt: TransactionReceipt,
) {
  const mined = {
    txHash: receipt.transactionHash.toLowerCase(),
    blockNumber: Number(receipt.blockNumber),
    blockHash: receipt.blockHash.toLowerCase(),
  };
  if (receipt.status === "success") {
    return transition(deps.db, operation.id, {
      from: "submitted",
      to: "confirmed",
      set: { ...mined, confirmedAt: new Date() },
      whenTxHash: operation.txHash,
    });
  }
  const revert = await minedRevert(chain, operation, receipt);
  return transition(deps.db, operation.id, {
    from: "submitted",
    to: "failed",
    set: { ...mined, errorCode: revert.code, error: revert.message },
    reason: `the transaction reverted: ${revert.message}`,
    whenTxHash: operation.txHash,
  });
}

/** The reason a mined transaction reverted: its call replayed on the state before its block. */
async function minedRevert(chain: OperationsChain, operation: OperationRow, receipt: TransactionReceipt) {
  const call = callOf(operation);
  try {
    await chain.client.call({
      account: chain.agent.address,
      to: call.to,
      data: call.data,
      blockNumber: receipt.blockNumber - 1n,
    });
  } catch (error) {
    const revert = decodeRevert(error);
    if (revert) return revert;
  }
  return { code: "reverted" as const, message: "the transaction reverted on chain (out of gas, or the state changed)" };
}

/** Confirmed operations whose transaction is no longer in the chain go back to submitted. */
async function checkReorgs(deps: ConfirmerDeps, chain: OperationsChain, head: number): Promise<number> {
  const recent = await recentlyConfirmed(deps.db, chain.chainId, Math.max(0, head - REORG_WINDOW));
  let reorged = 0;
  for (const operation of recent) {
    const receipt = await minedHash(chain, operation);
    if (receipt && receipt.blockHash.toLowerCase() === operation.blockHash) continue;
    const moved = await transition(deps.db, operation.id, {
      from: "confirmed",
      to: "submitted",
      set: { blockNumber: null, blockHash: null, confirmedAt: null, sentAtBlock: head },
      reason: `a reorg took block ${operation.blockNumber} back`,
      whenTxHash: operation.txHash,
    });
    if (moved) reorged += 1;
  }
  if (reorged > 0) deps.log.warn({ reorged }, "token operations taken back by a reorg");
  return reorged;
}

/** Same nonce, fees raised by 1/8 at least (what nodes require to replace), sent under the signer's lock. */
async function replaceStuck(deps: ConfirmerDeps, chain: OperationsChain, stuck: OperationRow[]): Promise<number> {
  const signer = chain.agent.address.toLowerCase();
  const replaced = await withSignerLock(deps.pool, chain.chainId, signer, async () => {
    const current = await chain.client.estimateFeesPerGas();
    const head = Number(await chain.client.getBlockNumber());
    let replaced = 0;
    for (const operation of stuck) {
      if (await minedHash(chain, operation)) continue;
      const previous = parseTransaction(operation.rawTransaction as Hex);
      const bump = (old: bigint | undefined, now: bigint) => larger(((old ?? 0n) * 9n) / 8n + 1n, now);
      const maxPriorityFeePerGas = bump(previous.maxPriorityFeePerGas, current.maxPriorityFeePerGas);
      const maxFeePerGas = bump(previous.maxFeePerGas, current.maxFeePerGas);
      const raw = await chain.agent.signTransaction({
        type: "eip1559",
        chainId: chain.chainId,
        nonce: operation.nonce ?? 0,
        to: previous.to ?? undefined,
        data: previous.data,
        gas: previous.gas,
        maxFeePerGas: larger(maxFeePerGas, maxPriorityFeePerGas),
        maxPriorityFeePerGas,
      });
      const txHash = keccak256(raw);
      const moved = await transition(deps.db, operation.id, {
        from: "submitted",
        to: "submitted",
        set: {
          rawTransaction: raw,
          txHash,
          replacedHashes: [...operation.replacedHashes, operation.txHash as string],
          sentAtBlock: head,
        },
        reason: `replaced after ${deps.config.operations.stuckBlocks} blocks without being mined (higher fee)`,
        whenTxHash: operation.txHash,
      });
      if (!moved) continue;
      await broadcast(deps, chain, { ...operation, rawTransaction: raw, txHash, status: "submitted" });
      replaced += 1;
    }
    return replaced;
  });
  return replaced === BUSY ? 0 : replaced;
}

function larger(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
