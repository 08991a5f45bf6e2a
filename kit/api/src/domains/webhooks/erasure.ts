// An erased KYC application's message leaves the webhook deliveries too (a reviewer's message to
// the applicant may name them): a delivery still due goes without it, and the record of one made
// keeps no copy. The delivery rows stay.
import { sql } from "drizzle-orm";
import type { Transaction } from "../../infra/db";
import { webhookDeliveries } from "./schema";

/** In the erasure's transaction: clears `message` in every delivery about the application. */
export async function clearApplicationDeliveryMessages(tx: Transaction, applicationId: string): Promise<void> {
  await tx
    .update(webhookDeliveries)
    .set({ data: sql`jsonb_set(${webhookDeliveries.data}, '{message}', 'null')` })
    .where(
      sql`${webhookDeliveries.data}->>'applicationId' = ${applicationId} and ${webhookDeliveries.data}->>'message' is not null`,
    );
}
