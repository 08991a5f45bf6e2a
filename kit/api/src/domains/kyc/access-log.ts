// The access log (kyc_document_access): a row for every read of an applicant's personal data by
// anyone, written before the data leaves Kit, so nothing is ever handed out unrecorded.
import type { Database, Transaction } from "../../infra/db";
import { type AccessKind, kycDocumentAccess } from "./schema";

/** Who asked, from where (the router fills it from the request). */
export interface Requester {
  ipAddress: string | null;
  userAgent: string | null;
}

export interface AccessRecord {
  kind: AccessKind;
  applicationId: string;
  /** For `document_url` only. */
  documentId?: string;
  /** The reader. */
  userId: string;
  requester: Requester;
}

/** In `tx` when given, so the record commits (or not) with the change whose answer carries the data. */
export async function recordAccess(db: Database | Transaction, record: AccessRecord): Promise<void> {
  await db.insert(kycDocumentAccess).values({
    kind: record.kind,
    applicationId: record.applicationId,
    documentId: record.documentId ?? null,
    userId: record.userId,
    ipAddress: record.requester.ipAddress,
    userAgent: record.requester.userAgent,
  });
}
