// KYC applications for tests, made directly in the database and the object store (not through the
// investor procedures), so reviewer, event and bench tests do not depend on that code path. Every
// status change still goes through `changeStatus`, so history rows and database guards apply.
import { createHash, randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { user } from "../src/domains/auth/schema";
import type { DocumentType, KycStatus } from "../src/domains/kyc/contract-values";
import { applicationCipher, DATA_KEY_ID, newDataKey } from "../src/domains/kyc/data-keys";
import { kycDataKeys } from "../src/domains/kyc/data-keys-schema";
import { storeSealedDocument } from "../src/domains/kyc/document-seal";
import { type ApplicationRow, changeStatus } from "../src/domains/kyc/lifecycle";
import type { DocumentRow } from "../src/domains/kyc/present";
import { kycApplications, kycDocuments, kycStatusHistory, type PostalAddress } from "../src/domains/kyc/schema";
import type { TestKit } from "./kit";

export interface ApplicationOverrides {
  firstName?: string;
  lastName?: string;
  nationality?: string;
  countryOfResidence?: string;
  /** YYYY-MM-DD */
  dateOfBirth?: string;
  nationalIdNumber?: string;
  address?: PostalAddress;
  /** When it was submitted (default: now); the reviewer queue is ordered by it. */
  submittedAt?: Date;
}

export interface TestApplication {
  id: string;
  row: ApplicationRow;
  /** Confirmed passport and proof of address, their bytes stored encrypted in the kyc-documents bucket. */
  documents: DocumentRow[];
  /** The stored bytes, by document id. */
  bytes: Map<string, Uint8Array>;
}

let applicants = 0;

/**
 * A user who owns applications but never signs in: a row in `user` only, so tests can make many
 * (sign-ins are rate-limited to 10 a minute per address; use test/users.ts for users who call).
 */
export async function createApplicant(
  kit: TestKit,
  name = `Applicant ${++applicants}`,
): Promise<{ id: string; name: string; email: string }> {
  const id = randomUUID();
  const email = `applicant-${id}@example.com`;
  const now = new Date();
  await kit.deps.db.insert(user).values({ id, name, email, role: "investor", createdAt: now, updatedAt: now });
  return { id, name, email };
}

/** A complete draft with two confirmed documents; history has its creation row. */
export async function createDraftApplication(
  kit: TestKit,
  applicant: { id: string },
  overrides: ApplicationOverrides = {},
): Promise<TestApplication> {
  const { db, storage } = kit.deps;
  const id = randomUUID();
  // As the investor procedures write them: personal data and documents under the application's
  // own data key, stored wrapped by the master key.
  const { dataKey, row: wrappedKey } = newDataKey(kit.deps.local.piiKeyring, id);
  const cipher = applicationCipher(kit.deps.local.piiKeyring, id, dataKey);
  const [row] = await db
    .insert(kycApplications)
    .values({
      id,
      userId: applicant.id,
      firstName: overrides.firstName ?? "Ada",
      lastName: overrides.lastName ?? "Lovelace",
      nationality: overrides.nationality ?? "GB",
      countryOfResidence: overrides.countryOfResidence ?? "FR",
      residencyStatus: "permanent_resident",
      address: overrides.address ?? { line1: "1 rue de Rivoli", city: "Paris", postalCode: "75001", country: "FR" },
      taxResidencies: ["FR"],
      // The AAD binds each ciphertext to this row id: the id must be chosen before encrypting.
      dateOfBirthEncrypted: cipher.encrypt("date_of_birth", overrides.dateOfBirth ?? "1985-12-10"),
      nationalIdEncrypted: cipher.encrypt("national_id", overrides.nationalIdNumber ?? "AB 123456"),
      piiKeyId: DATA_KEY_ID,
    })
    .returning();
  if (!row) throw new Error("application insert returned no row");
  await db.insert(kycDataKeys).values(wrappedKey);
  await db.insert(kycStatusHistory).values({ applicationId: id, toStatus: "draft", actorId: applicant.id });

  const documents: DocumentRow[] = [];
  const bytes = new Map<string, Uint8Array>();
  for (const type of ["passport", "proof_of_address"] as DocumentType[]) {
    const documentId = randomUUID();
    const body = new TextEncoder().encode(`%PDF-1.4 test ${type} of ${id}\n`);
    const bucketKey = await storeSealedDocument(
      storage,
      dataKey,
      { id: documentId, applicationId: id, bucketKey: `${id}/${type}/${documentId}` },
      Buffer.from(body),
    );
    const [document] = await db
      .insert(kycDocuments)
      .values({
        id: documentId,
        applicationId: id,
        type,
        bucketKey,
        fileName: `${type}.pdf`,
        contentType: "application/pdf",
        size: body.byteLength,
        sha256: createHash("sha256").update(body).digest("hex"),
        confirmedAt: new Date(),
        encrypted: true,
      })
      .returning();
    if (!document) throw new Error("document insert returned no row");
    documents.push(document);
    bytes.set(documentId, body);
  }
  return { id, row, documents, bytes };
}

/** A draft as above, then submitted (history: draft, submitted). */
export async function createSubmittedApplication(
  kit: TestKit,
  applicant: { id: string },
  overrides: ApplicationOverrides = {},
): Promise<TestApplication> {
  const draft = await createDraftApplication(kit, applicant, overrides);
  const row = await moveApplication(kit, draft.id, "submitted", {
    actorId: applicant.id,
    submittedAt: overrides.submittedAt,
  });
  return { ...draft, row };
}

/** From draft, the path to each status (the shortest one through the graph). */
const PATHS: Record<KycStatus, KycStatus[]> = {
  draft: [],
  submitted: ["submitted"],
  in_review: ["submitted", "in_review"],
  approval_pending: ["submitted", "in_review", "approval_pending"],
  approved: ["submitted", "in_review", "approved"],
  rejected: ["submitted", "in_review", "rejected"],
  changes_requested: ["submitted", "in_review", "changes_requested"],
  expired: ["submitted", "in_review", "approved", "expired"],
  revoked: ["submitted", "in_review", "approved", "revoked"],
};

/**
 * Moves an application forward along the graph to `to` (from wherever it is on the path from
 * draft), one `changeStatus` per edge, each with what that status requires (a reviewer for
 * in_review; decidedAt and expiresAt for approved).
 */
export async function moveApplication(
  kit: TestKit,
  applicationId: string,
  to: KycStatus,
  options: { actorId?: string | null; reviewerId?: string; submittedAt?: Date; expiresAt?: Date } = {},
): Promise<ApplicationRow> {
  return kit.deps.db.transaction(async (tx) => {
    const [start] = await tx.select().from(kycApplications).where(eq(kycApplications.id, applicationId));
    if (!start) throw new Error(`no application ${applicationId}`);
    let row = start;
    const path = PATHS[to];
    for (const next of path.slice(path.indexOf(row.status) + 1)) {
      const now = new Date();
      const set: Partial<ApplicationRow> =
        next === "submitted"
          ? { submittedAt: options.submittedAt ?? now }
          : next === "in_review"
            ? { reviewerId: options.reviewerId ?? options.actorId ?? null, claimedAt: now }
            : next === "approval_pending"
              ? {
                  firstApproverId: options.actorId ?? options.reviewerId ?? null,
                  firstApprovedAt: now,
                  approvalsRequired: 2,
                }
              : next === "approved"
                ? { decidedAt: now, expiresAt: options.expiresAt ?? new Date(now.getTime() + 365 * 86_400_000) }
                : ["rejected", "changes_requested", "revoked"].includes(next)
                  ? { decidedAt: now, decisionReason: `test: ${next}` }
                  : {};
      row = (await changeStatus(tx, row, next, { actorId: options.actorId ?? null, set })).application;
    }
    return row;
  });
}
