// The fixed values of KYC's contract — statuses, document types, categories, limits — shared with
// its tables (schema.ts CHECKs them). Plain constants, no import: the client reads the contract.
export const KYC_STATUSES = [
  "draft",
  "submitted",
  "in_review",
  "approval_pending",
  "approved",
  "rejected",
  "changes_requested",
  "expired",
  "revoked",
] as const;
export type KycStatus = (typeof KYC_STATUSES)[number];

/** Statuses after which the user may start a new application. */
export const CLOSED_STATUSES = ["rejected", "expired", "revoked"] as const satisfies readonly KycStatus[];

export const RESIDENCY_STATUSES = ["citizen", "permanent_resident", "temporary_resident", "non_resident"] as const;

export const DOCUMENT_TYPES = [
  "passport",
  "national_id",
  "driving_licence",
  "proof_of_address",
  "selfie",
  "other",
] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export const DOCUMENT_CONTENT_TYPES = ["image/jpeg", "image/png", "application/pdf"] as const;
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/**
 * `recovering`: a wallet recovery (token operations) is moving the wallet's registration, and the
 * eligibility jobs leave it alone until it ends; `recovered`: the registration (its identity) moved
 * to another wallet of the same investor, for good: Kit never registers the lost wallet again.
 */
export const ONCHAIN_REGISTRATION_STATUSES = [
  "pending",
  "registered",
  "failed",
  "revoked",
  "recovering",
  "recovered",
] as const;
export type OnchainRegistrationStatus = (typeof ONCHAIN_REGISTRATION_STATUSES)[number];
/** Rows no eligibility job acts on: a wallet recovery holds them, or moved their registration away. */
export const RECOVERY_STATUSES = ["recovering", "recovered"] as const satisfies readonly OnchainRegistrationStatus[];

/** Why an approval was revoked; sanctions and fraud freeze the user's wallets on Kit's tokens. */
export const REVOCATION_CATEGORIES = ["sanctions", "fraud", "other"] as const;
export type RevocationCategory = (typeof REVOCATION_CATEGORIES)[number];
export const FREEZE_CATEGORIES = ["sanctions", "fraud"] as const satisfies readonly RevocationCategory[];
export type FreezeCategory = (typeof FREEZE_CATEGORIES)[number];

export const WALLET_FREEZE_STATUSES = ["pending", "frozen", "failed", "unfrozen"] as const;
export type WalletFreezeStatus = (typeof WALLET_FREEZE_STATUSES)[number];

/**
 * Why an application was rejected (or changes were asked for): a fixed list, several per decision.
 * Reviewers' vocabulary only: the applicant never sees the labels (a `sanctions_pep_match` shown to
 * them would tip them off); they read the reviewer's `messageToApplicant`.
 */
export const REJECTION_LABELS = [
  "document_expired",
  "document_unreadable",
  "document_missing",
  "data_mismatch",
  "selfie_mismatch",
  "sanctions_pep_match",
  "adverse_media",
  "suspected_fraud",
  "underage",
  "unsupported_country",
  "duplicate_account",
  "other",
] as const;
export type RejectionLabel = (typeof REJECTION_LABELS)[number];

/**
 * What a reviewer may say of one document they reject (per-document feedback): the applicant sees
 * it, with the reviewer's message, and replaces just that document.
 */
export const DOCUMENT_FEEDBACK_LABELS = [
  "document_expired",
  "document_unreadable",
  "data_mismatch",
  "selfie_mismatch",
  "other",
] as const satisfies readonly RejectionLabel[];
export type DocumentFeedbackLabel = (typeof DOCUMENT_FEEDBACK_LABELS)[number];

/** The reviewer's assessment of an application; `high` always needs a second approver. */
export const RISK_LEVELS = ["low", "medium", "high"] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** An erasure request: open until an admin approves or refuses it, or its user withdraws it. */
export const ERASURE_REQUEST_STATUSES = ["open", "approved", "refused", "withdrawn"] as const;
export type ErasureRequestStatus = (typeof ERASURE_REQUEST_STATUSES)[number];
