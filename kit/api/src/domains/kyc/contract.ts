import { eventIterator } from "@orpc/contract";
import { z } from "zod";
import { countryCode, evmAddress, isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import {
  BIDI_CONTROLS,
  BIDI_CONTROLS_MESSAGE,
  CONTROL_CHARACTERS,
  CONTROL_CHARACTERS_MESSAGE,
} from "../../display-text";
import { base } from "../../rpc/base";
import {
  DOCUMENT_CONTENT_TYPES,
  DOCUMENT_TYPES,
  FREEZE_CATEGORIES,
  KYC_STATUSES,
  MAX_DOCUMENT_BYTES,
  ONCHAIN_REGISTRATION_STATUSES,
  RESIDENCY_STATUSES,
  REVOCATION_CATEGORIES,
  WALLET_FREEZE_STATUSES,
} from "./contract-values";

const id = (what: string) => z.uuid({ message: `expected the ${what} id (a UUID)` });

/**
 * Printable text: no control characters (they break logs, exports and the console), and no
 * bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069), which
 * make a name or a file name display in another order than it is ("gpj.exe" shown as "exe.jpg").
 */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `at most ${max} characters`)
    .refine((v) => !CONTROL_CHARACTERS.test(v), CONTROL_CHARACTERS_MESSAGE)
    .refine((v) => !BIDI_CONTROLS.test(v), BIDI_CONTROLS_MESSAGE);

const dateOfBirth = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date as YYYY-MM-DD")
  .refine((v) => {
    const date = new Date(`${v}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(v);
  }, "expected a real calendar date")
  .refine((v) => v >= "1900-01-01" && v <= new Date().toISOString().slice(0, 10), "expected a date in the past")
  .meta({ description: "YYYY-MM-DD; the applicant must be 18 or older to submit" });

const postalAddress = z.object({
  line1: text(200),
  line2: text(200).optional(),
  city: text(100),
  postalCode: text(20),
  region: text(100).optional(),
  country: countryCode,
});

const nationalIdNumber = text(64)
  .regex(/^[A-Za-z0-9 ./-]+$/, "letters, digits, spaces and . / - only")
  .meta({ description: "As printed on the identity document; stored encrypted" });

/** What the applicant fills in. Every field may be left out while drafting; submit needs them all. */
const personalData = z.object({
  firstName: text(100).nullable().optional(),
  lastName: text(100).nullable().optional(),
  dateOfBirth: dateOfBirth.nullable().optional(),
  nationality: countryCode.nullable().optional(),
  countryOfResidence: countryCode.nullable().optional(),
  residencyStatus: z.enum(RESIDENCY_STATUSES).nullable().optional(),
  address: postalAddress.nullable().optional(),
  nationalIdNumber: nationalIdNumber.nullable().optional(),
  taxResidencies: z
    .array(countryCode)
    .min(1, "list at least one country")
    .max(10, "at most 10 countries")
    .refine((list) => new Set(list).size === list.length, "list each country once")
    .nullable()
    .optional()
    .meta({ description: "Countries where the applicant is resident for tax purposes" }),
});

const storedPersonalData = z.object({
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  dateOfBirth: z.string().nullable(),
  nationality: z.string().nullable(),
  countryOfResidence: z.string().nullable(),
  residencyStatus: z.enum(RESIDENCY_STATUSES).nullable(),
  address: z
    .object({
      line1: z.string(),
      line2: z.string().optional(),
      city: z.string(),
      postalCode: z.string(),
      region: z.string().optional(),
      country: z.string(),
    })
    .nullable(),
  nationalIdNumber: z.string().nullable(),
  taxResidencies: z.array(z.string()).nullable(),
});

const kycStatus = z.enum(KYC_STATUSES);

/** An application as its owner (and a reviewer) sees it: personal data decrypted. */
const application = z.object({
  id: z.string(),
  status: kycStatus,
  version: z.number().int().meta({ description: "Send it back with a change to refuse a stale write" }),
  personalData: storedPersonalData,
  /** What is still needed before `submit` is accepted (empty when ready). */
  missing: z.array(z.string()),
  decisionReason: z.string().nullable(),
  submittedAt: isoDateTime.nullable(),
  decidedAt: isoDateTime.nullable(),
  expiresAt: isoDateTime.nullable(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});

/** Where Kit stands in making one of the applicant's wallets eligible to hold Kit's tokens. */
const onchainRegistration = z.object({
  wallet: z.string().meta({ description: "EIP-55 checksummed" }),
  status: z.enum(ONCHAIN_REGISTRATION_STATUSES).meta({
    description:
      "pending: queued or in progress; registered: verified in the identity registry; failed: gave up (an admin may retry); revoked: Kit's claim revoked; recovering: a wallet recovery is moving its registration; recovered: its registration moved to another of the investor's wallets",
  }),
  identity: z.string().nullable().meta({ description: "The wallet's ONCHAINID identity, once created" }),
  claimId: z.string().nullable().meta({ description: "The id of Kit's KYC claim on the identity" }),
  lastTxHash: z.string().nullable().meta({ description: "The last transaction Kit sent for this wallet" }),
  error: z.string().nullable().meta({ description: "Why the last attempt failed or what reconciliation found" }),
  updatedAt: isoDateTime,
});

/** The applicant's own view: the application and its wallets' on-chain status. */
const ownApplication = application.extend({
  onchain: z.array(onchainRegistration).meta({ description: "One entry per linked wallet Kit acted on" }),
});

const saveApplicationInput = personalData.extend({
  version: z.number().int().positive().optional().meta({
    description: "The version you last read; a different current version is refused with CONFLICT",
  }),
});

const documentType = z.enum(DOCUMENT_TYPES);

const kycDocument = z.object({
  id: z.string(),
  type: documentType,
  fileName: z.string(),
  contentType: z.enum(DOCUMENT_CONTENT_TYPES),
  size: z.number().int(),
  sha256: z.string(),
  status: z.enum(["pending", "confirmed"]).meta({ description: "pending until `confirm` has checked the upload" }),
  createdAt: isoDateTime,
  confirmedAt: isoDateTime.nullable(),
});

const fileName = text(200)
  .refine((v) => !/[/\\]/.test(v), "a file name, without folders")
  .meta({ description: "Shown to reviewers and used as the download name" });

const createUploadInput = z.object({
  type: documentType,
  fileName,
  contentType: z.enum(DOCUMENT_CONTENT_TYPES, { message: "JPEG, PNG or PDF only" }),
  size: z
    .number()
    .int("a whole number of bytes")
    .min(1, "the file is empty")
    .max(MAX_DOCUMENT_BYTES, `at most ${MAX_DOCUMENT_BYTES} bytes (10 MiB)`),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "expected the file's SHA-256 as 64 hex digits")
    .transform((v) => v.toLowerCase()),
});

const createdUpload = z.object({
  documentId: z.string(),
  uploadUrl: z.string().meta({ description: "PUT the file's bytes here, with exactly `headers`" }),
  headers: z.record(z.string(), z.string()),
  expiresAt: isoDateTime,
});

const downloadUrl = z.object({
  url: z.string(),
  expiresAt: isoDateTime,
});

const documentIdInput = z.object({ id: id("document") });
const applicationIdInput = z.object({ applicationId: id("application") });

const booleanQuery = z
  .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
  .meta({ description: "true or false" });

export const queueInput = z.object({
  status: kycStatus
    .exclude(["draft"], { message: "expected a status other than draft (drafts are the applicant's own)" })
    .optional()
    .meta({ description: "One status; absent: the open work (submitted and in_review)" }),
  country: countryCode.optional().meta({ description: "Country of residence" }),
  assignedToMe: booleanQuery.optional(),
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
  reason: z.string().nullable(),
  at: isoDateTime,
});

/** A revocation for sanctions or fraud: the applicant's wallets stay frozen on Kit's tokens until it is lifted. */
const freezeCase = z.object({
  applicationId: z.string().meta({ description: "The revoked application" }),
  category: z.enum(FREEZE_CATEGORIES),
  frozenBy: z.string().meta({ description: "The reviewer who revoked" }),
  createdAt: isoDateTime,
  liftedAt: isoDateTime.nullable(),
  liftedBy: z.string().nullable(),
  liftReason: z.string().nullable(),
});

/** Where Kit stands in freezing one wallet on one Kit token (or in lifting that freeze). */
const walletFreeze = z.object({
  wallet: z.string().meta({ description: "EIP-55 checksummed" }),
  token: z.string().meta({ description: "EIP-55 checksummed" }),
  status: z.enum(WALLET_FREEZE_STATUSES).meta({
    description:
      "pending: queued or in progress (either way); frozen: frozen on chain; failed: gave up (reconciliation tries again); unfrozen: Kit's freeze is lifted",
  }),
  frozenBefore: z.boolean().meta({
    description: "The wallet was already frozen on the token when Kit's freeze began; a lift leaves it frozen",
  }),
  lastTxHash: z.string().nullable(),
  error: z.string().nullable(),
  updatedAt: isoDateTime,
});

const freezes = z.object({
  cases: z.array(freezeCase).meta({ description: "Newest first" }),
  wallets: z.array(walletFreeze),
});

const reviewDetail = z.object({
  application,
  applicant: z.object({ id: z.string(), name: z.string(), email: z.string() }),
  reviewerId: z.string().nullable(),
  documents: z.array(kycDocument),
  history: z.array(historyEntry),
  onchain: z.array(onchainRegistration).meta({ description: "The applicant's wallets, as Kit registered them" }),
  freezes: freezes.meta({ description: "The applicant's freeze cases and their wallets' freezes on Kit's tokens" }),
});

const DECISIONS = ["approve", "reject", "request_changes"] as const;

const decideInput = z
  .object({
    applicationId: id("application"),
    decision: z.enum(DECISIONS),
    reason: text(2_000)
      .optional()
      .meta({ description: "Required to reject or request changes; shown to the applicant" }),
    version: z.number().int().positive().optional(),
  })
  .superRefine((input, ctx) => {
    if (input.decision !== "approve" && !input.reason) {
      ctx.addIssue({
        code: "custom",
        path: ["reason"],
        message: `a reason is required to ${input.decision.replace("_", " ")}`,
      });
    }
  });

const revokeInput = z.object({
  applicationId: id("application"),
  reason: text(2_000).meta({ description: "Shown to the applicant" }),
  category: z.enum(REVOCATION_CATEGORIES, { message: "expected sanctions, fraud or other" }).default("other").meta({
    description:
      "sanctions or fraud also freezes every wallet of the applicant on every Kit token, until an admin lifts it",
  }),
});

const liftFreezeInput = z.object({
  applicationId: id("application"),
  reason: text(2_000).meta({ description: "Why the freeze is lifted; kept with the case" }),
});

/** Sent on `kyc:{userId}` and `kyc:queue` (Redis pub/sub) and streamed to subscribers. */
export const statusEvent = z.object({
  applicationId: z.string(),
  status: kycStatus,
  previousStatus: kycStatus.nullable(),
  reviewerId: z.string().nullable(),
  version: z
    .number()
    .int()
    .meta({ description: "The application's version after the change: later changes have higher ones" }),
  at: isoDateTime,
});

export type Application = z.infer<typeof application>;
export type SaveApplicationInput = z.infer<typeof saveApplicationInput>;
export type KycDocument = z.infer<typeof kycDocument>;
export type CreateUploadInput = z.infer<typeof createUploadInput>;
export type CreatedUpload = z.infer<typeof createdUpload>;
export type DownloadUrl = z.infer<typeof downloadUrl>;
export type QueueInput = z.infer<typeof queueInput>;
export type QueuePage = z.infer<typeof queuePage>;
export type ReviewDetail = z.infer<typeof reviewDetail>;
export type DecideInput = z.infer<typeof decideInput>;
export type RevokeInput = z.infer<typeof revokeInput>;
export type StatusEvent = z.infer<typeof statusEvent>;
export type OnchainRegistration = z.infer<typeof onchainRegistration>;
export type LiftFreezeInput = z.infer<typeof liftFreezeInput>;
export type Freezes = z.infer<typeof freezes>;
export type OwnApplication = z.infer<typeof ownApplication>;

const submit = { kyc: ["submit" as const] };
// Reading your own application, documents and status: a key grant of its own (the role needs submit).
const readOwn = { kyc: ["read" as const] };
const review = { kyc: ["review" as const] };
const decide = { kyc: ["decide" as const] };
const readAnyDocument = { kyc: ["review" as const], documents: ["read_any" as const] };
const manageOnchain = { kyc: ["manage_onchain" as const] };
const liftFreezes = { kyc: ["lift_freeze" as const] };

export const kycContract = {
  application: {
    get: base
      .route({ method: "GET", path: "/kyc/application", tags: ["kyc"], summary: "Your current KYC application" })
      .meta({ permission: submit, keyGrant: readOwn })
      .output(ownApplication.nullable().meta({ description: "Null until you save a first draft" })),
    save: base
      .route({
        method: "PUT",
        path: "/kyc/application",
        tags: ["kyc"],
        summary: "Save your draft (starts one if you have none open); fields left out are cleared",
      })
      .meta({ permission: submit, keyGrant: submit })
      .input(saveApplicationInput)
      .output(application),
    submit: base
      .route({
        method: "POST",
        path: "/kyc/application/submit",
        tags: ["kyc"],
        summary: "Send your application for review",
      })
      .meta({ permission: submit, keyGrant: submit })
      // The body is optional: a plain POST submits whatever version is current.
      .input(z.object({ version: z.number().int().positive().optional() }).optional())
      .output(application),
  },
  documents: {
    list: base
      .route({ method: "GET", path: "/kyc/documents", tags: ["kyc"], summary: "Documents of your current application" })
      .meta({ permission: submit, keyGrant: readOwn })
      .output(z.array(kycDocument)),
    createUpload: base
      .route({
        method: "POST",
        path: "/kyc/documents",
        tags: ["kyc"],
        summary: "Start a document upload: returns a presigned PUT URL valid 15 minutes",
      })
      .meta({ permission: submit, keyGrant: submit, rateLimit: "kyc.uploads" })
      .input(createUploadInput)
      .output(createdUpload),
    confirm: base
      .route({
        method: "POST",
        path: "/kyc/documents/{id}/confirm",
        tags: ["kyc"],
        summary: "Check the uploaded file against what was declared (size, type, SHA-256)",
      })
      .meta({ permission: submit, keyGrant: submit, rateLimit: "kyc.uploads" })
      .input(documentIdInput)
      .output(kycDocument),
    remove: base
      .route({
        method: "DELETE",
        path: "/kyc/documents/{id}",
        tags: ["kyc"],
        summary: "Remove a document while the application is editable",
      })
      .meta({ permission: submit, keyGrant: submit })
      .input(documentIdInput)
      .output(z.object({ id: z.string() })),
    downloadUrl: base
      .route({
        method: "GET",
        path: "/kyc/documents/{id}/url",
        tags: ["kyc"],
        summary: "A download URL for one of your documents, valid 15 minutes",
      })
      .meta({ permission: submit, keyGrant: readOwn, rateLimit: "kyc.document-urls" })
      .input(documentIdInput)
      .output(downloadUrl),
  },
  events: base
    .route({
      method: "GET",
      path: "/kyc/events",
      tags: ["kyc"],
      summary: "Your application's status changes, as server-sent events (the current status first)",
    })
    .meta({ permission: submit, keyGrant: readOwn })
    .output(eventIterator(statusEvent)),
  review: {
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
      .meta({ permission: review, keyGrant: review, rateLimit: "kyc.application-reads" })
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
      .meta({ permission: review, keyGrant: review, rateLimit: "kyc.application-reads" })
      .input(applicationIdInput)
      .output(application),
    decide: base
      .route({
        method: "POST",
        path: "/kyc/review/{applicationId}/decision",
        tags: ["kyc review"],
        summary: "Approve, reject, or request changes on an application you have claimed",
      })
      .meta({ permission: decide, keyGrant: decide })
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
      .meta({ permission: decide, keyGrant: decide })
      .input(revokeInput)
      .output(application),
    documentUrl: base
      .route({
        method: "GET",
        path: "/kyc/review/documents/{documentId}/url",
        tags: ["kyc review"],
        summary: "A download URL for any applicant's document, valid 15 minutes; every call is logged",
      })
      .meta({ permission: readAnyDocument, keyGrant: readAnyDocument, rateLimit: "kyc.document-urls" })
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
  },
  onchain: {
    retry: base
      .route({
        method: "POST",
        path: "/kyc/onchain/{wallet}/retry",
        tags: ["kyc onchain"],
        summary: "Queue a failed on-chain registration (or revocation) of a wallet again",
      })
      .meta({ permission: manageOnchain, keyGrant: manageOnchain })
      .input(z.object({ wallet: evmAddress("wallet") }))
      .output(onchainRegistration),
    liftFreeze: base
      .route({
        method: "POST",
        path: "/kyc/onchain/freezes/{applicationId}/lift",
        tags: ["kyc onchain"],
        summary: "Lift the freeze a sanctions or fraud revocation put on the applicant's wallets (with a reason)",
      })
      .meta({ permission: liftFreezes, keyGrant: liftFreezes })
      .input(liftFreezeInput)
      .output(freezes),
  },
};
