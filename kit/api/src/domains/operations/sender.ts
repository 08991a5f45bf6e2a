// The sender: one at a time per signer (a Postgres advisory lock), it turns pending operations into
// transactions. For each: simulate (a revert fails the operation with its reason and uses no
// nonce), sign with the next nonce, STORE the signed bytes, hash and nonce, then broadcast. A crash
// anywhere leaves either no stored transaction (the operation is still pending and is signed again
// with the same free nonce) or a stored one, which the next sender broadcasts again byte for byte
// (same hash: the node takes it once) or finds mined. The lock is transaction-scoped on its own
// connection, so a killed process releases it with its connection; nothing else ever holds it.

import type pg from "pg";
import { type Hex, keccak256, TransactionNotFoundError, TransactionReceiptNotFoundError } from "viem";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { callOf, type OperationCall } from "./calls";
import type { OperationsChain } from "./chain";
import { decodeRevert } from "./reverts";
import { highestStoredNonce, inFlightOperations, type OperationRow, pendingOperations, transition } from "./store";

export interface SenderDeps {
  db: Database;
  pool: pg.Pool;
  log: Logger;
}

/** Runs `work` holding the signer's lock; waits for another holder to finish. */
export async function withSignerLock<T>(
  pool: pg.Pool,
  chainId: number,
  signer: string,
  work: () => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    await client.query("begin");
    await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `kit:token-operations:${chainId}:${signer.toLowerCase()}`,
    ]);
    try {
      return await work();
    } finally {
      await client.query("commit");
    }
  } catch (error) {
    failed = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    // A connection whose transaction state is unknown is not given back to the pool.
    client.release(failed);
  }
}

export interface SendSummary {
  sent: number;
  failed: number;
  resumed: number;
}

/** Sends every pending operation of this chain, after resuming what a previous sender left. */
export async function sendPending(deps: SenderDeps, chain: OperationsChain): Promise<SendSummary> {
  const signer = chain.agent.address.toLowerCase();
  return withSignerLock(deps.pool, chain.chainId, signer, async () => {
    const summary: SendSummary = { sent: 0, failed: 0, resumed: await resumeInFlight(deps, chain) };
    let nonce = await nextNonce(deps.db, chain);
    let fees = await chain.client.estimateFeesPerGas();
    for (;;) {
      const batch = await pendingOperations(deps.db, chain.chainId, 100);
      if (batch.length === 0) break;
      const head = Number(await chain.client.getBlockNumber());
      for (const operation of batch) {
        const outcome = await sendOne(deps, chain, operation, { nonce, fees, head });
        if (outcome === "sent") {
          nonce += 1;
          summary.sent += 1;
        } else summary.failed += 1;
      }
      fees = await chain.client.estimateFeesPerGas();
    }
    return summary;
  });
}

/**
 * The next nonce: past both the chain's pending count and every nonce Kit stored. The stored
 * ones cover a transaction signed but not yet broadcast when the previous sender died (the chain
 * does not know it; reusing its nonce would send a second transaction for another operation).
 */
export async function nextNonce(db: Database, chain: OperationsChain): Promise<number> {
  const signer = chain.agent.address.toLowerCase();
  const [pending, stored] = await Promise.all([
    chain.client.getTransactionCount({ address: chain.agent.address, blockTag: "pending" }),
    highestStoredNonce(db, chain.chainId, signer),
  ]);
  return Math.max(pending, stored === null ? 0 : stored + 1);
}

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

async function sendOne(
  deps: SenderDeps,
  chain: OperationsChain,
  operation: OperationRow,
  slot: { nonce: number; fees: Fees; head: number },
): Promise<"sent" | "failed"> {
  const call = callOf(operation.kind, operation.token, operation.parameters);
  const gas = await simulate(chain, call);
  if ("revert" in gas) {
    await transition(deps.db, operation.id, {
      from: "pending",
      to: "failed",
      set: { errorCode: gas.revert.code, error: gas.revert.message },
      reason: `the simulation reverted: ${gas.revert.message}`,
    });
    deps.log.info({ operation: operation.id, reason: gas.revert.message }, "token operation refused by the simulation");
    return "failed";
  }
  const raw = await chain.agent.signTransaction({
    type: "eip1559",
    chainId: chain.chainId,
    nonce: slot.nonce,
    to: call.to,
    data: call.data,
    gas: gas.limit,
    ...slot.fees,
  });
  const txHash = keccak256(raw);
  const stored = await transition(deps.db, operation.id, {
    from: "pending",
    to: "signed",
    set: {
      signer: chain.agent.address.toLowerCase(),
      nonce: slot.nonce,
      rawTransaction: raw,
      txHash,
      sentAtBlock: slot.head,
    },
  });
  if (!stored) return "failed"; // changed under us (cannot happen under the lock; nothing was sent)
  await broadcast(deps, chain, { ...operation, status: "signed", rawTransaction: raw, txHash });
  return "sent";
}

/** eth_call then eth_estimateGas from the agent; a revert in either is the operation's answer. */
async function simulate(
  chain: OperationsChain,
  call: OperationCall,
): Promise<{ limit: bigint } | { revert: NonNullable<ReturnType<typeof decodeRevert>> }> {
  const request = { account: chain.agent.address, to: call.to, data: call.data };
  try {
    await chain.client.call({ ...request, blockTag: "pending" });
    const estimate = await chain.client.estimateGas(request);
    return { limit: (estimate * 12n) / 10n };
  } catch (error) {
    const revert = decodeRevert(error);
    if (revert) return { revert };
    throw error;
  }
}

/**
 * Sends the stored bytes. A node that already has them answers "already known" (or "nonce too low"
 * once mined): not an error here; what happened is settled from the receipt (confirmer.ts).
 */
export async function broadcast(deps: SenderDeps, chain: OperationsChain, operation: OperationRow): Promise<void> {
  const raw = operation.rawTransaction as Hex;
  try {
    await chain.client.sendRawTransaction({ serializedTransaction: raw });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!/already known|known transaction|already imported|nonce too low/i.test(message)) throw error;
  }
  if (operation.status === "signed") {
    await transition(deps.db, operation.id, { from: "signed", to: "submitted", set: {}, whenTxHash: operation.txHash });
  }
}

/**
 * What a previous sender left: transactions signed but maybe never broadcast, and broadcast ones
 * the node may have dropped. Mined ones are left to the confirmer; one whose nonce another
 * transaction used (no receipt for any of its hashes, nonce below the chain's count) can never
 * be mined, so its operation goes back to pending for a new nonce; the rest are sent again.
 */
export async function resumeInFlight(deps: SenderDeps, chain: OperationsChain): Promise<number> {
  const signer = chain.agent.address.toLowerCase();
  const open = await inFlightOperations(deps.db, chain.chainId, signer);
  if (open.length === 0) return 0;
  const mined = await chain.client.getTransactionCount({ address: chain.agent.address, blockTag: "latest" });
  let resumed = 0;
  for (const operation of open) {
    const nonce = operation.nonce ?? 0;
    if (nonce < mined) {
      if (operation.status === "submitted") continue; // the confirmer settles mined nonces
      if (await minedHash(chain, operation)) {
        await transition(deps.db, operation.id, { from: "signed", to: "submitted", whenTxHash: operation.txHash });
      } else await requeue(deps.db, operation, "its nonce was used by another transaction");
      resumed += 1;
      continue;
    }
    if (operation.status === "signed" || !(await isKnown(chain, operation.txHash as Hex))) {
      await broadcast(deps, chain, operation);
      resumed += 1;
    }
  }
  if (resumed > 0) deps.log.info({ resumed }, "token operations resumed");
  return resumed;
}

/**
 * The receipt of its current or a replaced transaction, if one was mined. Only "not found" counts
 * as not mined: any other failure (the node is down) throws, as a wrong "not mined" could send twice.
 */
export async function minedHash(chain: OperationsChain, operation: OperationRow) {
  for (const hash of [operation.txHash, ...operation.replacedHashes]) {
    if (!hash) continue;
    try {
      return await chain.client.getTransactionReceipt({ hash: hash as Hex });
    } catch (error) {
      if (!(error instanceof TransactionReceiptNotFoundError)) throw error;
    }
  }
  return undefined;
}

async function isKnown(chain: OperationsChain, hash: Hex): Promise<boolean> {
  try {
    await chain.client.getTransaction({ hash });
    return true;
  } catch (error) {
    if (error instanceof TransactionNotFoundError) return false;
    throw error;
  }
}

/** Back to pending without a transaction: safe only when none of its transactions can be mined. */
export function requeue(db: Database, operation: OperationRow, reason: string) {
  return transition(db, operation.id, {
    from: ["signed", "submitted"],
    to: "pending",
    whenTxHash: operation.txHash,
    set: { nonce: null, rawTransaction: null, txHash: null, replacedHashes: [], sentAtBlock: null, signer: null },
    reason,
  });
}
