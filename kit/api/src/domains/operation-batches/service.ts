// Creating, submitting and reading CSV batches. Who may: the users granted on the batch's token
// (operations/grants.ts); submitting is the creator's own act, since the chunks are requested in
// their name (four eyes then apply to them as to any operation).
import { randomUUID } from "node:crypto";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { and, asc, count, desc, eq, inArray, sql } from "drizzle-orm";
import type { Config } from "../../config";
import { decodeCursor, encodeCursor } from "../../cursor";
import type { JobQueue } from "../../deps";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { isMissingObject, isStorageOutage, presignPut, type Storage } from "../../infra/storage";
import type { OperationStatus } from "../operations/contract-values";
import { type Actor, requireGrant } from "../operations/grants";
import { tokenOperations } from "../operations/schema";
import { requireToken } from "../tokens/service";
import type { BatchSummary, BatchView } from "./contract";
import type { BatchKind } from "./contract-values";
import { operationBatchChunks, operationBatches } from "./schema";

export const VALIDATE_JOB = "tokens.operations.batch-validate";

export interface BatchDeps {
  db: Database;
  config: Pick<Config, "chain">;
  storage: Storage;
  jobs: JobQueue;
  log: Logger;
}

export type BatchRow = typeof operationBatches.$inferSelect;

const UPLOAD_URL_SECONDS = 15 * 60;
const CONTENT_TYPE = "text/csv";

export async function createBatch(
  deps: BatchDeps,
  actor: Actor,
  input: { address: string; kind: BatchKind; size: number; sha256: string },
) {
  const token = await requireToken(deps, input.address);
  if (token.kind !== "t-rex") {
    throw new KitError("PRECONDITION_FAILED", `${input.address} is a plain ERC-20; Kit services T-REX tokens only.`);
  }
  await requireGrant(deps, actor, token.address);
  const id = randomUUID();
  const [row] = await deps.db
    .insert(operationBatches)
    .values({
      id,
      chainId: token.chainId,
      token: token.address,
      kind: input.kind,
      createdBy: actor.id,
      // Named by the batch alone: nothing a user typed reaches the key.
      fileKey: `operation-batches/${id}.csv`,
      size: input.size,
      sha256: input.sha256,
    })
    .returning();
  if (!row) throw new Error("operation_batches insert returned no row");
  const upload = await presignPut(
    deps.storage,
    {
      bucket: deps.storage.buckets.userUploads,
      key: row.fileKey,
      contentType: CONTENT_TYPE,
      size: row.size,
      sha256: row.sha256,
    },
    UPLOAD_URL_SECONDS,
  );
  return { batch: batchView(row, []), upload };
}

/** The batch, if `actor` is granted on its token; 404 for an unknown id. */
async function requireBatch(deps: BatchDeps, actor: Actor, id: string): Promise<BatchRow> {
  const [row] = await deps.db.select().from(operationBatches).where(eq(operationBatches.id, id));
  if (!row) throw new KitError("NOT_FOUND", `No operation batch ${id}.`);
  await requireGrant(deps, actor, row.token);
  return row;
}

export async function getBatch(deps: BatchDeps, actor: Actor, id: string): Promise<BatchView> {
  return presentBatch(deps.db, await requireBatch(deps, actor, id));
}

const BATCH_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A token's batches, newest first, for the users granted on it; each with its chunks counted and
 * their operations by status (two grouped queries per page, whatever its size). The cursor is the
 * last batch's id.
 */
export async function listBatches(
  deps: BatchDeps,
  actor: Actor,
  input: { address: string; cursor?: string; limit: number },
): Promise<{ items: BatchSummary[]; nextCursor: string | null }> {
  const token = await requireToken(deps, input.address);
  await requireGrant(deps, actor, token.address);
  const after = input.cursor ? decodeCursor(input.cursor, [BATCH_ID])[0] : undefined;
  const rows = await deps.db
    .select()
    .from(operationBatches)
    .where(
      and(
        eq(operationBatches.chainId, token.chainId),
        eq(operationBatches.token, token.address),
        after
          ? sql`(${operationBatches.createdAt}, ${operationBatches.id}) < (select created_at, id from operation_batches where id = ${after})`
          : undefined,
      ),
    )
    .orderBy(desc(operationBatches.createdAt), desc(operationBatches.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const ids = page.map((row) => row.id);
  const counts =
    ids.length === 0
      ? []
      : await deps.db
          .select({ batchId: operationBatchChunks.batchId, status: tokenOperations.status, n: count() })
          .from(operationBatchChunks)
          .leftJoin(tokenOperations, eq(tokenOperations.id, operationBatchChunks.operationId))
          .where(inArray(operationBatchChunks.batchId, ids))
          .groupBy(operationBatchChunks.batchId, tokenOperations.status);
  const last = page.at(-1);
  return {
    items: page.map((row) => {
      const mine = counts.filter((c) => c.batchId === row.id);
      const operations: Partial<Record<OperationStatus, number>> = {};
      for (const c of mine) if (c.status) operations[c.status as OperationStatus] = c.n;
      const { errors: _errors, chunks: _chunks, ...view } = batchView(row, []);
      return {
        ...view,
        chunkCount: mine.reduce((sum, c) => sum + c.n, 0),
        refusedChunks: mine.filter((c) => c.status === null).reduce((sum, c) => sum + c.n, 0),
        operations,
      };
    }),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.id]) : null,
  };
}

/**
 * Queues the validation once: the first submit moves the batch on; a replay answers the batch as it
 * is (queueing the job again is harmless: the job does nothing for a batch no longer validating).
 */
export async function submitBatch(deps: BatchDeps, actor: Actor, id: string): Promise<BatchView> {
  const batch = await requireBatch(deps, actor, id);
  if (batch.createdBy !== actor.id) {
    throw new KitError(
      "FORBIDDEN",
      "Only the issuer who created the batch may submit it: its operations are requested in their name.",
    );
  }
  if (batch.status === "awaiting_upload" && !(await fileUploaded(deps, batch))) {
    throw new KitError(
      "PRECONDITION_FAILED",
      "The batch's file is not uploaded yet: PUT it to the upload URL create gave (a new batch if it expired), then submit.",
    );
  }
  const [moved] = await deps.db
    .update(operationBatches)
    .set({ status: "validating", submittedAt: sql`now()`, updatedAt: sql`now()` })
    .where(sql`${operationBatches.id} = ${id} and ${operationBatches.status} = 'awaiting_upload'`)
    .returning();
  if (moved || batch.status === "validating") await queueValidation(deps, id);
  const [now] = await deps.db.select().from(operationBatches).where(eq(operationBatches.id, id));
  return presentBatch(deps.db, now ?? batch);
}

async function fileUploaded(deps: Pick<BatchDeps, "storage">, batch: BatchRow): Promise<boolean> {
  try {
    await deps.storage.client.send(
      new HeadObjectCommand({ Bucket: deps.storage.buckets.userUploads, Key: batch.fileKey }),
      { abortSignal: AbortSignal.timeout(3_000) },
    );
    return true;
  } catch (error) {
    if (isMissingObject(error)) return false;
    if (isStorageOutage(error)) {
      throw new KitError("SERVICE_UNAVAILABLE", "The file store is unavailable; nothing was changed. Retry shortly.");
    }
    throw error;
  }
}

export async function queueValidation(deps: Pick<BatchDeps, "jobs" | "log">, batchId: string): Promise<void> {
  try {
    await deps.jobs.enqueue(VALIDATE_JOB, { batchId });
  } catch (error) {
    deps.log.warn({ err: error, batch: batchId }, "could not queue a batch's validation; the sweep will");
  }
}

async function presentBatch(db: Database, row: BatchRow): Promise<BatchView> {
  const chunks = await db
    .select({ chunk: operationBatchChunks, operationStatus: tokenOperations.status })
    .from(operationBatchChunks)
    .leftJoin(tokenOperations, eq(tokenOperations.id, operationBatchChunks.operationId))
    .where(eq(operationBatchChunks.batchId, row.id))
    .orderBy(asc(operationBatchChunks.chunk));
  return batchView(
    row,
    chunks.map((c) => ({ ...c.chunk, operationStatus: (c.operationStatus as OperationStatus | null) ?? null })),
  );
}

type ChunkRow = typeof operationBatchChunks.$inferSelect & { operationStatus: OperationStatus | null };

function batchView(row: BatchRow, chunks: ChunkRow[]): BatchView {
  return {
    id: row.id,
    token: row.token,
    kind: row.kind,
    status: row.status,
    createdBy: row.createdBy,
    size: row.size,
    sha256: row.sha256,
    lineCount: row.lineCount,
    errorCount: row.errorCount,
    errors: row.errors,
    chunks: chunks.map((c) => ({
      chunk: c.chunk,
      firstLine: c.firstLine,
      lastLine: c.lastLine,
      lines: c.lines,
      operationId: c.operationId,
      operationStatus: c.operationStatus,
      error: c.error,
    })),
    createdAt: row.createdAt.toISOString(),
    submittedAt: row.submittedAt?.toISOString() ?? null,
    validatedAt: row.validatedAt?.toISOString() ?? null,
    fileDeletedAt: row.fileDeletedAt?.toISOString() ?? null,
  };
}
