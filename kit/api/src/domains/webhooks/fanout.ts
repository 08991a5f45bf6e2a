// The webhook channel's entry for the notifications dispatcher: one pending delivery per matching
// endpoint, written in the dispatcher's own transaction, so an event and its deliveries commit
// together; the unique (event, endpoint) pair makes a second dispatch of the same event a no-op.
import { sql } from "drizzle-orm";
import type { Database, Transaction } from "../../infra/db";
import type { NotificationEvent } from "../../notification-catalogue";

/**
 * Fields of free text a system endpoint does not receive: a reviewer's message to an applicant and a
 * user's own endpoint URL are theirs, not the system integration's. What remains are ids, statuses,
 * wallet addresses, amounts and times.
 */
const NOT_FOR_SYSTEM_ENDPOINTS = new Set(["message", "url"]);

/** What a system endpoint sees of an event's data. */
function systemView(data: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !NOT_FOR_SYSTEM_ENDPOINTS.has(key)));
}

/**
 * Queues `event` for every enabled endpoint whose filter has its type: a user's endpoint when its
 * owner is among the event's recipients, a system endpoint whoever the recipients are.
 */
export async function queueWebhookDeliveries(tx: Transaction | Database, event: NotificationEvent): Promise<number> {
  const inserted = await tx.execute(sql`
    insert into webhook_deliveries (event_id, endpoint_id, event_type, occurred_at, data)
    select ${event.id}, e.id, ${event.type}, ${event.occurredAt.toISOString()}::timestamptz,
           case when e.owner_id is null then ${JSON.stringify(systemView(event.data))}::jsonb
                else ${JSON.stringify(event.data)}::jsonb end
    from webhook_endpoints e
    where e.enabled
      and ${event.type} = any(e.event_types)
      and (e.owner_id is null
           or e.owner_id in (select jsonb_array_elements_text(${JSON.stringify(event.recipients)}::jsonb)))
    on conflict (event_id, endpoint_id) do nothing`);
  return inserted.rowCount ?? 0;
}
