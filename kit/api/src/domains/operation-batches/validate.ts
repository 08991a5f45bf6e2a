// The validation job: reads the batch's file once (at most its declared size, hashed), checks every
// line (parse.ts) and then the chain (mint receivers verified; frozen wallets known to the token).
// Any error: the batch is `invalid` with the errors by line, and nothing is sent. All valid: the
// lines are stored and one operation per chunk is requested through the outbox, idempotent on
// `batch-{id}-{chunk}`, so a retried job never doubles one. The operations come from the stored
// lines, never the file again: a file swapped after validation changes nothing.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { identityRegistryAbi, tokenAbi } from "@kit/contracts";
import { and, asc, eq, sql } from "drizzle-orm";
import type { Address } from "viem";
import type { Deps } from "../../deps";
import { KitError } from "../../errors";
import { isMissingObject } from "../../infra/storage";
import { fromSmallestUnit } from "../operations/amounts";
import { needsApproval, policyOf } from "../operations/policy";
import { requestOperation } from "../operations/service";
import { requireToken } from "../tokens/service";
import { type BatchLine, MAX_FILE_BYTES, MAX_STORED_ERRORS, parseBatch } from "./parse";
import { type BatchLineError, operationBatchChunks, operationBatches, operationBatchLines } from "./schema";
import type { BatchRow } from "./service";

/**
 * Recipients per mint operation. 500 recipients' batchMint needs more gas than anvil's 30M block
 * limit (measured: about 136k gas per recipient on the demo suite, docs/tokens.md), 200 about 27M.
 */
export const MINT_CHUNK = 200;
const CHAIN_READS_AT_ONCE = 25;

/** `mintChunk`: recipients per mint operation (tests cut smaller chunks to see several). */
export async function validateBatch(deps: Deps, batchId: string, options = { mintChunk: MINT_CHUNK }) {
  const [batch] = await deps.db.select().from(operationBatches).where(eq(operationBatches.id, batchId));
  if (!batch) return { skipped: "unknown batch" };
  if (batch.status === "sending") return requestChunks(deps, batch, options.mintChunk);
  if (batch.status !== "validating") return { skipped: batch.status };
  const token = await requireToken(deps, batch.token);
  const text = await readBatchFile(deps, batch);
  if (typeof text !== "string") return markInvalid(deps, batch, [{ line: 0, message: text.error }], 1, null);
  const parsed = parseBatch(text, batch.kind, token.decimals);
  let { errors, errorCount } = parsed;
  if (errorCount === 0) {
    errors = await chainErrors(deps, token, batch.kind, parsed.lines);
    errorCount = errors.length;
  }
  if (errorCount > 0) return markInvalid(deps, batch, errors, errorCount, parsed.lines.length + parsed.errorCount);
  await deps.db.transaction(async (tx) => {
    for (let i = 0; i < parsed.lines.length; i += 1_000) {
      await tx
        .insert(operationBatchLines)
        .values(
          parsed.lines
            .slice(i, i + 1_000)
            .map((l) => ({ batchId, line: l.line, wallet: l.wallet, amount: l.amount?.toString() ?? null })),
        )
        .onConflictDoNothing();
    }
    await tx
      .update(operationBatches)
      .set({ status: "sending", lineCount: parsed.lines.length, validatedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(operationBatches.id, batchId), eq(operationBatches.status, "validating")));
  });
  return requestChunks(deps, { ...batch, status: "sending" }, options.mintChunk);
}

/** The file's text, or why it cannot be used; read no further than the declared size. */
async function readBatchFile(deps: Deps, batch: BatchRow): Promise<string | { error: string }> {
  let body: Readable;
  try {
    const object = await deps.storage.client.send(
      new GetObjectCommand({ Bucket: deps.storage.buckets.userUploads, Key: batch.fileKey }),
      { abortSignal: AbortSignal.timeout(30_000) },
    );
    body = object.Body as Readable;
  } catch (error) {
    if (isMissingObject(error)) return { error: "the file is gone from the store; start a new batch" };
    throw error;
  }
  const limit = Math.min(batch.size, MAX_FILE_BYTES);
  const hash = createHash("sha256");
  const parts: Buffer[] = [];
  let read = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    read += bytes.length;
    if (read > limit) {
      body.destroy();
      return { error: `the file is larger than the ${batch.size} bytes declared; start a new batch` };
    }
    hash.update(bytes);
    parts.push(bytes);
  }
  if (read !== batch.size || hash.digest("hex") !== batch.sha256) {
    return { error: "the file is not the one declared (its size or SHA-256 differ); start a new batch" };
  }
  const text = new TextDecoder("utf-8", { fatal: true });
  try {
    return text.decode(Buffer.concat(parts));
  } catch {
    return { error: "the file is not UTF-8 text" };
  }
}

async function markInvalid(
  deps: Deps,
  batch: BatchRow,
  errors: BatchLineError[],
  errorCount: number,
  lineCount: number | null,
) {
  await deps.db
    .update(operationBatches)
    .set({
      status: "invalid",
      errors: errors.slice(0, MAX_STORED_ERRORS),
      errorCount,
      lineCount,
      validatedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(operationBatches.id, batch.id), eq(operationBatches.status, "validating")));
  return { invalid: errorCount };
}

/** Mints: every receiver verified in the token's identity registry; freezes: every wallet known to it. */
async function chainErrors(
  deps: Deps,
  token: { address: string; identityRegistry: string | null },
  kind: BatchRow["kind"],
  lines: BatchLine[],
): Promise<BatchLineError[]> {
  const registry = (token.identityRegistry ??
    (await deps.chain.readContract({
      address: token.address as Address,
      abi: tokenAbi,
      functionName: "identityRegistry",
    }))) as Address;
  const check = async (line: BatchLine): Promise<BatchLineError | null> => {
    const wallet = line.wallet as Address;
    if (kind === "mint") {
      const verified = await deps.chain.readContract({
        address: registry,
        abi: identityRegistryAbi,
        functionName: "isVerified",
        args: [wallet],
      });
      return verified
        ? null
        : { line: line.line, message: "the receiver is not verified for this token: its owner must pass KYC first" };
    }
    const known =
      (await deps.chain.readContract({
        address: registry,
        abi: identityRegistryAbi,
        functionName: "contains",
        args: [wallet],
      })) ||
      (await deps.chain.readContract({
        address: token.address as Address,
        abi: tokenAbi,
        functionName: "balanceOf",
        args: [wallet],
      })) > 0n;
    return known
      ? null
      : { line: line.line, message: "the wallet is unknown to this token (not registered, holding nothing)" };
  };
  const errors: BatchLineError[] = [];
  for (let i = 0; i < lines.length; i += CHAIN_READS_AT_ONCE) {
    const found = await Promise.all(lines.slice(i, i + CHAIN_READS_AT_ONCE).map(check));
    for (const error of found) if (error) errors.push(error);
  }
  return errors;
}

/**
 * One operation per chunk of the stored lines, as the batch's creator. A chunk already recorded is
 * skipped; a chunk the outbox refuses (a typed 4xx: a receiver no longer verified, the grant
 * taken away) is recorded with its reason and the others go on.
 */
async function requestChunks(deps: Deps, batch: BatchRow, mintChunk: number) {
  const token = await requireToken(deps, batch.token);
  const lines = await deps.db
    .select()
    .from(operationBatchLines)
    .where(eq(operationBatchLines.batchId, batch.id))
    .orderBy(asc(operationBatchLines.line));
  const done = new Set(
    (
      await deps.db
        .select({ chunk: operationBatchChunks.chunk })
        .from(operationBatchChunks)
        .where(eq(operationBatchChunks.batchId, batch.id))
    ).map((c) => c.chunk),
  );
  const size = batch.kind === "mint" ? mintChunk : 1;
  const recipients = lines.map((l) => ({ to: l.wallet, amount: l.amount ?? "0" }));
  // The mint threshold applies to the whole batch: cutting it in chunks must not slip under it.
  const approval = batch.kind === "mint" && needsApproval(await policyOf(deps, token.address), "mint", { recipients });
  let requested = 0;
  for (let chunk = 0; chunk * size < lines.length; chunk++) {
    if (done.has(chunk)) continue;
    const slice = lines.slice(chunk * size, (chunk + 1) * size);
    if (await requestChunk(deps, batch, { ...token, approval }, chunk, slice)) requested++;
  }
  await deps.db
    .update(operationBatches)
    .set({ status: "sent", updatedAt: sql`now()` })
    .where(and(eq(operationBatches.id, batch.id), eq(operationBatches.status, "sending")));
  return { requested, chunks: Math.ceil(lines.length / size) };
}

/** One chunk as one operation, recorded with the chunk (or the outbox's refusal); true when requested. */
async function requestChunk(
  deps: Deps,
  batch: BatchRow,
  token: { address: string; decimals: number; approval: boolean },
  chunk: number,
  slice: (typeof operationBatchLines.$inferSelect)[],
): Promise<boolean> {
  const input =
    batch.kind === "mint"
      ? {
          recipients: slice.map((l) => ({
            to: l.wallet,
            amount: fromSmallestUnit(BigInt(l.amount ?? "0"), token.decimals),
          })),
        }
      : { wallet: slice[0]?.wallet };
  let operationId: string | null = null;
  let error: string | null = null;
  try {
    // The grant is checked again for the creator, by id (a role plays no part in requesting).
    const { operation } = await requestOperation(
      deps,
      { id: batch.createdBy },
      {
        kind: batch.kind,
        input: { address: token.address, idempotencyKey: `batch-${batch.id}-${chunk}`, ...input },
        requireApproval: token.approval,
      },
    );
    operationId = operation.id;
  } catch (caught) {
    if (!(caught instanceof KitError) || caught.code === "SERVICE_UNAVAILABLE") throw caught;
    error = caught.message;
  }
  await deps.db
    .insert(operationBatchChunks)
    .values({
      batchId: batch.id,
      chunk,
      firstLine: slice[0]?.line ?? 0,
      lastLine: slice.at(-1)?.line ?? 0,
      lines: slice.length,
      operationId,
      error,
    })
    .onConflictDoNothing();
  return operationId !== null;
}
