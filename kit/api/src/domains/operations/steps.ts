// Operations that take more than one transaction (a recovery: recovery-steps.ts; a token creation:
// create-steps.ts; Kit's own eligibility operations: system-steps.ts, eligibility-steps.ts). The outbox sends
// their transactions one at a time, exactly as any other operation's — simulated, signed, stored
// before broadcast, confirmed — and `steps` records which step the stored transaction carries and
// which steps were confirmed. Between two steps the operation is `pending` again; the sender then
// plans the next step from what the chain shows (so a resumed sender never repeats a step whose
// effect is there) and settles the operation when no step is left.
import { describeCreationStep } from "@kit/contracts";
import { and, eq } from "drizzle-orm";
import type { TransactionReceipt } from "viem";
import type { DomainEvents, JobQueue, WalletRecovery } from "../../deps";
import { type Database, PG_LOCK_NOT_AVAILABLE, postgresError } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { OperationsChain } from "./chain";
import { creationStepOf } from "./create-parameters";
import { planCreation } from "./create-steps";
import { describeEligibilityStep, type EligibilityStep } from "./eligibility-steps";
import { readRecoveryFacts } from "./recover";
import {
  describeStep,
  movesRegistration,
  nextRecoveryStep,
  type RecoverParameters,
  type RecoveryFacts,
  type RecoveryStep,
} from "./recovery-steps";
import type { DecodedRevert } from "./reverts";
import { type OperationSteps, tokenOperations } from "./schema";
import { lastStepTransaction, type OperationRow, transition } from "./store";
import { DEFERRED, isSystemOperation, planSystem, type SystemStepDeps } from "./system-steps";

export interface StepDeps extends SystemStepDeps {
  db: Database;
  log: Logger;
  jobs?: JobQueue;
  events: Pick<
    DomainEvents,
    "walletRecoveryStarting" | "walletRecoveryEnded" | "operationSettled" | "systemOperationsSigned"
  >;
}

/** A recovery, a creation, and every operation Kit sends on its own (planned even when one transaction does it). */
export const isMultiStep = (operation: Pick<OperationRow, "kind" | "requestedBy">) =>
  operation.kind === "recover" || operation.kind === "create" || isSystemOperation(operation);

/** A step in words, whichever planner chose it (null: a step a reorg took back). */
function describe(operation: Pick<OperationRow, "kind" | "requestedBy">, step: OperationSteps["current"]): string {
  if (!step) return "a step";
  if (isSystemOperation(operation)) return describeEligibilityStep(step as EligibilityStep);
  if (operation.kind === "create") return describeCreationStep(creationStepOf(step as RecoveryStep));
  return describeStep(step as RecoveryStep);
}

const NO_STEPS: OperationSteps = { current: null, done: [], failure: null, announced: false };

/** What a finished step leaves on the row: no transaction (the next step gets a new nonce). */
const noTransaction = () => ({
  nonce: null,
  rawTransaction: null,
  txHash: null,
  replacedHashes: [] as string[],
  sentAtBlock: null,
  signer: null,
});

/**
 * Gives each multi-step operation of `batch` the step to send now (recorded on the row), or settles
 * it when none is left; answers the operations to simulate and sign, in the batch's order, and how
 * many were put off (the wallets' eligibility lock was busy: they stay pending for a later pass).
 */
export async function planSteps(
  deps: StepDeps,
  chain: OperationsChain,
  batch: OperationRow[],
): Promise<{ ready: OperationRow[]; deferred: number }> {
  const ready: OperationRow[] = [];
  let deferred = 0;
  for (const operation of batch) {
    if (!isMultiStep(operation)) {
      ready.push(operation);
      continue;
    }
    try {
      const planned = isSystemOperation(operation)
        ? await planSystem(deps, chain, operation)
        : operation.kind === "create"
          ? await planCreation(deps, chain, operation)
          : await planRecovery(deps, chain, operation);
      if (planned === DEFERRED) deferred += 1;
      else if (planned) ready.push(planned);
    } catch (error) {
      if (postgresError(error)?.code !== PG_LOCK_NOT_AVAILABLE) throw error;
      deferred += 1;
      deps.log.info({ operation: operation.id }, "wallet recovery put off: an eligibility job holds the wallets");
    }
  }
  return { ready, deferred };
}

async function planRecovery(
  deps: StepDeps,
  chain: OperationsChain,
  operation: OperationRow,
): Promise<OperationRow | undefined> {
  const parameters = operation.parameters as unknown as RecoverParameters;
  const read = () =>
    readRecoveryFacts(
      chain.client,
      operation.token as string,
      parameters,
      chain.agent.address,
      parameters.investorOnchainId,
    );
  let progress = operation.steps ?? NO_STEPS;
  let facts = await read();
  let plan = nextRecoveryStep(facts, progress);
  if ("send" in plan && movesRegistration(facts) && !progress.announced) {
    // Before the first step of a move of the registration: kyc holds both wallets, then the chain
    // is read again (an eligibility job that was running has finished by then).
    await deps.events.walletRecoveryStarting(deps, recoveryOf(operation, facts));
    progress = { ...progress, announced: true };
    facts = await read();
    plan = nextRecoveryStep(facts, progress);
  }
  if ("send" in plan) {
    const steps: OperationSteps = { ...progress, current: plan.send, failure: plan.failure };
    const [row] = await deps.db
      .update(tokenOperations)
      .set({ steps, updatedAt: new Date() })
      .where(and(eq(tokenOperations.id, operation.id), eq(tokenOperations.status, "pending")))
      .returning();
    return row;
  }
  const moved = progress.done.some((d) => (d.step as RecoveryStep).action === "recovery_address");
  if (progress.announced) await deps.events.walletRecoveryEnded(deps, recoveryOf(operation, facts), moved);
  const steps: OperationSteps = { ...progress, current: null };
  if (plan.end === "failed") {
    await transition(deps.db, operation.id, {
      from: "pending",
      to: "failed",
      set: { steps, errorCode: plan.failure.code, error: plan.failure.message },
      reason: `the recovery stopped: ${plan.failure.message}`,
    });
    deps.log.info({ operation: operation.id, reason: plan.failure.code }, "wallet recovery failed");
    return undefined;
  }
  await transition(deps.db, operation.id, {
    from: "pending",
    to: "confirmed",
    set: {
      steps,
      confirmedAt: new Date(),
      ...lastStepTransaction(chain.agent.address, progress),
    },
    reason: `recovered in ${progress.done.length} transaction${progress.done.length === 1 ? "" : "s"}`,
  });
  return undefined;
}

function recoveryOf(operation: OperationRow, facts: RecoveryFacts): WalletRecovery {
  const p = operation.parameters as unknown as RecoverParameters;
  return {
    chainId: operation.chainId,
    userId: p.userId,
    lostWallet: p.lostWallet,
    newWallet: p.newWallet,
    identity: p.investorOnchainId,
    country: facts.country,
  };
}

/** A step's transaction confirmed: the operation is pending again, for its next step. */
export function stepMined(deps: StepDeps, operation: OperationRow, receipt: TransactionReceipt): Promise<boolean> {
  const steps = operation.steps ?? NO_STEPS;
  const step = steps.current;
  const txHash = receipt.transactionHash.toLowerCase();
  const entry = {
    step: step as NonNullable<typeof step>,
    txHash,
    nonce: operation.nonce ?? 0,
    raw: operation.rawTransaction ?? "",
    blockNumber: Number(receipt.blockNumber),
    blockHash: receipt.blockHash.toLowerCase(),
  };
  return transition(deps.db, operation.id, {
    from: "submitted",
    to: "pending",
    // No current step: a settled operation's last transaction, taken back by a reorg and mined again.
    set: { ...noTransaction(), steps: { ...steps, current: null, done: step ? [...steps.done, entry] : steps.done } },
    reason: `step ${steps.done.length + 1} confirmed: ${describe(operation, step)}`,
    whenTxHash: operation.txHash,
    historyTxHash: txHash,
  });
}

/**
 * A step reverted (in its simulation, or mined): the recovery turns to clean-up, planned like any
 * step; a clean-up step that reverts too ends it (the plan then stops at once).
 */
export function stepReverted(
  deps: StepDeps,
  operation: OperationRow,
  revert: DecodedRevert,
  from: "pending" | "submitted",
): Promise<boolean> {
  const steps = operation.steps ?? NO_STEPS;
  const what = describe(operation, steps.current);
  const failure = steps.failure
    ? {
        ...steps.failure,
        cleanupFailed: true,
        message: `${steps.failure.message}; cleaning up failed too (${revert.message})`,
      }
    : { code: revert.code, message: revert.message };
  return transition(deps.db, operation.id, {
    from,
    to: "pending",
    set: { ...noTransaction(), steps: { ...steps, current: null, failure } },
    reason: `reverted (${what}): ${revert.message}`,
    whenTxHash: from === "submitted" ? operation.txHash : undefined,
    historyTxHash: from === "submitted" ? operation.txHash : null,
  });
}
