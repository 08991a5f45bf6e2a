// Four eyes: which operations of a token need a second person's approval. Without a policy of
// its own a token takes the defaults: forced transfers and recoveries; no mint threshold.
import { and, eq } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { fromSmallestUnit, toSmallestUnit } from "./amounts";
import type { PolicyView } from "./contract";
import type { OperationKind } from "./contract-values";
import { tokenOperationPolicies } from "./schema";

const DEFAULT_APPROVAL_KINDS: OperationKind[] = ["forced_transfer", "recover"];

export interface Policy {
  approvalKinds: OperationKind[];
  /** Smallest units; a mint of more (all recipients together) needs approval. */
  mintThreshold: bigint | null;
  isDefault: boolean;
}

interface PolicyDeps {
  db: Database;
  config: { chain: { id: number } };
}

export async function policyOf(deps: PolicyDeps, token: string): Promise<Policy> {
  const [row] = await deps.db
    .select()
    .from(tokenOperationPolicies)
    .where(
      and(
        eq(tokenOperationPolicies.chainId, deps.config.chain.id),
        eq(tokenOperationPolicies.token, token.toLowerCase()),
      ),
    );
  if (!row) return { approvalKinds: DEFAULT_APPROVAL_KINDS, mintThreshold: null, isDefault: true };
  return {
    approvalKinds: row.approvalKinds,
    mintThreshold: row.mintThreshold === null ? null : BigInt(row.mintThreshold),
    isDefault: false,
  };
}

export function needsApproval(policy: Policy, kind: OperationKind, parameters: Record<string, unknown>): boolean {
  if (policy.approvalKinds.includes(kind)) return true;
  if (kind !== "mint" || policy.mintThreshold === null) return false;
  const recipients = parameters.recipients as { amount: string }[];
  const total = recipients.reduce((sum, r) => sum + BigInt(r.amount), 0n);
  return total > policy.mintThreshold;
}

export async function setPolicy(
  deps: PolicyDeps,
  actorId: string,
  token: { address: string; decimals: number },
  input: { approvalKinds: OperationKind[]; mintThreshold: string | null },
): Promise<PolicyView> {
  const mintThreshold =
    input.mintThreshold === null ? null : toSmallestUnit(input.mintThreshold, token.decimals, "mintThreshold");
  const values = {
    chainId: deps.config.chain.id,
    token: token.address.toLowerCase(),
    approvalKinds: [...new Set(input.approvalKinds)],
    mintThreshold: mintThreshold === null ? null : mintThreshold.toString(),
    updatedBy: actorId,
    updatedAt: new Date(),
  };
  await deps.db
    .insert(tokenOperationPolicies)
    .values(values)
    .onConflictDoUpdate({ target: [tokenOperationPolicies.chainId, tokenOperationPolicies.token], set: values });
  return policyView(token, await policyOf(deps, token.address));
}

export function policyView(token: { address: string; decimals: number }, policy: Policy): PolicyView {
  return {
    token: token.address,
    approvalKinds: policy.approvalKinds,
    mintThreshold: policy.mintThreshold === null ? null : fromSmallestUnit(policy.mintThreshold, token.decimals),
    isDefault: policy.isDefault,
  };
}
