// The sender: one at a time per signer (a Postgres advisory lock), it turns pending operations into
// transactions. For each: simulate (eth_estimateGas, and eth_call for the reason of a revert, which
// fails the operation and uses no nonce), sign with the next nonce, STORE the signed bytes, hash and nonce, then broadcast. A crash
// anywhere leaves either no stored transaction (the operation is still pending and is signed again
// with the same free nonce) or a stored one, which the next sender broadcasts again byte for byte
// (same hash: the node takes it once) or finds mined. The lock is transaction-scoped on its own
// connection, so a killed process releases it with its connection; nothing else ever holds it.

import type pg from "pg";
import { type Hex, keccak256, TransactionNotFoundError, TransactionReceiptNotFoundError } from "viem";
import type { SignedSystemOperation } from "../../deps";
import type { Database } from "../../infra/db";
import { callOf, type OperationCall } from "./calls";
import type { OperationsChain } from "./chain";
import { type DecodedRevert, decodeRevert } from "./reverts";
import { isMultiStep, planSteps, type StepDeps, stepReverted } from "./steps";
import {
  highestStoredNonce,
  inFlightOperations,
  markSubmitted,
  type OperationRow,
  pendingOperations,
  storeSigned,
  transition,
} from "./store";

export interface SenderDeps extends StepDeps {
  pool: pg.Pool;
}

/**
 * Runs `work` holding the signer's lock. With `wait: false` answers `busy` at once when another
 * sender holds it (a queued send job then has nothing to do: the holder sends its operation).
 */
export async function withSignerLock<T>(
  pool: pg.Pool,
  chainId: number,
  signer: string,
  work: () => Promise<T>,
  options: { wait?: boolean } = {},
): Promise<T | typeof BUSY> {
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    await client.query("begin");
    const key = `kit:token-operations:${chainId}:${signer.toLowerCase()}`;
    if (options.wait === false) {
      const { rows } = await client.query<{ locked: boolean }>(
        "select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as locked",
        [key],
      );
      if (!rows[0]?.locked) {
        await client.query("commit");
        return BUSY;
      }
    } else await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [key]);
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

export const BUSY = Symbol("another sender holds the lock");

export interface SendSummary {
  sent: number;
  failed: number;
  resumed: number;
  /** The operations this run broadcast (what its own confirmation pass looks at). */
  sentIds: string[];
  /** Multi-step operations put off (steps.ts): left pending for the next run. */
  deferred: number;
}

export interface SendOptions {
  /**
   * What to resume first. `signed`: transactions stored but maybe never broadcast (cheap: each
   * send job). `all`: also broadcast ones the node may have dropped (the sweep).
   */
  resume?: "signed" | "all";
}

/** Pending operations read (and simulated ahead, in parallel) at a time. */
const BATCH = 25;

/**
 * Sends every pending operation of this chain, after resuming what a previous sender left. When
 * another sender is at work this returns at once; that sender looks for pending operations again
 * after releasing the lock, so an operation recorded before this call is never left behind.
 */
export async function sendPending(
  deps: SenderDeps,
  chain: OperationsChain,
  options: SendOptions = {},
): Promise<SendSummary> {
  const signer = chain.agent.address.toLowerCase();
  const total: SendSummary = { sent: 0, failed: 0, resumed: 0, sentIds: [], deferred: 0 };
  for (;;) {
    const run = await withSignerLock(deps.pool, chain.chainId, signer, () => drain(deps, chain, options), {
      wait: false,
    });
    if (run === BUSY) return total;
    total.sent += run.sent;
    total.failed += run.failed;
    total.resumed += run.resumed;
    total.sentIds.push(...run.sentIds);
    total.deferred += run.deferred;
    if (run.deferred > 0 || (await pendingOperations(deps.db, chain.chainId, 1)).length === 0) return total;
  }
}

async function drain(deps: SenderDeps, chain: OperationsChain, options: SendOptions): Promise<SendSummary> {
  const resumed = await resumeInFlight(deps, chain, options.resume ?? "all");
  const summary: SendSummary = { sent: 0, failed: 0, resumed, sentIds: [], deferred: 0 };
  let batch = await pendingOperations(deps.db, chain.chainId, BATCH);
  if (batch.length === 0) return summary;
  let nonce = await nextNonce(deps.db, chain);
  while (batch.length > 0) {
    // Multi-step operations get the step to send now, or are settled when none is left. One put
    // off stays pending: this run ends after the batch, and a later one plans it again.
    const planned = await planSteps(deps, chain, batch);
    summary.deferred += planned.deferred;
    batch = planned.ready;
    if (batch.length === 0) {
      batch = summary.deferred > 0 ? [] : await pendingOperations(deps.db, chain.chainId, BATCH);
      continue;
    }
    const [fees, head] = await Promise.all([chain.client.estimateFeesPerGas(), chain.client.getBlockNumber()]);
    const simulations = batch.map((operation) => {
      const simulated = simulate(chain, callOf(operation));
      simulated.catch(() => {}); // awaited below; a run that stops early leaves none unhandled
      return simulated;
    });
    let signed: SignedTransaction[] = [];
    const flush = async () => {
      const out = signed;
      signed = [];
      await storeAndBroadcast(deps, chain, out, Number(head));
      summary.sent += out.length;
      summary.sentIds.push(...out.map((t) => t.id));
    };
    for (const [i, operation] of batch.entries()) {
      let gas = await (simulations[i] as ReturnType<typeof simulate>);
      if ("revert" in gas) {
        // Simulated ahead, before the earlier ones of this batch were sent: ask again after them.
        await flush();
        gas = await simulate(chain, callOf(operation), "pending");
      }
      if ("revert" in gas) {
        if (await failSimulated(deps, operation, gas.revert)) summary.failed += 1;
        continue;
      }
      signed.push(await sign(chain, operation, { nonce, fees, gas: gas.limit }));
      nonce += 1;
    }
    await flush();
    batch = summary.deferred > 0 ? [] : await pendingOperations(deps.db, chain.chainId, BATCH);
  }
  return summary;
}

interface SignedTransaction {
  id: string;
  nonce: number;
  raw: Hex;
  txHash: Hex;
  /** Set for an operation Kit sends on its own (no requester). */
  system?: SignedSystemOperation;
}

/**
 * Stores every signed transaction of the batch (one statement), and only then broadcasts them,
 * in nonce order, and records them submitted (one statement). A crash before the store sent
 * nothing; after it, the next run finds the stored bytes.
 */
async function storeAndBroadcast(
  deps: SenderDeps,
  chain: OperationsChain,
  transactions: SignedTransaction[],
  head: number,
): Promise<void> {
  if (transactions.length === 0) return;
  const stored = await storeSigned(deps.db, chain.agent.address.toLowerCase(), head, transactions);
  // Only the lock holder moves a pending operation: anything else is a bug, and broadcasting past a
  // nonce that was not stored would leave a gap. Nothing is sent; the stored ones are resumed.
  if (stored !== transactions.length) throw new Error(`stored ${stored} of ${transactions.length} signed transactions`);
  // Kit's own operations: their domain records each hash before it can be mined (a crash from here
  // on leaves it on their rows too).
  const system = transactions.flatMap((t) => (t.system ? [{ ...t.system, txHash: t.txHash }] : []));
  if (system.length > 0) await deps.events.systemOperationsSigned(deps, system);
  for (const transaction of transactions) await broadcastRaw(chain, transaction.raw);
  await markSubmitted(deps.db, transactions, Number(await chain.client.getBlockNumber()));
}

/**
 * The next nonce: past both the chain's pending count and every nonce Kit stored. The stored
 * ones cover a transaction signed but not yet broadcast when the previous sender died (the chain
 * does not know it; reusing its nonce would send a second transaction for another operation).
 */
async function nextNonce(db: Database, chain: OperationsChain): Promise<number> {
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

/** False when the operation is not over: a multi-step one cleans up first (steps.ts). */
async function failSimulated(deps: SenderDeps, operation: OperationRow, revert: DecodedRevert): Promise<boolean> {
  if (isMultiStep(operation)) {
    await stepReverted(deps, operation, revert, "pending");
    return false;
  }
  await transition(deps.db, operation.id, {
    from: "pending",
    to: "failed",
    set: { errorCode: revert.code, error: revert.message },
    reason: `the simulation reverted: ${revert.message}`,
  });
  deps.log.info({ operation: operation.id, reason: revert.message }, "token operation refused by the simulation");
  return true;
}

async function sign(
  chain: OperationsChain,
  operation: OperationRow,
  slot: { nonce: number; fees: Fees; gas: bigint },
): Promise<SignedTransaction> {
  const call = callOf(operation);
  const raw = await chain.agent.signTransaction({
    type: "eip1559",
    chainId: chain.chainId,
    nonce: slot.nonce,
    to: call.to,
    data: call.data,
    gas: slot.gas,
    maxFeePerGas: slot.fees.maxFeePerGas,
    maxPriorityFeePerGas: slot.fees.maxPriorityFeePerGas,
  });
  const txHash = keccak256(raw);
  const system =
    operation.requestedBy === null
      ? {
          id: operation.id,
          chainId: operation.chainId,
          kind: operation.kind,
          token: operation.token,
          cause: operation.cause ?? "",
          parameters: operation.parameters,
          txHash,
        }
      : undefined;
  return { id: operation.id, nonce: slot.nonce, raw, txHash, system };
}

/**
 * Simulates the call from the agent: eth_estimateGas executes it (and gives the gas limit); when
 * it reverts, an eth_call at the same block gives the contract's reason, decoded. Ahead of a
 * batch the simulations read `latest` (cheap, in parallel); a revert there is asked again on
 * `pending`, after the batch's earlier transactions were sent, so an operation depending on one
 * of them (a burn after its mint) is not refused for want of it.
 */
async function simulate(
  chain: OperationsChain,
  call: OperationCall,
  blockTag: "latest" | "pending" = "latest",
): Promise<{ limit: bigint } | { revert: DecodedRevert }> {
  const request = { account: chain.agent.address, to: call.to, data: call.data, blockTag };
  try {
    const estimate = await chain.client.estimateGas(request);
    return { limit: (estimate * 12n) / 10n };
  } catch (estimateError) {
    if (!decodeRevert(estimateError)) throw estimateError;
    try {
      await chain.client.call(request);
    } catch (callError) {
      const revert = decodeRevert(callError);
      if (revert) return { revert };
      throw callError;
    }
    throw estimateError; // the call passed where the estimate reverted: not a verdict, try again later
  }
}

/**
 * Sends the stored bytes. A node that already has them answers "already known" (or "nonce too low"
 * once mined): not an error here; what happened is settled from the receipt (confirmer.ts).
 */
export async function broadcast(deps: SenderDeps, chain: OperationsChain, operation: OperationRow): Promise<void> {
  await broadcastRaw(chain, operation.rawTransaction as Hex);
  if (operation.status === "signed") {
    await transition(deps.db, operation.id, { from: "signed", to: "submitted", set: {}, whenTxHash: operation.txHash });
  }
}

async function broadcastRaw(chain: OperationsChain, raw: Hex): Promise<void> {
  try {
    await chain.client.sendRawTransaction({ serializedTransaction: raw });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!/already known|known transaction|already imported|nonce too low/i.test(message)) throw error;
  }
}

/**
 * What a previous sender left: transactions signed but maybe never broadcast, and broadcast ones
 * the node may have dropped. Mined ones are left to the confirmer; one whose nonce another
 * transaction used (no receipt for any of its hashes, nonce below the chain's count) can never
 * be mined, so its operation goes back to pending for a new nonce; the rest are sent again.
 */
async function resumeInFlight(
  deps: SenderDeps,
  chain: OperationsChain,
  scope: "signed" | "all" = "all",
): Promise<number> {
  const signer = chain.agent.address.toLowerCase();
  const statuses = scope === "signed" ? (["signed"] as const) : (["signed", "submitted"] as const);
  const open = await inFlightOperations(deps.db, chain.chainId, signer, statuses);
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
