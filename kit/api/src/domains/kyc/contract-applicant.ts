// The applicant's part of the KYC contract: their application, their documents, their status stream.
import { eventIterator } from "@orpc/contract";
import { z } from "zod";
import { countryCode, isoDateTime } from "../../contract-fields";
import { base } from "../../rpc/base";
import {
  application,
  documentType,
  downloadUrl,
  id,
  kycDocument,
  onchainRegistration,
  onchainStatusEvent,
  statusEvent,
  text,
} from "./contract-shapes";
import { DOCUMENT_CONTENT_TYPES, MAX_DOCUMENT_BYTES, RESIDENCY_STATUSES } from "./contract-values";

/** A change of the applicant's own application: who reviews it is the reviewers' business. */
const ownStatusEvent = statusEvent.omit({ reviewerId: true });

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

/** The applicant's own view: the application and its wallets' on-chain status. */
const ownApplication = application.extend({
  onchain: z.array(onchainRegistration).meta({ description: "One entry per linked wallet Kit acted on" }),
});

const saveApplicationInput = personalData.extend({
  version: z.number().int().positive().optional().meta({
    description: "The version you last read; a different current version is refused with CONFLICT",
  }),
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

const documentIdInput = z.object({ id: id("document") });

const submit = { kyc: ["submit" as const] };
// Reading your own application, documents and status: a key grant of its own (the role needs submit).
const readOwn = { kyc: ["read" as const] };

export const applicantContract = {
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
      .meta({ permission: submit, keyGrant: submit, errors: ["CONFLICT", "FORBIDDEN"] })
      .input(saveApplicationInput)
      .output(application),
    submit: base
      .route({
        method: "POST",
        path: "/kyc/application/submit",
        tags: ["kyc"],
        summary: "Send your application for review",
      })
      .meta({ permission: submit, keyGrant: submit, errors: ["CONFLICT", "PRECONDITION_FAILED"] })
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
      .meta({
        permission: submit,
        keyGrant: submit,
        rateLimit: "kyc.uploads",
        errors: ["CONFLICT", "PRECONDITION_FAILED"],
      })
      .input(createUploadInput)
      .output(createdUpload),
    confirm: base
      .route({
        method: "POST",
        path: "/kyc/documents/{id}/confirm",
        tags: ["kyc"],
        summary: "Check the uploaded file against what was declared (size, type, SHA-256)",
      })
      .meta({
        permission: submit,
        keyGrant: submit,
        rateLimit: "kyc.uploads",
        errors: ["NOT_FOUND", "CONFLICT", "PRECONDITION_FAILED"],
      })
      .input(documentIdInput)
      .output(kycDocument),
    remove: base
      .route({
        method: "DELETE",
        path: "/kyc/documents/{id}",
        tags: ["kyc"],
        summary: "Remove a document while the application is editable",
      })
      .meta({ permission: submit, keyGrant: submit, errors: ["NOT_FOUND", "CONFLICT"] })
      .input(documentIdInput)
      .output(z.object({ id: z.string() })),
    downloadUrl: base
      .route({
        method: "GET",
        path: "/kyc/documents/{id}/url",
        tags: ["kyc"],
        summary: "A download URL for one of your documents, valid 15 minutes",
      })
      .meta({
        permission: submit,
        keyGrant: readOwn,
        rateLimit: "kyc.document-urls",
        errors: ["NOT_FOUND", "PRECONDITION_FAILED"],
      })
      .input(documentIdInput)
      .output(downloadUrl),
  },
  events: base
    .route({
      method: "GET",
      path: "/kyc/events",
      tags: ["kyc"],
      summary:
        "Your application's status changes and your wallets' on-chain status, as server-sent events (the current state first)",
    })
    .meta({ permission: submit, keyGrant: readOwn })
    .output(eventIterator(z.union([ownStatusEvent, onchainStatusEvent]))),
};

export type SaveApplicationInput = z.infer<typeof saveApplicationInput>;
export type CreateUploadInput = z.infer<typeof createUploadInput>;
export type CreatedUpload = z.infer<typeof createdUpload>;
export type OwnApplication = z.infer<typeof ownApplication>;
export type OwnStatusEvent = z.infer<typeof ownStatusEvent>;
