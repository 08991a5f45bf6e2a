// The fixed values of the operations contract, shared with its tables (schema.ts CHECKs them).
// Plain constants, no import: the client reads the contract.
export const OPERATION_KINDS = [
  "mint",
  "burn",
  "pause",
  "unpause",
  "freeze",
  "unfreeze",
  "freeze_partial",
  "unfreeze_partial",
  "forced_transfer",
  "recover",
  // A new token (tokens.create): its `token` is the address the factory will give it.
  "create",
] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * Kit's own operations for on-chain eligibility (kyc): no user asks for them, a `cause` names why
 * (docs/onchain-eligibility.md). `identity_register` makes a wallet verified (identity, claim,
 * registry entry, each only if missing); `identity_revoke` removes Kit's claim. Kit's sanctions and
 * fraud freezes reuse `freeze` / `unfreeze`. Never shown to issuers, never awaiting approval.
 */
export const ELIGIBILITY_KINDS = ["identity_register", "identity_revoke"] as const;
export type EligibilityKind = (typeof ELIGIBILITY_KINDS)[number];
/** Every kind a row of the outbox may have. */
export type AnyOperationKind = OperationKind | EligibilityKind;

/**
 * awaiting_approval → pending (approved) | rejected; pending → signed (raw transaction stored, maybe
 * not yet broadcast) → submitted (the node accepted it) → confirmed; failed from pending (the
 * simulation reverted) or submitted (mined and reverted). A transaction whose nonce another took
 * goes back to pending; a reorg takes confirmed back to submitted.
 */
export const OPERATION_STATUSES = [
  "awaiting_approval",
  "pending",
  "signed",
  "submitted",
  "confirmed",
  "failed",
  "rejected",
] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/**
 * A change of a token's four-eyes policy: `pending` until another issuer decides one that loosens
 * it; `applied` (at once when it only tightens); `rejected`; `superseded` by a later change.
 */
export const POLICY_CHANGE_STATUSES = ["pending", "applied", "rejected", "superseded"] as const;
export type PolicyChangeStatus = (typeof POLICY_CHANGE_STATUSES)[number];
