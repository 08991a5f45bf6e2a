// Eligibility's transactions go through the token-operations outbox (domains/operations/system.ts):
// one sender per signer address sends them with every other operation of Kit's agent — simulated
// first, signed, stored before broadcast, confirmed, resumed after a crash without a second send.
// Here kyc records what it needs (the addresses come from the deployment file) and waits for it.
import type { Address } from "viem";
import type { OperationsChain } from "../operations/chain";
import type { AnyOperationKind } from "../operations/contract-values";
import type { OperationRow } from "../operations/store";
import { awaitOperations, findOpenSystemOperation, operationTxHash, recordSystemOperation } from "../operations/system";
import { settledOf } from "../operations/system-steps";
import { claimDataFor, type OnchainDeps } from "./onchain-records";
import { recordSettled } from "./onchain-settled";

/** The outbox's view of eligibility's chain: same node, same agent (so the same signer lock). */
async function outboxChain(deps: OnchainDeps): Promise<OperationsChain> {
  const chain = await deps.local.eligibilityChain.chain();
  return {
    client: chain.clients.publicClient,
    chainId: chain.chainId,
    agent: chain.agent,
    claimSigner: chain.claimSigner,
  };
}

const lower = (address: Address) => address.toLowerCase();

/**
 * The deployment, and the registry Kit's identity operations target: the first token's, whose
 * storage every Kit token shares, so one entry covers all.
 */
async function eligibilityDeployment(deps: OnchainDeps) {
  const d = await deps.local.eligibilityChain.deployment();
  const token = d.tokens[0];
  if (!token) throw new Error("the deployment file lists no token, so there is no identity registry");
  return { d, identityRegistry: lower(token.identityRegistry) };
}

/** Records (or finds open) the operation making `wallet` verified for the approval `applicationId`. */
export async function recordRegistration(
  deps: OnchainDeps,
  r: { wallet: string; userId: string; applicationId: string; country: number },
): Promise<OperationRow> {
  const { d, identityRegistry } = await eligibilityDeployment(deps);
  return recordSystemOperation(deps.db, {
    chainId: d.chainId,
    kind: "identity_register",
    token: null,
    target: identityRegistry,
    cause: `kyc_application:${r.applicationId}`,
    // An open registration for an earlier approval (its claim data) is not this one: it goes first.
    sameParameters: ["applicationId"],
    parameters: {
      ...r,
      idFactory: lower(d.onchainId.idFactory),
      claimIssuer: lower(d.claimIssuer.address),
      topic: String(d.claimTopics.kyc),
      claimData: claimDataFor(r.applicationId),
    },
  });
}

/** Records (or finds open) the operation removing Kit's claim from `wallet`'s identity. */
export async function recordRevocation(
  deps: OnchainDeps,
  r: { wallet: string; userId: string; identity: string | null; cause: string },
): Promise<OperationRow> {
  const { d, identityRegistry } = await eligibilityDeployment(deps);
  return recordSystemOperation(deps.db, {
    chainId: d.chainId,
    kind: "identity_revoke",
    token: null,
    target: identityRegistry,
    cause: r.cause,
    parameters: {
      wallet: r.wallet,
      userId: r.userId,
      identity: r.identity,
      idFactory: lower(d.onchainId.idFactory),
      claimIssuer: lower(d.claimIssuer.address),
      topic: String(d.claimTopics.kyc),
    },
  });
}

/** Records (or finds open) Kit's freeze (`frozen`) or unfreezing of `wallet` on `token`. */
export function recordFreeze(
  deps: OnchainDeps,
  f: { chainId: number; wallet: string; token: string; userId: string; freezeId: string; frozen: boolean },
): Promise<OperationRow> {
  return recordSystemOperation(deps.db, {
    chainId: f.chainId,
    kind: f.frozen ? "freeze" : "unfreeze",
    token: f.token,
    cause: `${f.frozen ? "kyc_freeze" : "kyc_freeze_lifted"}:${f.freezeId}`,
    parameters: { wallet: f.wallet, userId: f.userId },
  });
}

/**
 * Waits until the operations settled (sending and confirming them itself: see awaitOperations),
 * brings kyc's rows up to date from them (as the outbox's announcement does: whichever comes first),
 * and answers them. A node outage or a timeout throws, for the job to retry.
 */
export async function settle(deps: OnchainDeps, operations: OperationRow[]): Promise<OperationRow[]> {
  if (operations.length === 0) return [];
  const settled = await awaitOperations(
    deps,
    await outboxChain(deps),
    operations.map((o) => o.id),
  );
  for (const row of settled) await recordSettled(deps, settledOf(row));
  return settled;
}

/**
 * Settles a previous try's open operations of `wallet` (of `kinds`; on `token` for a freeze) before a
 * job reads the chain: what they will still do must not be taken for what the chain shows.
 */
export async function settleOpen(
  deps: OnchainDeps,
  chainId: number,
  wallet: string,
  kinds: AnyOperationKind[],
  token: string | null = null,
): Promise<void> {
  const open: OperationRow[] = [];
  for (const kind of kinds) {
    const row = await findOpenSystemOperation(deps.db, { chainId, kind, token, wallet });
    if (row) open.push(row);
  }
  await settle(deps, open);
}

/** The operation's transaction hash as stored now (a try that failed half-way may have signed one). */
export function currentTxHash(deps: OnchainDeps, id: string): Promise<string | null> {
  return operationTxHash(deps.db, id);
}

/** The reason a settled operation failed (its decoded revert or what stopped it). */
export function failureOf(operation: OperationRow): string | undefined {
  if (operation.status !== "failed") return undefined;
  return operation.error ?? operation.errorCode ?? "the operation failed";
}
