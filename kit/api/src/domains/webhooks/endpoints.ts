// Webhook endpoints: a user's own (several, each with its event filter), or the system's (owner
// null; admins manage them). A caller reaches only their own endpoints, and system ones when they
// may manage the system; anything else is "not found", so ids reveal nothing.
import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import type { Deps } from "../../deps";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import type { NotificationEventType } from "../../notification-catalogue";
import { webhookUrlProblem } from "../settings/validation";
import {
  DEFAULT_OVERLAP_HOURS,
  type EndpointScope,
  MAX_ENDPOINTS_PER_OWNER,
  MAX_OVERLAP_HOURS,
  MAX_SYSTEM_ENDPOINTS,
} from "./contract-values";
import { webhookEndpoints } from "./schema";
import { createSecretBox, generateSecret } from "./secrets";
import { addressProblem, type HostResolver, systemResolver } from "./target";

type EndpointDeps = Pick<Deps, "db" | "config" | "log">;
type EndpointRow = typeof webhookEndpoints.$inferSelect;

export interface WebhookActor {
  userId: string;
  /** May see and manage system endpoints (admins: `settings: manage_system`). */
  mayManageSystem: boolean;
}

export interface EndpointInput {
  url: string;
  eventTypes: NotificationEventType[];
  description?: string;
  enabled?: boolean;
}

export interface EndpointView {
  id: string;
  scope: EndpointScope;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  disabledAt: string | null;
  failingSince: string | null;
  secretRotatedAt: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

/** What any answer shows of an endpoint: never its secrets, only when they changed. */
function endpointView(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    scope: row.ownerId === null ? "system" : "user",
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledAt: iso(row.disabledAt),
    failingSince: iso(row.failingSince),
    secretRotatedAt: iso(row.secretRotatedAt),
    previousSecretExpiresAt: iso(row.previousSecretExpiresAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const badUrl = (message: string) => new KitError("BAD_REQUEST", `url: ${message}`, [{ path: "url", message }]);

/** How long a name may take to resolve when it is saved; past it the name is saved unchecked (delivery checks again). */
const SAVE_RESOLVE_TIMEOUT_MS = 2_000;

/**
 * The URL as written (https, a public host name or address), and, when the name resolves now, where
 * it leads: a name that points inside is refused when saved rather than at every delivery. A name
 * that does not resolve yet is accepted: each delivery resolves and checks it again (target.ts).
 */
async function checkUrl(deps: EndpointDeps, value: string, resolve: HostResolver): Promise<void> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badUrl("expected an absolute URL such as https://hooks.example.com/kit");
  }
  if (url.username || url.password) throw badUrl("credentials in the URL are not supported; put a token in the path");
  if (deps.config.webhooks.allowPrivate) {
    if (url.protocol !== "https:" && url.protocol !== "http:") throw badUrl("the webhook URL must use https://");
    return;
  }
  const problem = webhookUrlProblem(value);
  if (problem) throw badUrl(problem);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const answers = await Promise.race([
    resolve(host).catch(() => []),
    Bun.sleep(SAVE_RESOLVE_TIMEOUT_MS).then(() => []),
  ]);
  for (const { address } of answers) {
    const reason = addressProblem(address);
    if (reason) throw badUrl(`${host} resolves to ${reason}; webhooks are only sent to public addresses`);
  }
}

export async function findVisibleEndpoint(db: Database, actor: WebhookActor, id: string): Promise<EndpointRow> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  const visible = row && (row.ownerId === null ? actor.mayManageSystem : row.ownerId === actor.userId);
  if (!row || !visible)
    throw new KitError("NOT_FOUND", `No webhook endpoint ${id} of yours; list yours with GET /api/webhooks/endpoints.`);
  return row;
}

export async function listEndpoints(deps: EndpointDeps, actor: WebhookActor, scope: EndpointScope) {
  if (scope === "system" && !actor.mayManageSystem) {
    throw new KitError("FORBIDDEN", "System webhook endpoints need the permission settings: manage_system.");
  }
  const owner = scope === "system" ? isNull(webhookEndpoints.ownerId) : eq(webhookEndpoints.ownerId, actor.userId);
  const rows = await deps.db.select().from(webhookEndpoints).where(owner).orderBy(asc(webhookEndpoints.createdAt));
  return { items: rows.map(endpointView) };
}

export async function getEndpoint(deps: EndpointDeps, actor: WebhookActor, id: string) {
  return endpointView(await findVisibleEndpoint(deps.db, actor, id));
}

export async function createEndpoint(
  deps: EndpointDeps,
  actor: WebhookActor,
  input: EndpointInput & { scope: EndpointScope },
  resolve: HostResolver = systemResolver,
): Promise<{ endpoint: EndpointView; secret: string }> {
  if (input.scope === "system" && !actor.mayManageSystem) {
    throw new KitError("FORBIDDEN", "System webhook endpoints need the permission settings: manage_system.");
  }
  await checkUrl(deps, input.url, resolve);
  const ownerId = input.scope === "system" ? null : actor.userId;
  const secret = generateSecret();
  const box = createSecretBox(deps.config);
  const row = await deps.db.transaction(async (tx) => {
    // One owner's creations take turns, so the limit holds under concurrent calls.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`webhook-endpoints:${ownerId ?? "system"}`}))`);
    const [{ n } = { n: 0 }] = await tx
      .select({ n: count() })
      .from(webhookEndpoints)
      .where(ownerId === null ? isNull(webhookEndpoints.ownerId) : eq(webhookEndpoints.ownerId, ownerId));
    const limit = ownerId === null ? MAX_SYSTEM_ENDPOINTS : MAX_ENDPOINTS_PER_OWNER;
    if (n >= limit) {
      throw new KitError(
        "CONFLICT",
        `At most ${limit} webhook endpoints${ownerId ? " per user" : " for the system"}; delete one first.`,
      );
    }
    const id = crypto.randomUUID();
    const [created] = await tx
      .insert(webhookEndpoints)
      .values({
        id,
        ownerId,
        url: input.url,
        description: input.description ?? "",
        eventTypes: [...new Set(input.eventTypes)],
        enabled: input.enabled ?? true,
        secretCiphertext: box.seal(id, "current", secret),
        secretKeyId: box.keyId,
      })
      .returning();
    return created as EndpointRow;
  });
  deps.log.info({ endpointId: row.id, scope: input.scope, host: new URL(row.url).host }, "webhook endpoint created");
  return { endpoint: endpointView(row), secret };
}

export async function updateEndpoint(
  deps: EndpointDeps,
  actor: WebhookActor,
  id: string,
  patch: Partial<EndpointInput>,
  resolve: HostResolver = systemResolver,
): Promise<EndpointView> {
  const current = await findVisibleEndpoint(deps.db, actor, id);
  if (patch.url !== undefined && patch.url !== current.url) await checkUrl(deps, patch.url, resolve);
  const enabling = patch.enabled === true && !current.enabled;
  const [row] = await deps.db
    .update(webhookEndpoints)
    .set({
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.eventTypes !== undefined ? { eventTypes: [...new Set(patch.eventTypes)] } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      // Enabled again: its failures start over (it gets a full day before it is disabled again).
      ...(enabling ? { disabledAt: null, failingSince: null } : {}),
      updatedAt: new Date(),
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  if (!row) throw new KitError("NOT_FOUND", `Webhook endpoint ${id} was deleted meanwhile.`);
  return endpointView(row);
}

export async function removeEndpoint(deps: EndpointDeps, actor: WebhookActor, id: string): Promise<{ id: string }> {
  await findVisibleEndpoint(deps.db, actor, id);
  await deps.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  deps.log.info({ endpointId: id }, "webhook endpoint deleted");
  return { id };
}

/**
 * A new secret, shown once; the old one keeps signing beside it for `overlapHours` (0: retired at
 * once), so receivers can switch without losing a webhook. A secret still in its overlap is
 * replaced by the one being retired now.
 */
export async function rotateSecret(
  deps: EndpointDeps,
  actor: WebhookActor,
  id: string,
  overlapHours: number = DEFAULT_OVERLAP_HOURS,
): Promise<{ endpoint: EndpointView; secret: string }> {
  if (overlapHours < 0 || overlapHours > MAX_OVERLAP_HOURS) {
    throw new KitError("BAD_REQUEST", `overlapHours must be from 0 to ${MAX_OVERLAP_HOURS}.`, [
      { path: "overlapHours", message: `from 0 to ${MAX_OVERLAP_HOURS}` },
    ]);
  }
  const current = await findVisibleEndpoint(deps.db, actor, id);
  const box = createSecretBox(deps.config);
  const oldSecret = box.open(id, "current", current.secretKeyId, current.secretCiphertext);
  const secret = generateSecret();
  const now = new Date();
  const overlap = overlapHours > 0;
  const [row] = await deps.db
    .update(webhookEndpoints)
    .set({
      secretCiphertext: box.seal(id, "current", secret),
      secretKeyId: box.keyId,
      previousSecretCiphertext: overlap ? box.seal(id, "previous", oldSecret) : null,
      previousSecretKeyId: overlap ? box.keyId : null,
      previousSecretExpiresAt: overlap ? new Date(now.getTime() + overlapHours * 3_600_000) : null,
      secretRotatedAt: now,
      updatedAt: now,
    })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.secretCiphertext, current.secretCiphertext)))
    .returning();
  if (!row)
    throw new KitError(
      "CONFLICT",
      "The secret was rotated meanwhile by another call; rotate again if you need a new one.",
    );
  deps.log.info({ endpointId: id, overlapHours }, "webhook endpoint secret rotated");
  return { endpoint: endpointView(row), secret };
}
