// The reviewers' part of the KYC contract: the queue, an application's detail, decisions and revocations.
import { eventIterator } from "@orpc/contract";
import { z } from "zod";
import { countryCode, isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import {
  application,
  downloadUrl,
  freezes,
  id,
  kycDocument,
  kycStatus,
  onchainRegistration,
  statusEvent,
  text,
} from "./contract-shapes";
import { DOCUMENT_FEEDBACK_LABELS, REJECTION_LABELS, REVOCATION_CATEGORIES, RISK_LEVELS } from "./contract-values";

const applicationIdInput = z.object({ applicationId: id("application") });

const booleanQuery = z
  .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
  .meta({ description: "true or false" });

export const queueInput = z.object({
  status: kycStatus
    .exclude(["draft"], { message: "expected a status other than draft (drafts are the applicant's own)" })
    .optional()
    .meta({ description: "One status; absent: the open work (submitted, in_review and approval_pending)" }),
  country: countryCode.optional().meta({ description: "Country of residence" }),
  assignedToMe: booleanQuery.optional(),
  risk: z
    .enum(RISK_LEVELS, { message: "expected low, medium or high" })
    .optional()
    .meta({ description: "The reviewer's risk level" }),
  submittedFrom: isoDateTime.optional(),
  submittedTo: isoDateTime.optional(),
  q: text(100).min(3, "at least 3 characters").optional().meta({ description: "Part of the applicant's name" }),
  cursor: pageCursor(200),
  limit: pageLimit(100).default(50),
});

const queueItem = z.object({
  id: z.string(),
  status: kycStatus,
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  countryOfResidence: z.string().nullable(),
  reviewerId: z.string().nullable(),
  riskLevel: z.enum(RISK_LEVELS).nullable(),
  submittedAt: isoDateTime.nullable(),
});

const queuePage = z.object({
  items: z.array(queueItem),
  nextCursor: z.string().nullable().meta({ description: "Null on the last page" }),
});

const historyEntry = z.object({
  fromStatus: kycStatus.nullable(),
  toStatus: kycStatus,
  actorId: z.string().nullable().meta({ description: "Null when Kit acted (expiry)" }),
  internalNote: z.string().nullable().meta({ description: "Reviewers only; Kit's own words when Kit acted" }),
  messageToApplicant: z.string().nullable().meta({ description: "What the applicant was told" }),
  reason: z.string().nullable().meta({ description: "Deprecated: the same as internalNote", deprecated: true }),
  labels: z.array(z.enum(REJECTION_LABELS)).nullable(),
  final: z.boolean().nullable().meta({ description: "A rejection: true when final (no new application)" }),
  at: isoDateTime,
});

/** The reviewers' side of the last decision: what the applicant never sees. */
const decisionRecord = z.object({
  internalNote: z.string().nullable().meta({ description: "Never shown to the applicant" }),
  messageToApplicant: z.string().nullable(),
  labels: z.array(z.enum(REJECTION_LABELS)).nullable().meta({ description: "Reviewers only" }),
  final: z.boolean().meta({ description: "A final rejection: the applicant may start no new application" }),
  blockLifted: z
    .object({ at: isoDateTime, by: z.string(), reason: z.string() })
    .nullable()
    .meta({ description: "An admin lifted the final rejection's block: the applicant may apply again" }),
});

const reviewDetail = z.object({
  application,
  applicant: z.object({
    id: z.string(),
    name: z.string().nullable().meta({ description: "Null once the application is erased" }),
    email: z.string().nullable().meta({ description: "Null once the application is erased" }),
  }),
  erasedAt: isoDateTime
    .nullable()
    .meta({ description: "When the application was erased: personal data, notes and documents gone" }),
  reviewerId: z.string().nullable(),
  decision: decisionRecord,
  approval: z
    .object({
      required: z.number().int().nullable().meta({ description: "1 or 2, fixed at the first approval; null before" }),
      firstApproverId: z.string().nullable(),
      firstApprovedAt: isoDateTime.nullable(),
    })
    .meta({ description: "Two-person approval: who gave the first of two approvals" }),
  risk: z
    .object({ level: z.enum(RISK_LEVELS), reason: z.string(), setBy: z.string(), setAt: isoDateTime })
    .nullable()
    .meta({ description: "The reviewer's risk assessment; high needs two approvals" }),
  documents: z.array(kycDocument),
  history: z.array(historyEntry),
  onchain: z.array(onchainRegistration).meta({ description: "The applicant's wallets, as Kit registered them" }),
  freezes: freezes.meta({ description: "The applicant's freeze cases and their wallets' freezes on Kit's tokens" }),
});

const DECISIONS = ["approve", "reject", "request_changes"] as const;

const internalNote = text(2_000).meta({
  description: "Reviewers only: never returned to the applicant, never in their notifications or e-mail",
});
const messageToApplicant = text(2_000).meta({
  description: "What the applicant reads (API, event payload `message`, e-mail); never write internal findings here",
});
const legacyReason = text(2_000).meta({
  description: "Deprecated: read as internalNote (no longer shown to the applicant); send internalNote instead",
  deprecated: true,
});

/** `reason` (the older field) is the internal note; both at once would be ambiguous. */
function refineNote(input: { internalNote?: string; reason?: string }, ctx: z.RefinementCtx) {
  if (input.internalNote !== undefined && input.reason !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["reason"],
      message: "reason is the older name of internalNote: send internalNote only",
    });
  }
}

const rejectionLabels = z
  .array(z.enum(REJECTION_LABELS, { message: `expected one of ${REJECTION_LABELS.join(", ")}` }))
  .min(1, "list at least one label")
  .max(REJECTION_LABELS.length)
  .refine((list) => new Set(list).size === list.length, "list each label once")
  .meta({ description: "Why (reviewers only; see docs/kyc.md). Required to reject; allowed to request changes" });

const decideInput = z
  .object({
    applicationId: id("application"),
    decision: z.enum(DECISIONS),
    labels: rejectionLabels.optional(),
    final: z.boolean().optional().meta({
      description:
        "Reject only. false (default): a retry, the applicant may start a new application; true: final, no new application until an admin lifts the block",
    }),
    internalNote: internalNote.optional().meta({ description: "Required to reject or request changes" }),
    messageToApplicant: messageToApplicant.optional().meta({ description: "Required to request changes" }),
    reason: legacyReason.optional(),
    version: z.number().int().positive().optional(),
  })
  .superRefine((input, ctx) => {
    refineNote(input, ctx);
    const words = input.decision.replace("_", " ");
    if (input.decision !== "approve" && !input.internalNote && !input.reason) {
      ctx.addIssue({ code: "custom", path: ["internalNote"], message: `an internal note is required to ${words}` });
    }
    if (input.decision === "reject" && !input.labels) {
      ctx.addIssue({ code: "custom", path: ["labels"], message: "at least one label is required to reject" });
    }
    if (input.decision === "approve" && input.labels) {
      ctx.addIssue({ code: "custom", path: ["labels"], message: "an approval takes no labels" });
    }
    if (input.decision !== "reject" && input.final !== undefined) {
      ctx.addIssue({ code: "custom", path: ["final"], message: "final or retry is said of a rejection only" });
    }
    if (input.decision === "request_changes" && !input.messageToApplicant) {
      ctx.addIssue({
        code: "custom",
        path: ["messageToApplicant"],
        message: "a message to the applicant is required to request changes: tell them what to change",
      });
    }
  });

const revokeInput = z
  .object({
    applicationId: id("application"),
    internalNote: internalNote.optional().meta({ description: "Required (or the older reason)" }),
    messageToApplicant: messageToApplicant.optional(),
    reason: legacyReason.optional(),
    category: z.enum(REVOCATION_CATEGORIES, { message: "expected sanctions, fraud or other" }).default("other").meta({
      description:
        "sanctions or fraud also freezes every wallet of the applicant on every Kit token, until an admin lifts it",
    }),
  })
  .superRefine((input, ctx) => {
    refineNote(input, ctx);
    if (!input.internalNote && !input.reason) {
      ctx.addIssue({ code: "custom", path: ["internalNote"], message: "an internal note is required to revoke" });
    }
  });

const liftBlockInput = z.object({
  applicationId: id("application"),
  reason: text(2_000).meta({ description: "Why the applicant may apply again; kept with the application" }),
});

const setRiskInput = z.object({
  applicationId: id("application"),
  level: z.enum(RISK_LEVELS, { message: "expected low, medium or high" }),
  reason: text(1_000).meta({ description: "Why this level (reviewers only)" }),
  version: z.number().int().positive().optional(),
});

const rejectDocumentInput = z.object({
  documentId: id("document"),
  label: z.enum(DOCUMENT_FEEDBACK_LABELS, { message: `expected one of ${DOCUMENT_FEEDBACK_LABELS.join(", ")}` }),
  messageToApplicant: text(1_000).optional().meta({ description: "What to fix; the applicant reads it" }),
});

const review = { kyc: ["review" as const] };
const liftFreezes = { kyc: ["lift_freeze" as const] };
const decide = { kyc: ["decide" as const] };
const readAnyDocument = { kyc: ["review" as const], documents: ["read_any" as const] };

export const reviewContract = {
  queue: base
    .route({
      method: "GET",
      path: "/kyc/review",
      tags: ["kyc review"],
      summary: "Applications to review, oldest first",
    })
    .meta({ permission: review, keyGrant: review })
    .input(queueInput)
    .output(queuePage),
  get: base
    .route({
      method: "GET",
      path: "/kyc/review/{applicationId}",
      tags: ["kyc review"],
      summary: "One application with its documents and history; every call is logged",
    })
    .meta({ permission: review, keyGrant: review, rateLimit: "kyc.application-reads", errors: ["NOT_FOUND"] })
    .input(applicationIdInput)
    .output(reviewDetail),
  claim: base
    .route({
      method: "POST",
      path: "/kyc/review/{applicationId}/claim",
      tags: ["kyc review"],
      summary: "Take a submitted application into review (it is then yours to decide); every call is logged",
    })
    // Claiming one's own claim again answers the application: it counts as a read.
    .meta({
      permission: review,
      keyGrant: review,
      rateLimit: "kyc.application-reads",
      errors: ["NOT_FOUND", "CONFLICT"],
    })
    .input(applicationIdInput)
    .output(application),
  decide: base
    .route({
      method: "POST",
      path: "/kyc/review/{applicationId}/decision",
      tags: ["kyc review"],
      summary: "Approve, reject, or request changes on an application you have claimed",
    })
    .meta({ permission: decide, keyGrant: decide, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(decideInput)
    .output(application),
  revoke: base
    .route({
      method: "POST",
      path: "/kyc/review/{applicationId}/revoke",
      tags: ["kyc review"],
      summary:
        "Revoke an approval (e.g. sanctions hit, forged document found later); sanctions or fraud also freezes the applicant's wallets",
    })
    .meta({ permission: decide, keyGrant: decide, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(revokeInput)
    .output(application),
  setRisk: base
    .route({
      method: "POST",
      path: "/kyc/review/{applicationId}/risk",
      tags: ["kyc review"],
      summary: "Set the risk level of an application in review, with a reason (high needs a second approval)",
    })
    .meta({ permission: decide, keyGrant: decide, errors: ["NOT_FOUND", "CONFLICT", "FORBIDDEN"] })
    .input(setRiskInput)
    .output(reviewDetail),
  rejectDocument: base
    .route({
      method: "POST",
      path: "/kyc/review/documents/{documentId}/reject",
      tags: ["kyc review"],
      summary:
        "Reject one document of an application in review (the applicant sees the label and message, and replaces just that one)",
    })
    .meta({ permission: decide, keyGrant: decide, errors: ["NOT_FOUND", "CONFLICT", "FORBIDDEN"] })
    .input(rejectDocumentInput)
    .output(kycDocument),
  liftBlock: base
    .route({
      method: "POST",
      path: "/kyc/review/{applicationId}/lift-block",
      tags: ["kyc review"],
      summary: "Let the applicant of a final rejection apply again (admins, with a reason; audited)",
    })
    .meta({ permission: liftFreezes, keyGrant: liftFreezes, errors: ["NOT_FOUND", "CONFLICT", "FORBIDDEN"] })
    .input(liftBlockInput)
    .output(reviewDetail),
  documentUrl: base
    .route({
      method: "GET",
      path: "/kyc/review/documents/{documentId}/url",
      tags: ["kyc review"],
      summary: "A download URL for any applicant's document, valid 15 minutes; every call is logged",
    })
    .meta({
      permission: readAnyDocument,
      keyGrant: readAnyDocument,
      rateLimit: "kyc.document-urls",
      errors: ["NOT_FOUND", "PRECONDITION_FAILED"],
    })
    .input(z.object({ documentId: id("document") }))
    .output(downloadUrl),
  events: base
    .route({
      method: "GET",
      path: "/kyc/review/events",
      tags: ["kyc review"],
      summary: "Queue changes (submissions, claims, decisions), as server-sent events",
    })
    .meta({ permission: review, keyGrant: review })
    .output(eventIterator(statusEvent)),
};

export type QueueInput = z.infer<typeof queueInput>;
export type QueuePage = z.infer<typeof queuePage>;
export type ReviewDetail = z.infer<typeof reviewDetail>;
export type DecideInput = z.infer<typeof decideInput>;
export type RevokeInput = z.infer<typeof revokeInput>;
export type LiftBlockInput = z.infer<typeof liftBlockInput>;
export type SetRiskInput = z.infer<typeof setRiskInput>;
export type RejectDocumentInput = z.infer<typeof rejectDocumentInput>;
