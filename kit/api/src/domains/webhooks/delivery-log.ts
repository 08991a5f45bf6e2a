// The delivery log of one endpoint (newest first, each delivery with its attempts) and the manual
// replay of a delivery: the same event id (`webhook-id`) sent again, with a fresh retry window.
import { and, asc, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import { decodeCursor, encodeCursor, MICROSECOND_TIME } from "../../cursor";
import type { Deps } from "../../deps";
import { KitError } from "../../errors";
import type { DeliveryStatus } from "./contract-values";
import { findVisibleEndpoint, type WebhookActor } from "./endpoints";
import { webhookDeliveries, webhookDeliveryAttempts } from "./schema";

type LogDeps = Pick<Deps, "db" | "log">;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const iso = (value: Date | null) => (value ? value.toISOString() : null);

interface AttemptView {
  attempt: number;
  statusCode: number | null;
  latencyMs: number;
  responseBody: string | null;
  error: string | null;
  at: string;
}

export interface DeliveryView {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  occurredAt: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  lastError: string | null;
  createdAt: string;
  attemptLog: AttemptView[];
}

function deliveryView(row: DeliveryRow, attempts: AttemptView[]): DeliveryView {
  const open = row.status === "pending" || row.status === "failed";
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    occurredAt: row.occurredAt.toISOString(),
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: open ? row.nextAttemptAt.toISOString() : null,
    deliveredAt: iso(row.deliveredAt),
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    attemptLog: attempts,
  };
}

async function attemptLogs(deps: LogDeps, deliveryIds: string[]): Promise<Map<string, AttemptView[]>> {
  const byDelivery = new Map<string, AttemptView[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const attempts = await deps.db
    .select()
    .from(webhookDeliveryAttempts)
    .where(inArray(webhookDeliveryAttempts.deliveryId, deliveryIds))
    .orderBy(asc(webhookDeliveryAttempts.attempt));
  for (const a of attempts) {
    const list = byDelivery.get(a.deliveryId) ?? [];
    list.push({
      attempt: a.attempt,
      statusCode: a.statusCode,
      latencyMs: a.latencyMs,
      responseBody: a.responseBody,
      error: a.error,
      at: a.at.toISOString(),
    });
    byDelivery.set(a.deliveryId, list);
  }
  return byDelivery;
}

export async function listDeliveries(
  deps: LogDeps,
  actor: WebhookActor,
  input: { endpointId: string; limit: number; cursor?: string; status?: DeliveryStatus },
): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  await findVisibleEndpoint(deps.db, actor, input.endpointId);
  const after = input.cursor ? decodeCursor(input.cursor, [MICROSECOND_TIME, UUID]) : undefined;
  const createdAtText = sql<string>`to_char(${webhookDeliveries.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const rows = await deps.db
    .select({ row: webhookDeliveries, createdAtText })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, input.endpointId),
        input.status ? eq(webhookDeliveries.status, input.status) : undefined,
        after
          ? or(
              lt(webhookDeliveries.createdAt, sql`${after[0]}::timestamptz`),
              and(
                eq(webhookDeliveries.createdAt, sql`${after[0]}::timestamptz`),
                lt(webhookDeliveries.id, after[1] as string),
              ),
            )
          : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const logs = await attemptLogs(
    deps,
    page.map((r) => r.row.id),
  );
  const last = page.at(-1);
  return {
    items: page.map(({ row }) => deliveryView(row, logs.get(row.id) ?? [])),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.createdAtText, last.row.id]) : null,
  };
}

/**
 * Sends a delivery again (delivered, failed or given up): due now, with a fresh retry window. The
 * body and `webhook-id` stay the event's, so a receiver that already processed it can tell.
 */
export async function replayDelivery(deps: LogDeps, actor: WebhookActor, deliveryId: string): Promise<DeliveryView> {
  const [found] = await deps.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
  const notFound = () => new KitError("NOT_FOUND", `No webhook delivery ${deliveryId} on an endpoint of yours.`);
  if (!found) throw notFound();
  const endpoint = await findVisibleEndpoint(deps.db, actor, found.endpointId).catch(() => {
    throw notFound();
  });
  if (!endpoint.enabled) {
    throw new KitError(
      "PRECONDITION_FAILED",
      "The endpoint is disabled; enable it (PATCH its enabled to true), then replay.",
    );
  }
  if (found.status === "pending") throw new KitError("CONFLICT", "This delivery is already waiting to be sent.");
  const now = new Date();
  const [row] = await deps.db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: now, queuedAt: now, updatedAt: now })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.attempts, found.attempts)))
    .returning();
  if (!row) throw new KitError("CONFLICT", "The delivery is being sent right now; look at its log again shortly.");
  deps.log.info({ deliveryId, endpointId: endpoint.id, actor: actor.userId }, "webhook delivery replayed");
  return deliveryView(row, (await attemptLogs(deps, [row.id])).get(row.id) ?? []);
}
