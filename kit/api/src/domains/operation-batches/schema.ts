// CSV batches of token operations (large mints and freezes). The file is uploaded to the
// `user-uploads` bucket with a presigned PUT bound to its declared size and SHA-256; a job reads
// it once, checks every line and, when all are valid, stores the lines here: the operations are
// made from these rows, never from the file again, so a file swapped after validation changes
// nothing. Each chunk becomes one operation of the outbox (domains/operations), idempotent on
// `batch-{id}-{chunk}`. Addresses lowercase 0x-hex; amounts integer strings in the smallest unit.
import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { user } from "../auth/schema";
import { tokenOperations } from "../operations/schema";
import { BATCH_KINDS, BATCH_STATUSES, type BatchKind, type BatchStatus } from "./contract-values";

const at = (name: string) => timestamp(name, { withTimezone: true });
const sqlList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

/** A line the validation refused: its number in the file (1-based, the header counted) and why. */
export interface BatchLineError {
  line: number;
  message: string;
}

export const operationBatches = pgTable(
  "operation_batches",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    chainId: integer("chain_id").notNull(),
    token: text("token").notNull(),
    kind: text("kind").$type<BatchKind>().notNull(),
    status: text("status").$type<BatchStatus>().notNull().default("awaiting_upload"),
    createdBy: text("created_by")
      .notNull()
      .references(() => user.id),
    /** Where the file is in the `user-uploads` bucket; the sweep deletes it after 7 days. */
    fileKey: text("file_key").notNull(),
    /** Declared at creation and signed into the upload URL; the job refuses any other bytes. */
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    /** Data lines read (the header not counted); null until validated. */
    lineCount: integer("line_count"),
    /** Every refused line counted; `errors` keeps the first ones (MAX_STORED_ERRORS). */
    errorCount: integer("error_count").notNull().default(0),
    errors: jsonb("errors").$type<BatchLineError[]>().notNull().default([]),
    submittedAt: at("submitted_at"),
    validatedAt: at("validated_at"),
    fileDeletedAt: at("file_deleted_at"),
    createdAt: at("created_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [
    check("operation_batches_kind_check", sql`${table.kind} in (${sqlList(BATCH_KINDS)})`),
    check("operation_batches_status_check", sql`${table.status} in (${sqlList(BATCH_STATUSES)})`),
    check("operation_batches_token_check", sql`${table.token} ~ '^0x[0-9a-f]{40}$'`),
    check("operation_batches_sha256_check", sql`${table.sha256} ~ '^[0-9a-f]{64}$'`),
    index("operation_batches_token_idx").on(table.chainId, table.token, table.createdAt),
    // What the sweep looks at: files still in the bucket, oldest first.
    index("operation_batches_file_idx").on(table.createdAt).where(sql`${table.fileDeletedAt} is null`),
  ],
);

/** The validated lines, as they will be sent (written once, when the whole file is valid). */
export const operationBatchLines = pgTable(
  "operation_batch_lines",
  {
    batchId: uuid("batch_id")
      .notNull()
      .references(() => operationBatches.id),
    /** The line's number in the file, for reports. */
    line: integer("line").notNull(),
    /** Lowercase address: the recipient of a mint, the wallet of a freeze. */
    wallet: text("wallet").notNull(),
    /** Mints: in the token's smallest unit; null for freezes. */
    amount: text("amount"),
  },
  (table) => [primaryKey({ columns: [table.batchId, table.line] })],
);

/** One operation per chunk of lines; `operation_id` null with an `error` when the outbox refused it. */
export const operationBatchChunks = pgTable(
  "operation_batch_chunks",
  {
    batchId: uuid("batch_id")
      .notNull()
      .references(() => operationBatches.id),
    chunk: integer("chunk").notNull(),
    firstLine: integer("first_line").notNull(),
    lastLine: integer("last_line").notNull(),
    lines: integer("lines").notNull(),
    operationId: uuid("operation_id").references(() => tokenOperations.id),
    error: text("error"),
    requestedAt: at("requested_at").notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.batchId, table.chunk] })],
);
