// The sender: claims due deliveries (FOR UPDATE SKIP LOCKED, so workers never take the same one),
// signs and posts each through the SSRF guard, records the attempt, and schedules the next one
// with exponential backoff and jitter until the retry window closes. An endpoint whose deliveries
// have all failed for WEBHOOK_DISABLE_SECONDS is disabled, and its owner told (the handler).
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Deps } from "../../deps";
import type { Transaction } from "../../infra/db";
import type { NotificationPayloads } from "../../notification-catalogue";
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from "./schema";
import { createSecretBox, type SecretBox, signatureHeader } from "./secrets";
import { type HostResolver, resolveTarget, systemResolver } from "./target";
import { type PostOutcome, postToTarget } from "./transport";

type DeliverDeps = Pick<Deps, "db" | "config" | "log">;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;
type EndpointRow = typeof webhookEndpoints.$inferSelect;

/** What the owner of a disabled endpoint is told: the `webhook.endpoint_disabled` event. */
export interface EndpointDisabledNotice {
  type: "webhook.endpoint_disabled";
  /** The endpoint's owner; null for a system endpoint (its audience is the admins). */
  recipientId: string | null;
  data: NotificationPayloads["webhook.endpoint_disabled"];
}

/**
 * Called in the transaction that disables the endpoint, so the notice commits with the change or
 * not at all (the notifications outbox writes its event row there).
 */
export type EndpointDisabledHandler = (tx: Transaction, notice: EndpointDisabledNotice) => Promise<void>;

export function endpointDisabledNotice(
  endpoint: Pick<EndpointRow, "id" | "ownerId" | "url">,
  failingSince: Date,
): EndpointDisabledNotice {
  return {
    type: "webhook.endpoint_disabled",
    recipientId: endpoint.ownerId,
    data: { endpointId: endpoint.id, url: endpoint.url, failingSince: failingSince.toISOString() },
  };
}

export interface DeliveryOptions {
  /** The SSRF guard's resolver (tests answer as a hostile DNS would). */
  resolve?: HostResolver;
  onEndpointDisabled?: EndpointDisabledHandler;
  /** Certificates to trust besides the system's (tests: a local HTTPS receiver's). */
  tlsCa?: string;
  /** Deliveries claimed per round. */
  batchSize?: number;
}

const DEFAULT_BATCH = 25;
/** Rounds per run at most; the schedule's next run goes on. */
const MAX_ROUNDS = 40;

export interface DeliveryRun {
  attempted: number;
  delivered: number;
  failed: number;
  refused: number;
}

/** Sends every due delivery, a batch at a time (each batch's posts in parallel). */
export async function deliverDue(deps: DeliverDeps, options: DeliveryOptions = {}): Promise<DeliveryRun> {
  const run: DeliveryRun = { attempted: 0, delivered: 0, failed: 0, refused: 0 };
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const box = createSecretBox(deps.config);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const claimed = await claimDue(deps, batchSize);
    if (claimed.length === 0) break;
    const endpoints = await deps.db
      .select()
      .from(webhookEndpoints)
      .where(inArray(webhookEndpoints.id, [...new Set(claimed.map((d) => d.endpointId))]));
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    const outcomes = await Promise.all(
      claimed.map(async (delivery) => {
        const endpoint = byId.get(delivery.endpointId);
        if (!endpoint) return "gone" as const; // deleted meanwhile: its deliveries went with it
        return sendOne(deps, box, delivery, endpoint, options);
      }),
    );
    for (const outcome of outcomes) {
      if (outcome === "gone") continue;
      run.attempted += 1;
      run[outcome] += 1;
    }
    if (claimed.length < batchSize) break;
  }
  return run;
}

/**
 * Takes due deliveries of enabled endpoints and pushes their due time out by a lease longer than
 * an attempt can take: a worker killed mid-send leaves them due again when it ends.
 */
async function claimDue(deps: DeliverDeps, limit: number): Promise<DeliveryRow[]> {
  const leaseMs = deps.config.webhooks.timeoutMs * 3;
  return deps.db.transaction(async (tx) => {
    const due = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(
        and(
          inArray(webhookDeliveries.status, ["pending", "failed"]),
          sql`${webhookDeliveries.nextAttemptAt} <= now()`,
          eq(webhookEndpoints.enabled, true),
        ),
      )
      .orderBy(webhookDeliveries.nextAttemptAt)
      .limit(limit)
      .for("update", { of: webhookDeliveries, skipLocked: true });
    if (due.length === 0) return [];
    return tx
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        nextAttemptAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
        updatedAt: new Date(),
      })
      .where(
        inArray(
          webhookDeliveries.id,
          due.map((d) => d.id),
        ),
      )
      .returning();
  });
}

/** The secrets in force: the current one, and the previous one while its overlap lasts. */
function secretsInForce(box: SecretBox, endpoint: EndpointRow, now: Date): string[] {
  const secrets = [box.open(endpoint.id, "current", endpoint.secretKeyId, endpoint.secretCiphertext)];
  const { previousSecretCiphertext, previousSecretKeyId, previousSecretExpiresAt } = endpoint;
  if (previousSecretCiphertext && previousSecretKeyId && previousSecretExpiresAt && previousSecretExpiresAt > now) {
    secrets.push(box.open(endpoint.id, "previous", previousSecretKeyId, previousSecretCiphertext));
  }
  return secrets;
}

/** The body every attempt sends, the same bytes each time. */
function webhookBody(delivery: Pick<DeliveryRow, "eventType" | "occurredAt" | "data">): string {
  return JSON.stringify({
    type: delivery.eventType,
    timestamp: delivery.occurredAt.toISOString(),
    data: delivery.data,
  });
}

async function sendOne(
  deps: DeliverDeps,
  box: SecretBox,
  delivery: DeliveryRow,
  endpoint: EndpointRow,
  options: DeliveryOptions,
): Promise<"delivered" | "failed" | "refused"> {
  const now = new Date();
  const body = webhookBody(delivery);
  const timestamp = Math.floor(now.getTime() / 1000);
  let outcome: PostOutcome;
  let refused = false;
  const target = await resolveTarget(new URL(endpoint.url), {
    allowPrivate: deps.config.webhooks.allowPrivate,
    resolve: options.resolve ?? systemResolver,
  });
  if (!target.ok) {
    refused = true;
    deps.log.warn(
      {
        endpointId: endpoint.id,
        deliveryId: delivery.id,
        host: target.host,
        address: target.address,
        reason: target.reason,
      },
      "webhook refused by the SSRF guard",
    );
    outcome = { statusCode: null, latencyMs: 0, responseBody: null, error: `refused: ${target.host} ${target.reason}` };
  } else {
    let headers: Record<string, string>;
    try {
      headers = {
        "webhook-id": delivery.eventId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(secretsInForce(box, endpoint, now), delivery.eventId, timestamp, body),
      };
    } catch (error) {
      deps.log.error({ err: error, endpointId: endpoint.id }, "webhook secret unreadable");
      headers = {};
    }
    outcome = headers["webhook-signature"]
      ? await postToTarget(target, headers, body, deps.config.webhooks.timeoutMs, options.tlsCa)
      : {
          statusCode: null,
          latencyMs: 0,
          responseBody: null,
          error: "the endpoint's secret cannot be read; rotate it",
        };
  }
  await recordAttempt(deps, delivery, endpoint, outcome, options);
  return outcome.error === null ? "delivered" : refused ? "refused" : "failed";
}

/** The delay before attempt `attempt + 1`: doubling from the first, capped, ±20 % jitter. */
function retryDelayMs(config: DeliverDeps["config"]["webhooks"], attempt: number): number {
  const exponential = Math.min(config.retryFirstMs * 2 ** Math.min(attempt - 1, 30), config.retryMaxMs);
  return Math.round(exponential * (0.8 + Math.random() * 0.4));
}

async function recordAttempt(
  deps: DeliverDeps,
  delivery: DeliveryRow,
  endpoint: EndpointRow,
  outcome: PostOutcome,
  options: DeliveryOptions,
): Promise<void> {
  const settings = deps.config.webhooks;
  const now = new Date();
  const success = outcome.error === null;
  const windowOver = now.getTime() - delivery.queuedAt.getTime() >= settings.retryForSeconds * 1000;
  await deps.db.transaction(async (tx) => {
    await tx.insert(webhookDeliveryAttempts).values({
      deliveryId: delivery.id,
      attempt: delivery.attempts,
      statusCode: outcome.statusCode,
      latencyMs: outcome.latencyMs,
      responseBody: outcome.responseBody,
      error: outcome.error,
      at: now,
    });
    await tx
      .update(webhookDeliveries)
      .set(
        success
          ? { status: "delivered", deliveredAt: now, lastError: null, updatedAt: now }
          : {
              status: windowOver ? "dead" : "failed",
              nextAttemptAt: new Date(now.getTime() + retryDelayMs(settings, delivery.attempts)),
              lastError: outcome.error,
              updatedAt: now,
            },
      )
      // A lease that ran out let another worker take it: that worker's attempt decides.
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.attempts, delivery.attempts)));
    if (success) {
      if (endpoint.failingSince) {
        await tx.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpoint.id));
      }
      return;
    }
    await noteEndpointFailure(deps, tx, endpoint, now, options);
  });
}

async function noteEndpointFailure(
  deps: DeliverDeps,
  tx: Transaction,
  endpoint: EndpointRow,
  now: Date,
  options: DeliveryOptions,
): Promise<void> {
  const disableBefore = new Date(now.getTime() - deps.config.webhooks.disableAfterSeconds * 1000);
  const [row] = await tx
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${now.toISOString()}::timestamptz)` })
    .where(eq(webhookEndpoints.id, endpoint.id))
    .returning({ failingSince: webhookEndpoints.failingSince });
  if (!row?.failingSince || row.failingSince > disableBefore) return;
  // Only the attempt that turns it off reports it (an endpoint disabled already matches nothing).
  const [disabled] = await tx
    .update(webhookEndpoints)
    .set({ enabled: false, disabledAt: now, updatedAt: now })
    .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.enabled, true)))
    .returning();
  if (!disabled) return;
  deps.log.warn(
    { endpointId: endpoint.id, failingSince: row.failingSince.toISOString() },
    "webhook endpoint disabled: its deliveries failed for WEBHOOK_DISABLE_SECONDS",
  );
  await options.onEndpointDisabled?.(tx, endpointDisabledNotice(disabled, row.failingSince));
}
