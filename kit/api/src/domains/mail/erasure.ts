// An erased KYC application's message leaves the mail log too (a reviewer's message to the
// applicant may name them): the row stays (a mail was sent, or is due), its `message` becomes null.
import { sql } from "drizzle-orm";
import type { Transaction } from "../../infra/db";
import { mailMessages } from "./schema";

/** In the erasure's transaction: clears `message` in every mail about the application. */
export async function clearApplicationMailMessages(tx: Transaction, applicationId: string): Promise<void> {
  await tx
    .update(mailMessages)
    .set({ data: sql`jsonb_set(${mailMessages.data}, '{message}', 'null')` })
    .where(
      sql`${mailMessages.data}->>'applicationId' = ${applicationId} and ${mailMessages.data}->>'message' is not null`,
    );
}
