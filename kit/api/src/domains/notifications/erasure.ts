// An erased KYC application's messages leave the notifications too: a reviewer's message to the
// applicant may name them. The events and inbox rows stay (the applicant was told of a decision);
// their `message` becomes null (as for a decision that had none).
import { sql } from "drizzle-orm";
import type { Transaction } from "../../infra/db";
import { notificationEvents, notifications } from "./schema";

/** In the erasure's transaction: clears `message` in every event and inbox row about the application. */
export async function clearApplicationMessages(tx: Transaction, applicationId: string): Promise<void> {
  const about = (data: typeof notificationEvents.data | typeof notifications.data) =>
    sql`${data}->>'applicationId' = ${applicationId} and ${data}->>'message' is not null`;
  await tx
    .update(notificationEvents)
    .set({ data: sql`jsonb_set(${notificationEvents.data}, '{message}', 'null')` })
    .where(about(notificationEvents.data));
  await tx
    .update(notifications)
    .set({ data: sql`jsonb_set(${notifications.data}, '{message}', 'null')` })
    .where(about(notifications.data));
}
