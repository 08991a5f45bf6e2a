// The batches' clean-up: a file is deleted 7 days after its batch was created (the `user-uploads`
// bucket is temporary). MinIO in production also expires it by the bucket's lifecycle rule
// (docker-compose.yml); s3rver, used in development and tests, has none, and a rule would leave the
// rows saying the file is there: the sweep deletes by the rows and marks them. It also re-queues batches whose validation job was lost (Redis flushed, a worker killed).
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { and, asc, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Deps } from "../../deps";
import { operationBatches } from "./schema";
import { queueValidation } from "./service";

const FILE_RETENTION_DAYS = 7;
const SWEEP_BATCH = 500;
/** A validation normally takes seconds; past this its job is taken for lost. */
const STALE_MINUTES = 10;

export async function sweepBatches(deps: Pick<Deps, "db" | "storage" | "jobs" | "log">, now = new Date()) {
  const cutoff = new Date(now.getTime() - FILE_RETENTION_DAYS * 24 * 3600 * 1000);
  const old = await deps.db
    .select({ id: operationBatches.id, fileKey: operationBatches.fileKey })
    .from(operationBatches)
    .where(and(isNull(operationBatches.fileDeletedAt), lt(operationBatches.createdAt, cutoff)))
    .orderBy(asc(operationBatches.createdAt))
    .limit(SWEEP_BATCH);
  for (const batch of old) {
    // DeleteObject succeeds for a missing key (never uploaded, or deleted by a run that then failed).
    await deps.storage.client.send(
      new DeleteObjectCommand({ Bucket: deps.storage.buckets.userUploads, Key: batch.fileKey }),
      { abortSignal: AbortSignal.timeout(3_000) },
    );
    await deps.db.update(operationBatches).set({ fileDeletedAt: sql`now()` }).where(eq(operationBatches.id, batch.id));
  }
  const stale = await deps.db
    .select({ id: operationBatches.id })
    .from(operationBatches)
    .where(
      and(
        inArray(operationBatches.status, ["validating", "sending"]),
        lt(operationBatches.updatedAt, new Date(now.getTime() - STALE_MINUTES * 60 * 1000)),
      ),
    )
    .limit(SWEEP_BATCH);
  for (const batch of stale) await queueValidation(deps, batch.id);
  return { filesDeleted: old.length, requeued: stale.length };
}
