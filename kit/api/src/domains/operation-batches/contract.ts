// CSV batches of mints and freezes: create (a presigned PUT for the file), submit (queue its
// validation), get (status, errors by line, the operations its chunks became and where each
// stands), list (a token's batches, newest first, with their progress).
import { z } from "zod";
import { evmAddress, isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { OPERATION_STATUSES } from "../operations/contract-values";
import { BATCH_KINDS, BATCH_STATUSES } from "./contract-values";

/** Kept in step with parse.ts (MAX_FILE_BYTES); the contract imports nothing of the server. */
const MAX_FILE_BYTES = 2 * 1024 * 1024;

const batchIdInput = z.object({ id: z.uuid("id must be a batch id (a UUID)") });

const createBatchInput = z.object({
  address: evmAddress("address"),
  kind: z.enum(BATCH_KINDS, { error: "kind must be mint (address,amount lines) or freeze (address lines)" }),
  size: z
    .number()
    .int("size: a whole number of bytes")
    .min(1, "the file is empty")
    .max(MAX_FILE_BYTES, `at most ${MAX_FILE_BYTES} bytes (2 MiB; at most 10,000 lines)`),
  sha256: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[0-9a-f]{64}$/, "sha256 must be the file's SHA-256 in hex (64 characters)"),
});

const batchView = z.object({
  id: z.uuid(),
  token: z.string(),
  kind: z.enum(BATCH_KINDS),
  status: z.enum(BATCH_STATUSES),
  createdBy: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  lineCount: z
    .number()
    .int()
    .nullable()
    .meta({ description: "Lines read (the header not counted); null before validation" }),
  errorCount: z.number().int(),
  errors: z.array(z.object({ line: z.number().int(), message: z.string() })).meta({
    description:
      "Refused lines by line number (the first 1,000; line 0: the file as a whole); nothing is sent while there is one",
  }),
  chunks: z
    .array(
      z.object({
        chunk: z.number().int(),
        firstLine: z.number().int(),
        lastLine: z.number().int(),
        lines: z.number().int(),
        operationId: z
          .string()
          .nullable()
          .meta({ description: "The operation it became (GET /api/token-operations/{id}); null when refused" }),
        operationStatus: z
          .enum(OPERATION_STATUSES)
          .nullable()
          .meta({ description: "Where that operation stands now (confirmed: on chain); null when refused" }),
        error: z.string().nullable().meta({ description: "Why the outbox refused the chunk" }),
      }),
    )
    .meta({ description: "One operation per chunk (mints: up to 200 recipients; freezes: one wallet)" }),
  createdAt: isoDateTime,
  submittedAt: isoDateTime.nullable(),
  validatedAt: isoDateTime.nullable(),
  fileDeletedAt: isoDateTime.nullable().meta({ description: "The file is deleted 7 days after the batch's creation" }),
});

/** Operations of the batch's chunks by status; a status none is in is left out. */
const operationCounts = z
  .partialRecord(z.enum(OPERATION_STATUSES), z.number().int())
  .meta({ description: "The chunks' operations by status, e.g. { confirmed: 48, submitted: 2 }" });

const batchSummary = batchView.omit({ errors: true, chunks: true }).extend({
  chunkCount: z.number().int(),
  refusedChunks: z.number().int().meta({ description: "Chunks the outbox refused (see get for why)" }),
  operations: operationCounts,
});

const listBatchesInput = z.object({
  address: evmAddress("address"),
  cursor: pageCursor(300),
  limit: pageLimit(100).default(20),
});

export type BatchView = z.infer<typeof batchView>;
export type BatchSummary = z.infer<typeof batchSummary>;

const tags = ["token operations"];
const operate = { permission: { tokens: ["operate" as const] }, keyGrant: { tokens: ["operate" as const] } };

export const batchesContract = {
  create: base
    .route({
      method: "POST",
      path: "/tokens/{address}/operations/batches",
      tags,
      summary:
        "Start a CSV batch of mints or freezes: a presigned PUT for the file (text/csv, its size and SHA-256 as declared), valid 15 minutes",
    })
    .meta({ ...operate, errors: ["NOT_FOUND", "PRECONDITION_FAILED"] })
    .input(createBatchInput)
    .output(
      z.object({
        batch: batchView,
        upload: z.object({
          uploadUrl: z.string().meta({ description: "PUT the file's bytes here, with exactly `headers`" }),
          headers: z.record(z.string(), z.string()),
          expiresAt: isoDateTime,
        }),
      }),
    ),
  submit: base
    .route({
      method: "POST",
      path: "/token-operation-batches/{id}/submit",
      tags,
      summary:
        "After the upload: validate every line, then (all valid) queue one operation per chunk; again: the same batch",
      successStatus: 202,
    })
    .meta({ ...operate, errors: ["NOT_FOUND", "PRECONDITION_FAILED"] })
    .input(batchIdInput)
    .output(batchView),
  list: base
    .route({
      method: "GET",
      path: "/tokens/{address}/operations/batches",
      tags,
      summary: "A token's CSV batches, newest first (cursor pages), each with its chunks' operations by status",
    })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(listBatchesInput)
    .output(z.object({ items: z.array(batchSummary), nextCursor: z.string().nullable() })),
  get: base
    .route({
      method: "GET",
      path: "/token-operation-batches/{id}",
      tags,
      summary: "A batch: status, errors by line number, the operations of its chunks",
    })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(batchIdInput)
    .output(batchView),
};
