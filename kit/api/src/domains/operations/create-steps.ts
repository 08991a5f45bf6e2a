// A creation in the outbox: its steps (deploy the suite, unpause) planned by @kit/contracts'
// nextCreationStep from what the chain shows — the factory's token for the salt, its pause — so a
// sender killed after deployTREXSuite finds the token and never deploys it twice. When no step is
// left, the requester is granted on the new token, its four-eyes policy is set, and the operation
// is confirmed with its last step's transaction. A reverted step fails it (nothing to clean up: a
// failed deployTREXSuite deployed nothing).
import { nextCreationStep, readCreationFacts } from "@kit/contracts";
import { and, eq } from "drizzle-orm";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { OperationsChain } from "./chain";
import { type CreateParameters, suiteOf } from "./create-parameters";
import { type OperationSteps, tokenGrants, tokenOperationPolicies, tokenOperations } from "./schema";
import { lastStepTransaction, type OperationRow, transition } from "./store";

const NO_STEPS: OperationSteps = { current: null, done: [], failure: null, announced: false };

export async function planCreation(
  deps: { db: Database; log: Logger },
  chain: OperationsChain,
  operation: OperationRow,
): Promise<OperationRow | undefined> {
  const p = operation.parameters as unknown as CreateParameters;
  const progress = operation.steps ?? NO_STEPS;
  if (progress.failure) return fail(deps, operation, progress, progress.failure);
  const facts = await readCreationFacts(chain.client, suiteOf(p), p.spec.salt);
  if (facts.token && facts.token.toLowerCase() !== operation.token) {
    // Another deployment took the salt (outside Kit, between the request and now).
    return fail(deps, operation, progress, {
      code: "isin_taken",
      message: `the factory already has a token for ISIN ${p.spec.salt}, at ${facts.token}`,
    });
  }
  const plan = nextCreationStep(facts);
  if ("send" in plan) {
    const steps: OperationSteps = { ...progress, current: { ...plan.send } };
    const [row] = await deps.db
      .update(tokenOperations)
      .set({ steps, updatedAt: new Date() })
      .where(and(eq(tokenOperations.id, operation.id), eq(tokenOperations.status, "pending")))
      .returning();
    return row;
  }
  await settleCreated(deps, chain, operation, p, progress);
  return undefined;
}

async function settleCreated(
  deps: { db: Database; log: Logger },
  chain: OperationsChain,
  operation: OperationRow,
  p: CreateParameters,
  progress: OperationSteps,
): Promise<void> {
  const { token, requestedBy } = operation;
  // A creation is a user's operation with its token's address from the start (create.ts).
  if (!token || !requestedBy) throw new Error(`creation ${operation.id} has no token or requester`);
  const key = { chainId: operation.chainId, token };
  // Both idempotent: a settle repeated after a crash changes nothing.
  await deps.db
    .insert(tokenGrants)
    .values({ ...key, userId: requestedBy, grantedBy: null })
    .onConflictDoNothing();
  if (p.policy) {
    await deps.db
      .insert(tokenOperationPolicies)
      .values({
        ...key,
        approvalKinds: p.policy.approvalKinds,
        mintThreshold: p.policy.mintThreshold,
        updatedBy: requestedBy,
      })
      .onConflictDoNothing();
  }
  await transition(deps.db, operation.id, {
    from: "pending",
    to: "confirmed",
    set: {
      steps: { ...progress, current: null },
      confirmedAt: new Date(),
      ...lastStepTransaction(chain.agent.address, progress),
    },
    reason: `created ${p.spec.symbol} at ${operation.token} in ${progress.done.length} transaction${progress.done.length === 1 ? "" : "s"}; the requester is granted on it`,
  });
  deps.log.info({ operation: operation.id, token: operation.token }, "token created");
}

async function fail(
  deps: { db: Database; log: Logger },
  operation: OperationRow,
  progress: OperationSteps,
  failure: { code: string; message: string },
): Promise<undefined> {
  await transition(deps.db, operation.id, {
    from: "pending",
    to: "failed",
    set: { steps: { ...progress, current: null }, errorCode: failure.code, error: failure.message },
    reason: `the creation stopped: ${failure.message}`,
  });
  deps.log.info({ operation: operation.id, reason: failure.code }, "token creation failed");
  return undefined;
}
