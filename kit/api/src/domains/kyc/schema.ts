// KYC records. The status graph, the append-only history and document access log, and the rule of
// one open application per user are enforced by the database too (triggers and indexes in the
// migration), so no code path can get around them. National id and date of birth are AES-256-GCM
// ciphertext under the application's own data key (kyc_data_keys, wrapped by the master key:
// data-keys.ts); `pii_key_id` says so (`data-key`), or names the master key of a row written before.
import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { user } from "../auth/schema";
import {
  CLOSED_STATUSES,
  DOCUMENT_CONTENT_TYPES,
  DOCUMENT_FEEDBACK_LABELS,
  DOCUMENT_TYPES,
  type DocumentFeedbackLabel,
  type DocumentType,
  FREEZE_CATEGORIES,
  type FreezeCategory,
  KYC_STATUSES,
  type KycStatus,
  MAX_DOCUMENT_BYTES,
  ONCHAIN_REGISTRATION_STATUSES,
  type OnchainRegistrationStatus,
  REJECTION_LABELS,
  RESIDENCY_STATUSES,
  type RejectionLabel,
  RISK_LEVELS,
  type RiskLevel,
  WALLET_FREEZE_STATUSES,
  type WalletFreezeStatus,
} from "./contract-values";

export const at = (name: string) => timestamp(name, { withTimezone: true });
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

export interface PostalAddress {
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  region?: string;
  /** ISO 3166-1 alpha-2 */
  country: string;
}

/** What an erased application keeps in place of a free text a constraint requires (a reason). */
export const ERASED_TEXT = "[erased]";

const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const kycApplications = pgTable(
  "kyc_applications",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    // No cascade: a regulated record outlives the account it belongs to.
    userId: text("user_id")
      .notNull()
      .references(() => user.id),
    status: text("status").$type<KycStatus>().notNull().default("draft"),
    firstName: text("first_name"),
    lastName: text("last_name"),
    /** ISO 3166-1 alpha-2 codes. */
    nationality: text("nationality"),
    countryOfResidence: text("country_of_residence"),
    residencyStatus: text("residency_status").$type<(typeof RESIDENCY_STATUSES)[number]>(),
    address: jsonb("address").$type<PostalAddress>(),
    /** Countries where the applicant is resident for tax purposes (ISO 3166-1 alpha-2). */
    taxResidencies: text("tax_residencies").array(),
    dateOfBirthEncrypted: bytea("date_of_birth_encrypted"),
    nationalIdEncrypted: bytea("national_id_encrypted"),
    /**
     * The key that encrypted this row's personal data: `data-key` (the application's, in
     * kyc_data_keys), or the id of the master key itself (kyc/crypto.ts keyId) for rows written
     * before envelope encryption, until the kyc.reencrypt-pii job moves them.
     */
    piiKeyId: text("pii_key_id"),
    reviewerId: text("reviewer_id").references(() => user.id),
    claimedAt: at("claimed_at"),
    submittedAt: at("submitted_at"),
    decidedAt: at("decided_at"),
    expiresAt: at("expires_at"),
    /**
     * What the reviewer chose to tell the applicant about the last decision (`messageToApplicant`;
     * the column keeps its older name). The only decision text the applicant ever sees.
     */
    decisionReason: text("decision_reason"),
    /** The reviewer's internal note on the last decision: reviewers only, never the applicant. */
    internalNote: text("internal_note"),
    /** The labels of the last rejection or request for changes (reviewers only). */
    rejectionLabels: text("rejection_labels").array().$type<RejectionLabel[]>(),
    /** A final rejection: the user may start no new application until an admin lifts the block. */
    rejectionFinal: boolean("rejection_final").notNull().default(false),
    blockLiftedAt: at("block_lifted_at"),
    blockLiftedBy: text("block_lifted_by").references(() => user.id),
    blockLiftReason: text("block_lift_reason"),
    /** The reviewer's risk assessment, with its reason; `high` needs two approvals. */
    riskLevel: text("risk_level").$type<RiskLevel>(),
    riskReason: text("risk_reason"),
    riskSetBy: text("risk_set_by").references(() => user.id),
    riskSetAt: at("risk_set_at"),
    /** Two-person approval: how many approvals the application needs (fixed at the first one), and who gave it. */
    approvalsRequired: integer("approvals_required"),
    firstApproverId: text("first_approver_id").references(() => user.id),
    firstApprovedAt: at("first_approved_at"),
    /**
     * Erased (domains/kyc/erasure.ts): every personal field cleared, free texts replaced; only the
     * pseudonymous record (statuses, dates, labels, actors' ids) is left. Final: a trigger refuses
     * any later change of the row.
     */
    erasedAt: at("erased_at"),
    /** Bumped by every change; callers may send the version they saw (optimistic concurrency). */
    version: integer("version").notNull().default(1),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [
    check("kyc_applications_status_check", sql`${table.status} in (${sqlList(KYC_STATUSES)})`),
    check(
      "kyc_applications_residency_check",
      sql`${table.residencyStatus} is null or ${table.residencyStatus} in (${sqlList(RESIDENCY_STATUSES)})`,
    ),
    check(
      "kyc_applications_pii_key_check",
      sql`(${table.dateOfBirthEncrypted} is null and ${table.nationalIdEncrypted} is null) or ${table.piiKeyId} is not null`,
    ),
    check(
      "kyc_applications_risk_check",
      sql`${table.riskLevel} is null or ${table.riskLevel} in (${sqlList(RISK_LEVELS)})`,
    ),
    check("kyc_applications_risk_reason_check", sql`(${table.riskLevel} is null) = (${table.riskReason} is null)`),
    check(
      "kyc_applications_labels_check",
      sql`${table.rejectionLabels} is null or ${table.rejectionLabels} <@ array[${sqlList(REJECTION_LABELS)}]::text[]`,
    ),
    check("kyc_applications_final_check", sql`not ${table.rejectionFinal} or ${table.status} = 'rejected'`),
    check(
      "kyc_applications_block_lift_check",
      sql`(${table.blockLiftedAt} is null) = (${table.blockLiftedBy} is null) and (${table.blockLiftedAt} is null) = (${table.blockLiftReason} is null) and (${table.blockLiftedAt} is null or ${table.rejectionFinal})`,
    ),
    check(
      "kyc_applications_pending_check",
      sql`${table.status} <> 'approval_pending' or ${table.firstApproverId} is not null`,
    ),
    // An erased application keeps no personal field and no free text (ERASED_TEXT stands in where a
    // constraint wants one).
    check(
      "kyc_applications_erased_check",
      sql`${table.erasedAt} is null or (${table.firstName} is null and ${table.lastName} is null and ${table.nationality} is null and ${table.countryOfResidence} is null and ${table.residencyStatus} is null and ${table.address} is null and ${table.taxResidencies} is null and ${table.dateOfBirthEncrypted} is null and ${table.nationalIdEncrypted} is null and ${table.piiKeyId} is null and ${table.decisionReason} is null and ${table.internalNote} is null and (${table.riskReason} is null or ${table.riskReason} = ${sql.raw(`'${ERASED_TEXT}'`)}) and (${table.blockLiftReason} is null or ${table.blockLiftReason} = ${sql.raw(`'${ERASED_TEXT}'`)}))`,
    ),
    check(
      "kyc_applications_approved_check",
      sql`${table.status} <> 'approved' or (${table.expiresAt} is not null and ${table.decidedAt} is not null)`,
    ),
    // One open application per user; a new one may start once the last is rejected, expired or
    // revoked, or its draft was erased.
    uniqueIndex("kyc_applications_open_per_user_idx")
      .on(table.userId)
      .where(sql`${table.status} not in (${sqlList(CLOSED_STATUSES)}) and ${table.erasedAt} is null`),
    index("kyc_applications_user_idx").on(table.userId, table.createdAt),
    // The reviewer queue: by status, oldest first, with the id as tie-breaker for the cursor.
    index("kyc_applications_queue_idx").on(table.status, table.submittedAt, table.id),
    index("kyc_applications_reviewer_idx").on(table.reviewerId, table.status, table.submittedAt, table.id),
    index("kyc_applications_country_idx").on(table.countryOfResidence, table.status, table.submittedAt, table.id),
    index("kyc_applications_name_search_idx").using(
      "gin",
      sql`(lower(coalesce(${table.firstName}, '') || ' ' || coalesce(${table.lastName}, ''))) gin_trgm_ops`,
    ),
    // The final rejections still in force: a user listed here may start no new application.
    index("kyc_applications_blocked_idx")
      .on(table.userId)
      .where(sql`${table.rejectionFinal} and ${table.blockLiftedAt} is null`),
    index("kyc_applications_expiry_idx").on(table.expiresAt).where(sql`${table.status} = 'approved'`),
    // The retention job's candidates: applications not yet erased, by status and last change.
    index("kyc_applications_retention_idx").on(table.status, table.updatedAt).where(sql`${table.erasedAt} is null`),
  ],
);

export const kycDocuments = pgTable(
  "kyc_documents",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    applicationId: uuid("application_id")
      .notNull()
      .references(() => kycApplications.id),
    type: text("type").$type<DocumentType>().notNull(),
    /** `{applicationId}/{type}/{id}` in the kyc-documents bucket. */
    bucketKey: text("bucket_key").notNull().unique(),
    fileName: text("file_name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    /** Hex SHA-256 the uploader declared; `confirm` checks the stored bytes against it. */
    sha256: text("sha256").notNull(),
    /**
     * The object at bucket_key is AES-256-GCM ciphertext under the application's data key
     * (document-seal.ts); false: the uploaded bytes themselves (unconfirmed, or confirmed before).
     */
    encrypted: boolean("encrypted").notNull().default(false),
    createdAt: at("created_at").notNull().defaultNow(),
    confirmedAt: at("confirmed_at"),
    /**
     * Set before the object is deleted: the row is gone from every answer from then on, and the
     * clean-up job finishes the removal (object first, then row) if this attempt fails half-way.
     */
    deletingAt: at("deleting_at"),
    /** Per-document feedback: a reviewer rejected this document (shown to the applicant, who replaces it). */
    feedbackLabel: text("feedback_label").$type<DocumentFeedbackLabel>(),
    feedbackMessage: text("feedback_message"),
    feedbackBy: text("feedback_by").references(() => user.id),
    feedbackAt: at("feedback_at"),
  },
  (table) => [
    check(
      "kyc_documents_feedback_check",
      sql`(${table.feedbackLabel} is null or ${table.feedbackLabel} in (${sqlList(DOCUMENT_FEEDBACK_LABELS)})) and (${table.feedbackLabel} is null) = (${table.feedbackBy} is null) and (${table.feedbackLabel} is null) = (${table.feedbackAt} is null)`,
    ),
    check("kyc_documents_type_check", sql`${table.type} in (${sqlList(DOCUMENT_TYPES)})`),
    check("kyc_documents_content_type_check", sql`${table.contentType} in (${sqlList(DOCUMENT_CONTENT_TYPES)})`),
    check("kyc_documents_size_check", sql`${table.size} between 1 and ${sql.raw(String(MAX_DOCUMENT_BYTES))}`),
    check("kyc_documents_sha256_check", sql`${table.sha256} ~ '^[0-9a-f]{64}$'`),
    index("kyc_documents_application_idx").on(table.applicationId, table.createdAt),
    index("kyc_documents_unconfirmed_idx")
      .on(table.createdAt)
      .where(sql`${table.confirmedAt} is null or ${table.deletingAt} is not null`),
  ],
);

/** Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE. */
export const kycStatusHistory = pgTable(
  "kyc_status_history",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    applicationId: uuid("application_id")
      .notNull()
      .references(() => kycApplications.id),
    /** Null for the row that records the application's creation. */
    fromStatus: text("from_status").$type<KycStatus>(),
    toStatus: text("to_status").$type<KycStatus>().notNull(),
    /** Null when Kit itself acted (expiry). */
    actorId: text("actor_id").references(() => user.id),
    /** The internal note (reviewers only); Kit's own words for its changes (expiry). */
    reason: text("reason"),
    /** What the applicant was told with this change, if anything. */
    messageToApplicant: text("message_to_applicant"),
    /** Rejection or request-for-changes labels (reviewers only). */
    labels: text("labels").array().$type<RejectionLabel[]>(),
    /** A final rejection (no new application until an admin lifts the block). */
    final: boolean("final"),
    at: at("at").notNull().defaultNow(),
  },
  (table) => [index("kyc_status_history_application_idx").on(table.applicationId, table.id)],
);

/**
 * What a row of the access log records: a document download URL handed out, or a reviewer's
 * answer carrying an application's decrypted personal data.
 */
export const ACCESS_KINDS = ["document_url", "application_view"] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

/**
 * Append-only: every read of an applicant's personal data by someone — who, what, when, from
 * where. (The table's name predates application views: it logs those too.)
 */
export const kycDocumentAccess = pgTable(
  "kyc_document_access",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    kind: text("kind").$type<AccessKind>().notNull().default("document_url"),
    // No foreign key to the document: the record of an access outlives a document removed later.
    /** The document whose URL was handed out; null for an application view. */
    documentId: uuid("document_id"),
    applicationId: uuid("application_id")
      .notNull()
      .references(() => kycApplications.id),
    userId: text("user_id")
      .notNull()
      .references(() => user.id),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    at: at("at").notNull().defaultNow(),
  },
  (table) => [
    check("kyc_document_access_kind_check", sql`${table.kind} in (${sqlList(ACCESS_KINDS)})`),
    check(
      "kyc_document_access_document_check",
      sql`(${table.kind} = 'document_url') = (${table.documentId} is not null)`,
    ),
    index("kyc_document_access_document_idx").on(table.documentId, table.at),
    index("kyc_document_access_application_idx").on(table.applicationId, table.at),
    index("kyc_document_access_user_idx").on(table.userId, table.at),
  ],
);

/**
 * One row per wallet and chain: where Kit stands in making the wallet eligible (ONCHAINID identity,
 * Kit's KYC claim, identity-registry entry) or in taking that back. The chain is the truth; the
 * eligibility jobs (kyc/onchain-register.ts, onchain-revoke.ts) read it first and record here what they did.
 */
export const kycOnchainRegistrations = pgTable(
  "kyc_onchain_registrations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** The application whose approval (or its end) the row last acted on. */
    applicationId: uuid("application_id")
      .notNull()
      .references(() => kycApplications.id),
    userId: text("user_id")
      .notNull()
      .references(() => user.id),
    /** Lowercase 0x address. */
    wallet: text("wallet").notNull(),
    chainId: integer("chain_id").notNull(),
    /** The wallet's ONCHAINID identity, once known (it stays after a revocation). */
    identityAddress: text("identity_address"),
    /** keccak256(abi.encode(claim issuer, topic)): the id of Kit's KYC claim on the identity. */
    claimId: text("claim_id"),
    /** ISO 3166-1 numeric, from the application's country of residence. */
    country: integer("country").notNull(),
    status: text("status").$type<OnchainRegistrationStatus>().notNull().default("pending"),
    lastTxHash: text("last_tx_hash"),
    /** Short, for operators: never a key, a signature or a raw RPC payload. */
    error: text("error"),
    /** Tries of the current job (reset when a new registration or revocation is queued). */
    attempts: integer("attempts").notNull().default(0),
    registeredAt: at("registered_at"),
    revokedAt: at("revoked_at"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [
    check(
      "kyc_onchain_registrations_status_check",
      sql`${table.status} in (${sqlList(ONCHAIN_REGISTRATION_STATUSES)})`,
    ),
    check("kyc_onchain_registrations_wallet_check", sql`${table.wallet} ~ '^0x[0-9a-f]{40}$'`),
    check("kyc_onchain_registrations_country_check", sql`${table.country} between 0 and 999`),
    uniqueIndex("kyc_onchain_registrations_wallet_idx").on(table.chainId, table.wallet),
    index("kyc_onchain_registrations_user_idx").on(table.userId),
    index("kyc_onchain_registrations_application_idx").on(table.applicationId),
    index("kyc_onchain_registrations_status_idx").on(table.status, table.updatedAt),
  ],
);

/**
 * A freeze case: a revocation for sanctions or fraud. While a case of a user is not lifted, every
 * wallet of theirs is frozen on every Kit token (kyc/freezes.ts); only an admin lifts it, with a
 * reason. A trigger keeps the record: rows are never deleted, and an update may only lift.
 */
export const kycFreezes = pgTable(
  "kyc_freezes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** The revoked application: one case per revocation. */
    applicationId: uuid("application_id")
      .notNull()
      .unique()
      .references(() => kycApplications.id),
    userId: text("user_id")
      .notNull()
      .references(() => user.id),
    category: text("category").$type<FreezeCategory>().notNull(),
    /** The reviewer who revoked. */
    frozenBy: text("frozen_by")
      .notNull()
      .references(() => user.id),
    createdAt: at("created_at").notNull().defaultNow(),
    liftedAt: at("lifted_at"),
    liftedBy: text("lifted_by").references(() => user.id),
    liftReason: text("lift_reason"),
  },
  (table) => [
    check("kyc_freezes_category_check", sql`${table.category} in (${sqlList(FREEZE_CATEGORIES)})`),
    check(
      "kyc_freezes_lifted_check",
      sql`(${table.liftedAt} is null) = (${table.liftedBy} is null) and (${table.liftedAt} is null) = (${table.liftReason} is null)`,
    ),
    index("kyc_freezes_active_idx").on(table.userId).where(sql`${table.liftedAt} is null`),
  ],
);

/**
 * One row per wallet and Kit token that a freeze case touched: where Kit stands in freezing the
 * wallet there (T-REX `setAddressFrozen`, as the token's agent) or in lifting that freeze. The chain
 * is the truth: the job reads `isFrozen` first and records here what it did.
 */
export const kycWalletFreezes = pgTable(
  "kyc_wallet_freezes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** The case the row last acted on. */
    freezeId: uuid("freeze_id")
      .notNull()
      .references(() => kycFreezes.id),
    userId: text("user_id")
      .notNull()
      .references(() => user.id),
    chainId: integer("chain_id").notNull(),
    /** Lowercase 0x addresses. */
    wallet: text("wallet").notNull(),
    token: text("token").notNull(),
    status: text("status").$type<WalletFreezeStatus>().notNull().default("pending"),
    /**
     * The wallet was already frozen on this token when Kit's freeze began (by its issuer, for a
     * reason of their own): lifting Kit's freeze leaves it frozen.
     */
    frozenBefore: boolean("frozen_before").notNull().default(false),
    lastTxHash: text("last_tx_hash"),
    /** Short, for operators: never a key, a signature or a raw RPC payload. */
    error: text("error"),
    /** Tries of the current job. */
    attempts: integer("attempts").notNull().default(0),
    frozenAt: at("frozen_at"),
    unfrozenAt: at("unfrozen_at"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [
    check("kyc_wallet_freezes_status_check", sql`${table.status} in (${sqlList(WALLET_FREEZE_STATUSES)})`),
    check("kyc_wallet_freezes_wallet_check", sql`${table.wallet} ~ '^0x[0-9a-f]{40}$'`),
    check("kyc_wallet_freezes_token_check", sql`${table.token} ~ '^0x[0-9a-f]{40}$'`),
    uniqueIndex("kyc_wallet_freezes_wallet_token_idx").on(table.chainId, table.wallet, table.token),
    index("kyc_wallet_freezes_user_idx").on(table.userId),
    index("kyc_wallet_freezes_freeze_idx").on(table.freezeId),
  ],
);

// Erasure requests live in their own file (this one is long); drizzle-kit reads them through here.
export { kycErasureRequests } from "./erasure-schema";
