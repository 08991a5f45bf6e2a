// What more than one audience of the KYC contract sees: the application, its documents, the
// on-chain and freeze records, and the status event.
import { z } from "zod";
import { isoDateTime } from "../../contract-fields";
import {
  BIDI_CONTROLS,
  BIDI_CONTROLS_MESSAGE,
  CONTROL_CHARACTERS,
  CONTROL_CHARACTERS_MESSAGE,
} from "../../display-text";
import {
  DOCUMENT_CONTENT_TYPES,
  DOCUMENT_FEEDBACK_LABELS,
  DOCUMENT_TYPES,
  FREEZE_CATEGORIES,
  KYC_STATUSES,
  ONCHAIN_REGISTRATION_STATUSES,
  RESIDENCY_STATUSES,
  WALLET_FREEZE_STATUSES,
} from "./contract-values";

export const id = (what: string) => z.uuid({ message: `expected the ${what} id (a UUID)` });

/**
 * Printable text: no control characters (they break logs, exports and the console), and no
 * bidirectional embedding, override or isolate characters (U+202A–U+202E, U+2066–U+2069), which
 * make a name or a file name display in another order than it is ("gpj.exe" shown as "exe.jpg").
 */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `at most ${max} characters`)
    .refine((v) => !CONTROL_CHARACTERS.test(v), CONTROL_CHARACTERS_MESSAGE)
    .refine((v) => !BIDI_CONTROLS.test(v), BIDI_CONTROLS_MESSAGE);

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

export const kycStatus = z.enum(KYC_STATUSES);

/** An application as its owner (and a reviewer) sees it: personal data decrypted. */
export const application = z.object({
  id: z.string(),
  status: kycStatus,
  version: z.number().int().meta({ description: "Send it back with a change to refuse a stale write" }),
  personalData: storedPersonalData,
  /** What is still needed before `submit` is accepted (empty when ready). */
  missing: z.array(z.string()),
  messageToApplicant: z
    .string()
    .nullable()
    .meta({ description: "What the reviewer chose to tell the applicant about the last decision" }),
  decisionReason: z
    .string()
    .nullable()
    .meta({ description: "Deprecated: the same as messageToApplicant", deprecated: true }),
  submittedAt: isoDateTime.nullable(),
  decidedAt: isoDateTime.nullable(),
  expiresAt: isoDateTime.nullable(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});

/** Where Kit stands in making one of the applicant's wallets eligible to hold Kit's tokens. */
export const onchainRegistration = z.object({
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

export const documentType = z.enum(DOCUMENT_TYPES);

export const kycDocument = z.object({
  id: z.string(),
  type: documentType,
  fileName: z.string(),
  contentType: z.enum(DOCUMENT_CONTENT_TYPES),
  size: z.number().int(),
  sha256: z.string(),
  status: z.enum(["pending", "confirmed"]).meta({ description: "pending until `confirm` has checked the upload" }),
  createdAt: isoDateTime,
  confirmedAt: isoDateTime.nullable(),
  feedback: z
    .object({ label: z.enum(DOCUMENT_FEEDBACK_LABELS), message: z.string().nullable(), at: isoDateTime })
    .nullable()
    .meta({ description: "A reviewer rejected this document: replace it (remove it, upload another)" }),
});

export const downloadUrl = z.object({
  url: z.string(),
  expiresAt: isoDateTime,
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

export const freezes = z.object({
  cases: z.array(freezeCase).meta({ description: "Newest first" }),
  wallets: z.array(walletFreeze),
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

/**
 * Sent on `kyc:{userId}` only: where the applicant's wallets stand on chain, all of them, as the
 * applicant sees them (no operator error text), whenever an eligibility job ends.
 */
export const onchainStatusEvent = z.object({
  onchain: z.array(onchainRegistration).meta({ description: "Every wallet Kit acted on, oldest first" }),
  at: isoDateTime,
});

/** What travels on the KYC channels: status changes, and (own channel only) on-chain snapshots. */
export const kycChannelMessage = z.union([statusEvent, onchainStatusEvent]);

export type Application = z.infer<typeof application>;
export type KycDocument = z.infer<typeof kycDocument>;
export type DownloadUrl = z.infer<typeof downloadUrl>;
export type StatusEvent = z.infer<typeof statusEvent>;
export type OnchainStatusEvent = z.infer<typeof onchainStatusEvent>;
export type KycChannelMessage = z.infer<typeof kycChannelMessage>;
export type OnchainRegistration = z.infer<typeof onchainRegistration>;
export type Freezes = z.infer<typeof freezes>;
