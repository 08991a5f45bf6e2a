// A token's four-eyes policy: which operations wait for a second issuer, and how it changes. A
// change that loosens it (a kind no longer listed, a higher or no mint threshold) waits for another
// of the token's issuers; one that only tightens applies at once. Every change is kept.
import { z } from "zod";
import { evmAddress, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { tokenAmount } from "../tokens/contract";
import { OPERATION_KINDS, POLICY_CHANGE_STATUSES } from "./contract-values";

const reason = z.string().trim().min(1, "give a reason").max(1_000, "reason: at most 1000 characters");
const mintThreshold = z
  .string()
  .nullable()
  .meta({ description: "A mint of more than this (whole tokens, all recipients) needs approval; null: never" });

const policyChangeView = z.object({
  id: z.uuid(),
  token: z.string(),
  approvalKinds: z.array(z.enum(OPERATION_KINDS)),
  mintThreshold,
  loosens: z.boolean().meta({ description: "It loosened the policy in force, so another issuer had to decide it" }),
  status: z.enum(POLICY_CHANGE_STATUSES),
  requestedBy: z.string(),
  reason: z.string().nullable(),
  requestedAt: z.string(),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  decidedAt: z.string().nullable(),
});

const policyView = z.object({
  token: z.string(),
  approvalKinds: z.array(z.enum(OPERATION_KINDS)),
  mintThreshold,
  isDefault: z.boolean(),
  pendingChange: policyChangeView
    .nullable()
    .meta({ description: "A loosening change waiting for another of the token's issuers; null: none" }),
});

const setPolicyInput = z.object({
  address: evmAddress("address"),
  approvalKinds: z.array(z.enum(OPERATION_KINDS)).max(OPERATION_KINDS.length),
  mintThreshold: tokenAmount.nullable(),
  reason: reason.optional().meta({ description: "Why; shown to the issuer who decides a loosening change" }),
});
const changeIdInput = z.object({ id: z.uuid("id must be a policy change id (a UUID)") });
const decisionInput = changeIdInput.extend({ reason });
const changeOutcome = z.object({ change: policyChangeView, policy: policyView });
const changePage = z.object({ items: z.array(policyChangeView), nextCursor: z.string().nullable() });

export type PolicyView = z.infer<typeof policyView>;
export type PolicyChangeView = z.infer<typeof policyChangeView>;

const tags = ["token operations"];
const operate = { permission: { tokens: ["operate" as const] }, keyGrant: { tokens: ["operate" as const] } };

export const policyContract = {
  get: base
    .route({
      method: "GET",
      path: "/tokens/{address}/operations-policy",
      tags,
      summary: "Which operations need approval, and a loosening change waiting for a decision",
    })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(z.object({ address: evmAddress("address") }))
    .output(policyView),
  set: base
    .route({
      method: "PUT",
      path: "/tokens/{address}/operations-policy",
      tags,
      summary:
        "Change which operations need approval: applied at once if it only tightens; if it loosens, it waits for another of the token's issuers (and replaces a change already waiting)",
    })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(setPolicyInput)
    .output(changeOutcome),
  changes: base
    .route({
      method: "GET",
      path: "/tokens/{address}/operations-policy/changes",
      tags,
      summary: "Every change asked of a token's policy, newest first, with who asked and who decided",
    })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(z.object({ address: evmAddress("address"), cursor: pageCursor(300), limit: pageLimit(100).default(50) }))
    .output(changePage),
  awaitingMyApproval: base
    .route({
      method: "GET",
      path: "/me/token-policy-changes/awaiting-approval",
      tags,
      summary:
        "Loosening policy changes waiting for a second person on the tokens you are granted on, that you did not ask for; oldest first",
    })
    .meta(operate)
    .input(z.object({ cursor: pageCursor(300), limit: pageLimit(100).default(50) }))
    .output(changePage),
  approve: base
    .route({
      method: "POST",
      path: "/token-policy-changes/{id}/approve",
      tags,
      summary: "Approve a loosening policy change (not your own), with a reason: it applies at once",
    })
    .meta({ ...operate, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(decisionInput)
    .output(changeOutcome),
  reject: base
    .route({
      method: "POST",
      path: "/token-policy-changes/{id}/reject",
      tags,
      summary: "Refuse a loosening policy change, or withdraw your own, with a reason",
    })
    .meta({ ...operate, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(decisionInput)
    .output(changeOutcome),
};
