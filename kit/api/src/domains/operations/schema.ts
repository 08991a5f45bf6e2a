// Token operations: the durable outbox every chain transaction of a token's servicing goes through.
// An operation is recorded (with its idempotency key) before anything is sent; the sender stores the
// signed transaction, its hash and nonce BEFORE broadcasting it, so a crash at any point resumes
// from the row without a second send (sender.ts). The status history is append-only (a trigger in
// the migration refuses UPDATE, DELETE and TRUNCATE). Addresses and hashes are lowercase 0x-hex.
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { user } from "../auth/schema";
import {
  type AnyOperationKind,
  ELIGIBILITY_KINDS,
  OPERATION_KINDS,
  OPERATION_STATUSES,
  type OperationKind,
  type OperationStatus,
  POLICY_CHANGE_STATUSES,
  type PolicyChangeStatus,
} from "./contract-values";

const at = (name: string) => timestamp(name, { withTimezone: true });
const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

/** One step of a multi-step operation: what it does (`action`) and the arguments it was planned with. */
export interface OperationStep {
  action: string;
  [argument: string]: string | boolean | number;
}

export interface OperationSteps {
  /** The step the stored transaction carries (null between steps). */
  current: OperationStep | null;
  /** Confirmed steps with their transaction (the signed bytes too: a reorg may need them again). */
  done: { step: OperationStep; txHash: string; nonce: number; raw: string; blockNumber: number; blockHash: string }[];
  /**
   * Set when a step reverted: only clean-up steps follow, then the operation fails with this reason
   * (at once when a clean-up step reverted too).
   */
  failure: { code: string; message: string; cleanupFailed?: boolean } | null;
  /** Other domains were told the operation began (they are told when it ends too). */
  announced: boolean;
  /** What the chain showed when a system operation ended (e.g. the wallet's identity, `verified`). */
  facts?: Record<string, string | boolean | number>;
}

export const tokenOperations = pgTable(
  "token_operations",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    chainId: integer("chain_id").notNull(),
    /** The token serviced; null for Kit's eligibility kinds, which act on identities and the registry. */
    token: text("token"),
    /**
     * The contract an operation without a token acts on: for eligibility the identity registry (its
     * steps call the IdFactory and the wallet's identity too: see `steps`). Null: the token.
     */
    target: text("target"),
    kind: text("kind").$type<AnyOperationKind>().notNull(),
    /** The kind's input as validated (amounts as integer strings in the token's smallest unit). */
    parameters: jsonb("parameters").$type<Record<string, unknown>>().notNull(),
    /** Who asked; null for Kit's own (system) operations, which name their `cause` instead. */
    requestedBy: text("requested_by").references(() => user.id),
    /** Why Kit itself sends a system operation, e.g. `kyc_application:<id>`, `kyc_freeze:<id>`. */
    cause: text("cause"),
    /** Unique per requester: the same key again answers the same operation (if the body is the same). */
    idempotencyKey: text("idempotency_key"),
    /** sha256 of the canonical request (kind, token, parameters): a reused key with another body is a 409. */
    requestHash: text("request_hash").notNull(),
    status: text("status").$type<OperationStatus>().notNull(),
    needsApproval: boolean("needs_approval").notNull().default(false),
    /** Who approved or rejected it, and why (also in the history). */
    decidedBy: text("decided_by").references(() => user.id),
    decisionReason: text("decision_reason"),
    /** The address that signs it (Kit's chain agent); set when signed. */
    signer: text("signer"),
    nonce: bigint("nonce", { mode: "number" }),
    /** The signed transaction, stored before broadcast: a resume sends these exact bytes again. */
    rawTransaction: text("raw_transaction"),
    txHash: text("tx_hash"),
    /** Hashes of transactions this one replaced (same nonce, higher fee): any of them may be mined. */
    replacedHashes: jsonb("replaced_hashes").$type<string[]>().notNull().default([]),
    /** The chain head when the current transaction was broadcast (a stuck one is replaced after N blocks). */
    sentAtBlock: bigint("sent_at_block", { mode: "number" }),
    blockNumber: bigint("block_number", { mode: "number" }),
    blockHash: text("block_hash"),
    /**
     * A multi-step operation's progress (a recovery: steps.ts, recovery-steps.ts): the step its
     * current transaction carries and the steps confirmed so far. Null for one-transaction kinds.
     */
    steps: jsonb("steps").$type<OperationSteps>(),
    /** A typed reason (reverts.ts) and its words. */
    errorCode: text("error_code"),
    error: text("error"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
    confirmedAt: at("confirmed_at"),
  },
  (table) => [
    check(
      "token_operations_kind_check",
      sql`${table.kind} in (${sqlList([...OPERATION_KINDS, ...ELIGIBILITY_KINDS])})`,
    ),
    // A user's operation names the user, Kit's own its cause; only eligibility kinds go without a token.
    check("token_operations_requester_check", sql`(${table.requestedBy} is null) <> (${table.cause} is null)`),
    check(
      "token_operations_token_required_check",
      sql`${table.token} is not null or ${table.kind} in (${sqlList(ELIGIBILITY_KINDS)})`,
    ),
    check("token_operations_target_check", sql`${table.target} ~ '^0x[0-9a-f]{40}$'`),
    check("token_operations_contract_check", sql`${table.token} is not null or ${table.target} is not null`),
    check("token_operations_status_check", sql`${table.status} in (${sqlList(OPERATION_STATUSES)})`),
    check("token_operations_token_check", sql`${table.token} ~ '^0x[0-9a-f]{40}$'`),
    uniqueIndex("token_operations_idempotency_idx").on(table.requestedBy, table.idempotencyKey),
    // The database itself refuses a nonce given twice for one signer.
    uniqueIndex("token_operations_nonce_idx")
      .on(table.chainId, table.signer, table.nonce)
      .where(sql`${table.nonce} is not null`),
    index("token_operations_token_idx").on(table.chainId, table.token, table.createdAt, table.id),
    // What a live stream of a token's operations polls for (live.ts).
    index("token_operations_token_updated_idx").on(table.chainId, table.token, table.updatedAt),
    // One open or confirmed creation per ISIN and chain (the factory salt): a second is a 409.
    uniqueIndex("token_operations_create_isin_idx")
      .on(table.chainId, sql`(${table.parameters}->'spec'->>'salt')`)
      .where(sql`${table.kind} = 'create' and ${table.status} not in ('failed', 'rejected')`),
    // Eligibility operations of one wallet go out one after the other (system-steps.ts).
    index("token_operations_system_wallet_idx")
      .on(sql`(${table.parameters}->>'wallet')`, table.createdAt)
      .where(sql`${table.requestedBy} is null and ${table.status} in ('pending', 'signed', 'submitted')`),
    index("token_operations_open_idx")
      .on(table.status, table.createdAt)
      .where(sql`${table.status} in ('pending', 'signed', 'submitted')`),
  ],
);

/** Append-only: every status change, who caused it (null: Kit itself) and why. */
export const tokenOperationHistory = pgTable(
  "token_operation_history",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    operationId: uuid("operation_id")
      .notNull()
      .references(() => tokenOperations.id),
    fromStatus: text("from_status").$type<OperationStatus>(),
    toStatus: text("to_status").$type<OperationStatus>().notNull(),
    actorId: text("actor_id").references(() => user.id),
    reason: text("reason"),
    txHash: text("tx_hash"),
    at: at("at").notNull().defaultNow(),
  },
  (table) => [index("token_operation_history_operation_idx").on(table.operationId, table.id)],
);

/** A token's issuers: the users who may service it (granted by an admin or another of its issuers). */
export const tokenGrants = pgTable(
  "token_grants",
  {
    chainId: integer("chain_id").notNull(),
    token: text("token").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => user.id),
    grantedBy: text("granted_by").references(() => user.id),
    grantedAt: at("granted_at").notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.chainId, table.token, table.userId] }),
    index("token_grants_user_idx").on(table.userId),
  ],
);

/** Which operations of a token need a second person; absent: the defaults (policy.ts). */
export const tokenOperationPolicies = pgTable(
  "token_operation_policies",
  {
    chainId: integer("chain_id").notNull(),
    token: text("token").notNull(),
    approvalKinds: jsonb("approval_kinds").$type<OperationKind[]>().notNull(),
    /** A mint of more than this (smallest units, all recipients together) needs approval; null: none does. */
    mintThreshold: numeric("mint_threshold", { precision: 78, scale: 0 }),
    updatedBy: text("updated_by").references(() => user.id),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.chainId, table.token] })],
);

/**
 * Every change asked of a token's policy. One that loosens four eyes waits (`pending`, at most one
 * per token) for another granted issuer; one that only tightens is `applied` at once. The
 * database itself refuses a change decided by the user who asked for it.
 */
export const tokenPolicyChanges = pgTable(
  "token_policy_changes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    chainId: integer("chain_id").notNull(),
    token: text("token").notNull(),
    approvalKinds: jsonb("approval_kinds").$type<OperationKind[]>().notNull(),
    mintThreshold: numeric("mint_threshold", { precision: 78, scale: 0 }),
    /** Whether it loosened the policy in force when it was asked for (so it needed a second person). */
    loosens: boolean("loosens").notNull(),
    status: text("status").$type<PolicyChangeStatus>().notNull(),
    requestedBy: text("requested_by")
      .notNull()
      .references(() => user.id),
    reason: text("reason"),
    requestedAt: at("requested_at").notNull().defaultNow(),
    decidedBy: text("decided_by").references(() => user.id),
    decisionReason: text("decision_reason"),
    decidedAt: at("decided_at"),
  },
  (table) => [
    check("token_policy_changes_status_check", sql`${table.status} in (${sqlList(POLICY_CHANGE_STATUSES)})`),
    check("token_policy_changes_loosens_check", sql`${table.status} <> 'pending' or ${table.loosens}`),
    check(
      "token_policy_changes_four_eyes_check",
      sql`${table.decidedBy} is null or (${table.decidedBy} <> ${table.requestedBy} or ${table.status} <> 'applied')`,
    ),
    check(
      "token_policy_changes_decision_check",
      sql`(${table.loosens} and ${table.status} in ('applied', 'rejected')) = (${table.decidedBy} is not null)`,
    ),
    uniqueIndex("token_policy_changes_one_pending_idx")
      .on(table.chainId, table.token)
      .where(sql`${table.status} = 'pending'`),
    index("token_policy_changes_token_idx").on(table.chainId, table.token, table.requestedAt),
  ],
);
