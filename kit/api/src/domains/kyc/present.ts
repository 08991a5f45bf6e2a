// Rows as the API shows them: personal data decrypted (only ever for the owner and reviewers),
// and what an application still lacks before it can be submitted.
import type { Application, KycDocument } from "./contract-shapes";
import type { DocumentType } from "./contract-values";
import type { ApplicationCipher } from "./data-keys";
import type { ApplicationRow } from "./lifecycle";
import type { kycDocuments } from "./schema";

export type DocumentRow = typeof kycDocuments.$inferSelect;

const IDENTITY_DOCUMENT_TYPES: readonly DocumentType[] = ["passport", "national_id", "driving_licence"];
const MINIMUM_AGE_YEARS = 18;

export function presentDocument(row: DocumentRow): KycDocument {
  return {
    id: row.id,
    type: row.type,
    fileName: row.fileName,
    contentType: row.contentType as KycDocument["contentType"],
    size: row.size,
    sha256: row.sha256,
    status: row.confirmedAt ? "confirmed" : "pending",
    createdAt: row.createdAt.toISOString(),
    confirmedAt: row.confirmedAt?.toISOString() ?? null,
    feedback:
      row.feedbackLabel && row.feedbackAt
        ? { label: row.feedbackLabel, message: row.feedbackMessage, at: row.feedbackAt.toISOString() }
        : null,
  };
}

/**
 * The decrypted personal data of a row, with its application's cipher (data-keys.ts
 * openApplicationCipher: erased and unconfigured keys were refused there); throws if a value was
 * altered or moved from another application or field.
 */
export function decryptPersonalData(cipher: ApplicationCipher, row: ApplicationRow): Application["personalData"] {
  if (cipher.applicationId !== row.id) throw new Error("KYC cipher of another application");
  const decrypt = (field: "date_of_birth" | "national_id", value: Buffer | null) =>
    value && row.piiKeyId ? cipher.decrypt(field, row.piiKeyId, value) : null;
  return {
    firstName: row.firstName,
    lastName: row.lastName,
    dateOfBirth: decrypt("date_of_birth", row.dateOfBirthEncrypted),
    nationality: row.nationality,
    countryOfResidence: row.countryOfResidence,
    residencyStatus: row.residencyStatus,
    address: row.address,
    nationalIdNumber: decrypt("national_id", row.nationalIdEncrypted),
    taxResidencies: row.taxResidencies,
  };
}

/** Whole years between a YYYY-MM-DD birth date and `on`. */
function ageOn(dateOfBirth: string, on: Date): number {
  const [year, month, day] = dateOfBirth.split("-").map(Number) as [number, number, number];
  const age = on.getUTCFullYear() - year;
  const hadBirthday = on.getUTCMonth() + 1 > month || (on.getUTCMonth() + 1 === month && on.getUTCDate() >= day);
  return hadBirthday ? age : age - 1;
}

/** What `submit` still needs, in words a form can show; empty when the application is complete. */
export function missingForSubmit(
  personal: Application["personalData"],
  documents: Pick<DocumentRow, "type" | "fileName" | "confirmedAt" | "deletingAt" | "feedbackLabel">[],
  now = new Date(),
): string[] {
  const missing: string[] = [];
  const required: [keyof Application["personalData"], string][] = [
    ["firstName", "first name"],
    ["lastName", "last name"],
    ["dateOfBirth", "date of birth"],
    ["nationality", "nationality"],
    ["countryOfResidence", "country of residence"],
    ["residencyStatus", "residency status"],
    ["address", "address"],
    ["nationalIdNumber", "national id number"],
    ["taxResidencies", "tax residency"],
  ];
  for (const [field, words] of required) {
    const value = personal[field];
    if (value === null || (Array.isArray(value) && value.length === 0)) missing.push(words);
  }
  if (personal.dateOfBirth && ageOn(personal.dateOfBirth, now) < MINIMUM_AGE_YEARS) {
    missing.push(`age of at least ${MINIMUM_AGE_YEARS}`);
  }
  const confirmed = documents.filter((d) => d.confirmedAt && !d.deletingAt);
  if (!confirmed.some((d) => IDENTITY_DOCUMENT_TYPES.includes(d.type))) {
    missing.push("a confirmed identity document (passport, national id or driving licence)");
  }
  if (!confirmed.some((d) => d.type === "proof_of_address")) missing.push("a confirmed proof of address");
  for (const rejected of confirmed.filter((d) => d.feedbackLabel)) {
    missing.push(
      `a replacement for the rejected ${rejected.type.replaceAll("_", " ")} ${rejected.fileName} (remove it)`,
    );
  }
  return missing;
}

export function presentApplication(
  cipher: ApplicationCipher,
  row: ApplicationRow,
  documents: Pick<DocumentRow, "type" | "fileName" | "confirmedAt" | "deletingAt" | "feedbackLabel">[],
): Application {
  const personalData = decryptPersonalData(cipher, row);
  return {
    id: row.id,
    status: row.status,
    version: row.version,
    personalData,
    missing:
      row.status === "draft" || row.status === "changes_requested" ? missingForSubmit(personalData, documents) : [],
    // The applicant's message only: the internal note never leaves through this shape.
    messageToApplicant: row.decisionReason,
    decisionReason: row.decisionReason,
    submittedAt: row.submittedAt?.toISOString() ?? null,
    decidedAt: row.decidedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
