// Four eyes: which operations of a token need a second person's approval. Without a policy of
// its own a token takes the defaults: forced transfers and recoveries; no mint threshold. How a
// policy changes (four eyes for loosening it) is policy-changes.ts.
import { and, eq } from "drizzle-orm";
import type { Database, Transaction } from "../../infra/db";
import { fromSmallestUnit } from "./amounts";
import type { PolicyChangeView, PolicyView } from "./contract-policy";
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
  db: Database | Transaction;
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

/**
 * Whether `proposed` lets through something `current` stops: a kind no longer listed, or mints
 * (not all listed) above a higher threshold or none. Such a change waits for a second person.
 */
export function loosens(current: Omit<Policy, "isDefault">, proposed: Omit<Policy, "isDefault">): boolean {
  if (current.approvalKinds.some((kind) => !proposed.approvalKinds.includes(kind))) return true;
  if (proposed.approvalKinds.includes("mint") || current.mintThreshold === null) return false;
  return proposed.mintThreshold === null || proposed.mintThreshold > current.mintThreshold;
}

export function policyView(
  token: { address: string; decimals: number },
  policy: Policy,
  pendingChange: PolicyChangeView | null,
): PolicyView {
  return {
    token: token.address,
    approvalKinds: policy.approvalKinds,
    mintThreshold: policy.mintThreshold === null ? null : fromSmallestUnit(policy.mintThreshold, token.decimals),
    isDefault: policy.isDefault,
    pendingChange,
  };
}
