// Planning Kit's own (system) operations: eligibility's identity work and its sanctions freezes
// (eligibility-steps.ts says which step comes next). Called by the sender under the signer's lock,
// like a recovery's planning (steps.ts). Two rules besides the plan itself:
// - The operations of one wallet go out one after the other, oldest first (register and revoke of
//   one identity; freeze and unfreeze of one wallet on one token): a revocation queued behind a
//   registration is planned only once the registration settled, so it reads the registration's
//   effect and removes the claim — the revocation wins.
// - Other domains hear when one settles (DomainEvents.operationSettled): kyc keeps its records.
import { tokenAbi } from "@kit/contracts";
import { and, eq, sql } from "drizzle-orm";
import type { Address, Hex } from "viem";
import type { DomainEvents, DomainQueries, SettledOperation, WalletRegistration } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { OperationsChain } from "./chain";
import { ELIGIBILITY_KINDS, type EligibilityKind } from "./contract-values";
import {
  claimDigest,
  type EligibilityFacts,
  type EligibilityPlan,
  type EligibilityStep,
  type IdentityRegisterParameters,
  type IdentityRevokeParameters,
  nextFreezeStep,
  nextRegisterStep,
  nextRevokeStep,
  readIdentityFacts,
} from "./eligibility-steps";
import { type OperationSteps, tokenOperations } from "./schema";
import { lastStepTransaction, type OperationRow, transition } from "./store";

export interface SystemStepDeps {
  db: Database;
  log: Logger;
  events: Pick<DomainEvents, "operationSettled">;
  /** Where kyc stands with a wallet (a recovery may hold it); absent: not asked. */
  queries?: Pick<DomainQueries, "walletRegistration">;
}

/** Answered instead of a planned operation: an older operation of the same wallet is still open. */
export const DEFERRED = Symbol("an older operation of the same wallet is open");

export const isSystemOperation = (operation: Pick<OperationRow, "requestedBy">) => operation.requestedBy === null;

const isEligibilityKind = (kind: string): kind is EligibilityKind =>
  (ELIGIBILITY_KINDS as readonly string[]).includes(kind);

const NO_STEPS: OperationSteps = { current: null, done: [], failure: null, announced: false };

/** A recovery moving the wallet's registration holds it (kyc's row says so): eligibility leaves it alone. */
const HELD: readonly WalletRegistration["status"][] = ["recovering", "recovered"];

/** The step to send now (recorded on the row), or undefined once settled, or DEFERRED. */
export async function planSystem(
  deps: SystemStepDeps,
  chain: OperationsChain,
  operation: OperationRow,
): Promise<OperationRow | undefined | typeof DEFERRED> {
  if (await olderOpenOfSameWallet(deps, operation)) return DEFERRED;
  const progress = operation.steps ?? NO_STEPS;
  const wallet = String(operation.parameters.wallet);
  const held =
    isEligibilityKind(operation.kind) &&
    HELD.includes((await deps.queries?.walletRegistration(deps, operation.chainId, wallet))?.status ?? "pending");
  const facts = held ? undefined : await readFacts(chain, operation);
  const plan: EligibilityPlan = facts ? planOf(operation, facts, progress, chain) : { end: "done" };
  if ("send" in plan) {
    const step: EligibilityStep =
      plan.send.action === "add_claim"
        ? { ...plan.send, signature: await signClaim(chain, operation, plan.send) }
        : plan.send;
    const steps: OperationSteps = { ...progress, current: step };
    const [row] = await deps.db
      .update(tokenOperations)
      .set({ steps, updatedAt: new Date() })
      .where(and(eq(tokenOperations.id, operation.id), eq(tokenOperations.status, "pending")))
      .returning();
    return row;
  }
  const outcome = {
    held,
    ...(facts ? { identity: facts.identity, verified: facts.verified, frozen: facts.frozen } : {}),
  };
  await settle(deps, chain, operation, { ...progress, current: null, facts: outcome }, plan);
  return undefined;
}

function planOf(
  operation: OperationRow,
  facts: EligibilityFacts,
  progress: OperationSteps,
  chain: OperationsChain,
): EligibilityPlan {
  switch (operation.kind) {
    case "identity_register":
      return nextRegisterStep(
        facts,
        operation.parameters as unknown as IdentityRegisterParameters,
        progress,
        chain.agent.address,
      );
    case "identity_revoke":
      return nextRevokeStep(facts, progress);
    case "freeze":
    case "unfreeze":
      return nextFreezeStep(facts, operation.kind === "freeze", progress);
    default:
      throw new Error(`${operation.kind} is not a kind Kit sends on its own`);
  }
}

async function readFacts(chain: OperationsChain, operation: OperationRow): Promise<EligibilityFacts> {
  const read = <T>(address: string, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
    chain.client.readContract({ address: address as Address, abi, functionName, args } as never) as Promise<T>;
  const p = operation.parameters as Record<string, string>;
  if (operation.kind === "freeze" || operation.kind === "unfreeze") {
    const frozen = await read<boolean>(operation.token as string, tokenAbi, "isFrozen", [p.wallet]);
    return { identity: "", registered: false, claimPresent: false, country: 0, verified: false, frozen };
  }
  const registry = operation.target as string;
  if (operation.kind === "identity_register") {
    const register = operation.parameters as unknown as IdentityRegisterParameters;
    return readIdentityFacts(read, registry, register, register.claimData);
  }
  return readIdentityFacts(read, registry, operation.parameters as unknown as IdentityRevokeParameters);
}

async function signClaim(chain: OperationsChain, operation: OperationRow, step: { identity: string }): Promise<Hex> {
  if (!chain.claimSigner) throw new Error("no claim signer: CLAIM_SIGNER_PRIVATE_KEY is not set");
  const p = operation.parameters as unknown as IdentityRegisterParameters;
  return chain.claimSigner.signMessage({ raw: claimDigest(step.identity, p.topic, p.claimData) });
}

/**
 * An older open system operation of the same wallet (for a freeze: of the same wallet and token).
 * Operations of one wallet are few; the partial index on the wallet finds them.
 */
async function olderOpenOfSameWallet(deps: SystemStepDeps, operation: OperationRow): Promise<boolean> {
  const identity = isEligibilityKind(operation.kind);
  const kinds = identity ? [...ELIGIBILITY_KINDS] : ["freeze", "unfreeze"];
  const { rows } = await deps.db.execute<{ id: string }>(sql`
    select id from token_operations
    where requested_by is null and status in ('pending', 'signed', 'submitted')
      and parameters->>'wallet' = ${String(operation.parameters.wallet)}
      and chain_id = ${operation.chainId}
      and kind in (${sql.join(
        kinds.map((k) => sql`${k}`),
        sql`, `,
      )})
      and ${identity ? sql`true` : sql`token = ${operation.token}`}
      and (created_at, id) < (${operation.createdAt.toISOString()}::timestamptz, ${operation.id}::uuid)
    limit 1`);
  return rows.length > 0;
}

/** Confirmed (or failed, with its reason) with the last step's transaction; then others are told. */
async function settle(
  deps: SystemStepDeps,
  chain: OperationsChain,
  operation: OperationRow,
  steps: OperationSteps,
  plan: Exclude<EligibilityPlan, { send: unknown }>,
): Promise<void> {
  const transaction = lastStepTransaction(chain.agent.address, steps);
  const sent = `${steps.done.length} transaction${steps.done.length === 1 ? "" : "s"}`;
  const moved =
    plan.end === "failed"
      ? await transition(deps.db, operation.id, {
          from: "pending",
          to: "failed",
          set: { steps, ...transaction, errorCode: plan.failure.code, error: plan.failure.message },
          reason: `stopped after ${sent}: ${plan.failure.message}`,
        })
      : await transition(deps.db, operation.id, {
          from: "pending",
          to: "confirmed",
          set: { steps, ...transaction, confirmedAt: new Date() },
          reason: steps.facts?.held ? "left alone: a wallet recovery holds the wallet" : `done in ${sent}`,
        });
  if (!moved) return;
  const [row] = await deps.db.select().from(tokenOperations).where(eq(tokenOperations.id, operation.id));
  if (!row) return;
  try {
    await deps.events.operationSettled(deps, settledOf(row));
  } catch (error) {
    // Settled all the same: whoever awaits the operation records it too (kyc's job), else reconciliation.
    deps.log.error({ err: error, operation: operation.id }, "could not announce a settled operation");
  }
}

export function settledOf(row: OperationRow): SettledOperation {
  return {
    id: row.id,
    chainId: row.chainId,
    kind: row.kind,
    token: row.token,
    cause: row.cause ?? "",
    parameters: row.parameters,
    status: row.status === "confirmed" ? "confirmed" : "failed",
    txHash: row.txHash,
    error: row.error,
    facts: row.steps?.facts ?? {},
  };
}
