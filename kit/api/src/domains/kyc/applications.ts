// The applicant's own application: read, save (PUT: the form as a whole), submit. The caller is
// always the owner (the user id comes from the session); personal data is encrypted here, on every
// save, with the application's data key (data-keys.ts), made with the application in one transaction.
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, isNull, notInArray } from "drizzle-orm";
import type { JobQueue } from "../../deps";
import { KitError } from "../../errors";
import { type Database, PG_UNIQUE_VIOLATION, postgresError, type Transaction } from "../../infra/db";
import { kickDispatcher } from "../notifications/record";
import type { OwnApplication, SaveApplicationInput } from "./contract-applicant";
import type { Application } from "./contract-shapes";
import { CLOSED_STATUSES, type KycStatus } from "./contract-values";
import type { PiiKeyring } from "./crypto";
import {
  type ApplicationCipher,
  applicationCipher,
  DATA_KEY_ID,
  ensureDataKey,
  newDataKey,
  openApplicationCipher,
} from "./data-keys";
import { kycDataKeys } from "./data-keys-schema";
import {
  type ApplicationRow,
  announceStatusChange,
  assertVersion,
  changeStatus,
  isEditable,
  type KycDeps,
  type StatusChange,
  statusWords,
} from "./lifecycle";
import { recordStatusNotice } from "./notices";
import { listRegistrations } from "./onchain-status";
import { decryptPersonalData, missingForSubmit, presentApplication } from "./present";
import { kycApplications, kycDocuments, kycStatusHistory } from "./schema";

const SAVE_PATH = "PUT /api/kyc/application";

/**
 * The user's open application (at most one: a partial unique index), or undefined.
 * `lock` takes a row lock in the caller's transaction: "update" to change the application itself,
 * "share" to change its documents while keeping `submit` (which takes "update") out.
 */
export async function findOpenApplication(
  db: Database | Transaction,
  userId: string,
  lock?: "update" | "share",
): Promise<ApplicationRow | undefined> {
  const query = db
    .select()
    .from(kycApplications)
    .where(
      and(
        eq(kycApplications.userId, userId),
        notInArray(kycApplications.status, [...CLOSED_STATUSES]),
        isNull(kycApplications.erasedAt),
      ),
    );
  const [row] = lock ? await query.for(lock) : await query;
  return row;
}

/** FORBIDDEN when a final rejection of the user's is still in force: no new application starts. */
async function assertMayStartApplication(db: Database | Transaction, userId: string): Promise<void> {
  const [blocked] = await db
    .select({ id: kycApplications.id })
    .from(kycApplications)
    .where(
      and(
        eq(kycApplications.userId, userId),
        eq(kycApplications.rejectionFinal, true),
        isNull(kycApplications.blockLiftedAt),
      ),
    )
    .limit(1);
  if (blocked) {
    throw new KitError(
      "FORBIDDEN",
      "Your last KYC application was rejected and a new one cannot be started; contact support, who can review the decision and let you apply again.",
    );
  }
}

/** The application's documents that count (not being removed), oldest first. */
export function liveDocuments(db: Database | Transaction, applicationId: string) {
  return db
    .select()
    .from(kycDocuments)
    .where(and(eq(kycDocuments.applicationId, applicationId), isNull(kycDocuments.deletingAt)))
    .orderBy(asc(kycDocuments.createdAt), asc(kycDocuments.id));
}

export function notEditable(status: KycStatus, action: string): KitError {
  return new KitError(
    "CONFLICT",
    `Your application is ${statusWords(status)}, so you cannot ${action}; that is possible only while it is a draft or changes are requested.`,
  );
}

/** The user's latest application not erased (an erased one is no longer theirs to read), or null. */
export async function getApplication(deps: KycDeps, userId: string): Promise<OwnApplication | null> {
  const [row] = await deps.db
    .select()
    .from(kycApplications)
    .where(and(eq(kycApplications.userId, userId), isNull(kycApplications.erasedAt)))
    .orderBy(desc(kycApplications.createdAt), desc(kycApplications.id))
    .limit(1);
  if (!row) return null;
  const [documents, onchain] = await Promise.all([
    liveDocuments(deps.db, row.id),
    listRegistrations(deps.db, userId, "applicant"),
  ]);
  const cipher = await openApplicationCipher(deps.db, deps.local.piiKeyring, row.id);
  return { ...presentApplication(cipher, row, documents), onchain };
}

/** The row's columns for `input`, PII encrypted with the application's data key (fields left out become null). */
function columnsFor(cipher: ApplicationCipher, input: SaveApplicationInput) {
  const dateOfBirth = input.dateOfBirth ?? null;
  const nationalId = input.nationalIdNumber ?? null;
  return {
    firstName: input.firstName ?? null,
    lastName: input.lastName ?? null,
    nationality: input.nationality ?? null,
    countryOfResidence: input.countryOfResidence ?? null,
    residencyStatus: input.residencyStatus ?? null,
    address: input.address ?? null,
    taxResidencies: input.taxResidencies ?? null,
    dateOfBirthEncrypted: dateOfBirth === null ? null : cipher.encrypt("date_of_birth", dateOfBirth),
    nationalIdEncrypted: nationalId === null ? null : cipher.encrypt("national_id", nationalId),
    piiKeyId: dateOfBirth === null && nationalId === null ? null : DATA_KEY_ID,
  };
}

function isOpenApplicationClash(error: unknown): boolean {
  const failure = postgresError(error);
  return failure?.code === PG_UNIQUE_VIOLATION && failure.constraint === "kyc_applications_open_per_user_idx";
}

/**
 * Replaces the personal data of the user's open application, or starts a new draft when none is
 * open. Two first saves at once: the unique index lets one insert; the other becomes an update.
 */
export async function saveApplication(
  deps: KycDeps,
  userId: string,
  input: SaveApplicationInput,
): Promise<Application> {
  const keyring = deps.local.piiKeyring;
  const { version, ...personal } = input;
  for (let attempt = 1; ; attempt++) {
    const open = await findOpenApplication(deps.db, userId);
    if (open) return updateApplication(deps, keyring, open, personal, version);
    await assertMayStartApplication(deps.db, userId);
    let created: { change: StatusChange; cipher: ApplicationCipher };
    try {
      created = await createApplication(deps.db, keyring, userId, personal);
    } catch (error) {
      if (!isOpenApplicationClash(error)) throw error;
      if (attempt >= 2) {
        throw new KitError(
          "CONFLICT",
          "Your application was being created by another request; reload it and try again.",
        );
      }
      continue;
    }
    // A new draft changes the user's standing (cached) and is news to their status stream.
    await announceStatusChange(deps, created.change);
    return presentApplication(created.cipher, created.change.application, []);
  }
}

async function createApplication(
  db: Database,
  keyring: PiiKeyring,
  userId: string,
  personal: SaveApplicationInput,
): Promise<{ change: StatusChange; cipher: ApplicationCipher }> {
  // The id is chosen here because the ciphertext and the wrapped key are bound to it (crypto.ts).
  const id = randomUUID();
  const { dataKey, row: wrapped } = newDataKey(keyring, id);
  const cipher = applicationCipher(keyring, id, dataKey);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(kycApplications)
      .values({ id, userId, status: "draft", ...columnsFor(cipher, personal) })
      .returning();
    if (!row) throw new Error("kyc_applications insert returned no row");
    // Same transaction: no application ever exists without its key.
    await tx.insert(kycDataKeys).values(wrapped);
    await tx
      .insert(kycStatusHistory)
      .values({ applicationId: id, fromStatus: null, toStatus: "draft", actorId: userId });
    return { change: { application: row, previousStatus: null }, cipher };
  });
}

async function updateApplication(
  deps: KycDeps,
  keyring: PiiKeyring,
  open: ApplicationRow,
  personal: SaveApplicationInput,
  version: number | undefined,
): Promise<Application> {
  if (!isEditable(open.status)) throw notEditable(open.status, "change it");
  assertVersion(version, open.version);
  const { row, cipher } = await deps.db.transaction(async (tx) => {
    // An application from before envelope encryption gets its key with its first save.
    const cipher = applicationCipher(keyring, open.id, await ensureDataKey(tx, keyring, open.id));
    // Compare-and-set on the version read: a submit or another save in between makes this a CONFLICT.
    const [row] = await tx
      .update(kycApplications)
      .set(columnsFor(cipher, personal))
      .where(and(eq(kycApplications.id, open.id), eq(kycApplications.version, open.version)))
      .returning();
    if (!row) {
      throw new KitError("CONFLICT", "Your application changed while you were saving it; reload it and try again.");
    }
    return { row, cipher };
  });
  return presentApplication(cipher, row, await liveDocuments(deps.db, row.id));
}

export async function submitApplication(
  deps: KycDeps & { jobs?: JobQueue },
  userId: string,
  input: { version?: number },
  /** Whether the caller's e-mail address is verified (the session's user). */
  applicant: { emailVerified: boolean },
): Promise<Application> {
  // Decisions and their notices go to that address: it must be the applicant's (KYC_REQUIRE_VERIFIED_EMAIL).
  if (deps.config.kyc.requireVerifiedEmail && !applicant.emailVerified) {
    throw new KitError(
      "PRECONDITION_FAILED",
      "Verify your e-mail address before submitting: follow the link in the mail we sent when you signed up, or ask for a new one (POST /api/auth/send-verification-email).",
    );
  }
  const keyring = deps.local.piiKeyring;
  const submitted = await deps.db.transaction(async (tx) => {
    // Locked so that no document is removed or confirmed between the completeness check and the change.
    const open = await findOpenApplication(tx, userId, "update");
    if (!open) {
      throw new KitError("PRECONDITION_FAILED", `You have no application to submit: save one first (${SAVE_PATH}).`);
    }
    if (!isEditable(open.status)) {
      throw new KitError(
        "CONFLICT",
        `Your application is ${statusWords(open.status)}; only a draft or an application with changes requested can be submitted.`,
      );
    }
    assertVersion(input.version, open.version);
    const cipher = await openApplicationCipher(tx, keyring, open.id);
    const missing = missingForSubmit(decryptPersonalData(cipher, open), await liveDocuments(tx, open.id));
    if (missing.length > 0) {
      throw new KitError(
        "PRECONDITION_FAILED",
        `Your application is not complete; still needed: ${missing.join("; ")}.`,
      );
    }
    const change = await changeStatus(tx, open, "submitted", {
      actorId: userId,
      set: { submittedAt: new Date(), reviewerId: null, claimedAt: null },
    });
    await recordStatusNotice(tx, change, null);
    return { change, cipher };
  });
  await announceStatusChange(deps, submitted.change);
  await kickDispatcher(deps);
  return presentApplication(submitted.cipher, submitted.change.application, []);
}
