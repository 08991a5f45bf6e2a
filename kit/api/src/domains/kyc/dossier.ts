// The investor's whole file: one application as a signed ZIP — the decrypted application, every
// confirmed document's original bytes, the status history, the access log, the on-chain record
// with transaction hashes, and manifest.json (each file's name, size and SHA-256) signed with the
// export key (manifest.sig). The export is checked (four eyes: never one's own), then recorded —
// an access-log row and an audit event, in one transaction — before a byte leaves; then streamed:
// each document is read from the object store and decrypted only when the archive reaches it.
import { and, asc, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Config } from "../../config";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import type { Storage } from "../../infra/storage";
import { exportKeyFromSeed } from "../audit/export-key";
import { type AuditActor, recordAudit } from "../audit/record";
import { user } from "../auth/schema";
import type { CallerUser } from "../auth/session";
import { ELIGIBILITY_KINDS } from "../operations/contract-values";
import { tokenOperations } from "../operations/schema";
import { type Requester, recordAccess } from "./access-log";
import { openApplicationCipher } from "./data-keys";
import { readDocumentBytes } from "./document-seal";
import { ensureStorageReachable } from "./document-store";
import { jsonPart, readableOf, signedZip, type ZipPart } from "./dossier-zip";
import { listFreezes } from "./freeze-cases";
import type { ApplicationRow, KycDeps } from "./lifecycle";
import { type DocumentRow, presentApplication, presentDocument } from "./present";
import { kycApplications, kycDocumentAccess, kycDocuments, kycOnchainRegistrations, kycStatusHistory } from "./schema";

const DOSSIER_FORMAT = "kit.kyc-dossier/1";

export interface DossierDeps extends KycDeps {
  config: KycDeps["config"] & Pick<Config, "audit">;
  storage: Storage;
}

export interface Dossier {
  fileName: string;
  body: ReadableStream<Uint8Array>;
}

/** `documents/<id>-<name>`: the id keeps names unique, the name is the uploader's, made path-safe. */
export function documentEntryName(document: Pick<DocumentRow, "id" | "fileName">): string {
  const safe = document.fileName
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^\.+/, "_")
    .slice(0, 100);
  return `documents/${document.id}-${safe || "file"}`;
}

/**
 * Checks and records the export of `applicationId` by `exporter`, then answers the archive as a
 * stream. NOT_FOUND for an unknown id or a draft (a draft is the applicant's private work, as in
 * every review procedure), FORBIDDEN for one's own application.
 */
export async function exportDossier(
  deps: DossierDeps,
  exporter: CallerUser,
  applicationId: string,
  requester: Requester,
  actor: AuditActor,
): Promise<Dossier> {
  const [found] = await deps.db
    .select({ application: kycApplications, applicant: { id: user.id, name: user.name, email: user.email } })
    .from(kycApplications)
    .innerJoin(user, eq(user.id, kycApplications.userId))
    .where(eq(kycApplications.id, applicationId));
  if (!found || found.application.status === "draft") {
    throw new KitError("NOT_FOUND", `No submitted KYC application ${applicationId}; check the id in the queue.`);
  }
  if (found.application.erasedAt) {
    throw new KitError(
      "NOT_FOUND",
      `KYC application ${applicationId} was erased on ${found.application.erasedAt.toISOString()}: there is no file to export; its pseudonymous history is at GET /api/kyc/review/${applicationId}.`,
    );
  }
  if (found.application.userId === exporter.id) {
    throw new KitError(
      "FORBIDDEN",
      "This is your own KYC application: four-eyes rule, another reviewer must export it.",
    );
  }
  const key = exportKeyFromSeed(deps.config.audit.exportKeySeed);
  const exportedAt = new Date();
  const documents = await confirmedDocuments(deps.db, applicationId);
  // What can fail for want of a dependency fails here, with a 503 and nothing recorded: the
  // personal data's key (decrypting), the object store (reached only once the answer has begun).
  const application = await applicationView(deps, found, documents);
  await ensureStorageReachable(deps.storage);
  // Recorded before the first byte: no export goes unrecorded, even one whose download breaks.
  await deps.db.transaction(async (tx) => {
    await recordAccess(tx, { kind: "application_view", applicationId, userId: exporter.id, requester });
    await recordAudit(tx, actor, {
      action: "kyc.dossier_exported",
      subject: { type: "kyc_application", id: applicationId },
      after: { documents: documents.length, keyId: key.keyId, format: DOSSIER_FORMAT },
    });
  });
  // Read after the records: the dossier's access log shows this export too.
  const [history, accessLog, onchain] = await Promise.all([
    statusHistory(deps.db, applicationId),
    accessRows(deps.db, applicationId),
    onchainRecord(deps.db, found.application.userId),
  ]);
  const parts: ZipPart[] = [
    jsonPart("application.json", application),
    ...documents.map((document) => documentPart(deps, document)),
    jsonPart("history.json", history),
    jsonPart("access-log.json", accessLog),
    jsonPart("onchain.json", onchain),
  ];
  const header = {
    format: DOSSIER_FORMAT,
    applicationId,
    exportedBy: exporter.id,
    exportedAt: exportedAt.toISOString(),
    algorithm: key.algorithm,
    keyId: key.keyId,
  };
  const body = readableOf(signedZip(parts, header, key, exportedAt), (error) =>
    deps.log.error({ err: error, applicationId }, "KYC dossier export broke off mid-stream"),
  );
  return { fileName: `kyc-dossier-${applicationId}.zip`, body };
}

/** Confirmed documents not being removed, oldest first: those whose bytes Kit checked. */
function confirmedDocuments(db: Database, applicationId: string): Promise<DocumentRow[]> {
  return db
    .select()
    .from(kycDocuments)
    .where(
      and(
        eq(kycDocuments.applicationId, applicationId),
        isNotNull(kycDocuments.confirmedAt),
        isNull(kycDocuments.deletingAt),
      ),
    )
    .orderBy(asc(kycDocuments.createdAt), asc(kycDocuments.id));
}

async function applicationView(
  deps: DossierDeps,
  found: { application: ApplicationRow; applicant: { id: string; name: string; email: string } },
  documents: DocumentRow[],
) {
  const { application: row, applicant } = found;
  return {
    application: presentApplication(
      await openApplicationCipher(deps.db, deps.local.piiKeyring, row.id),
      row,
      documents,
    ),
    applicant,
    reviewerId: row.reviewerId,
    claimedAt: row.claimedAt?.toISOString() ?? null,
    documents: documents.map((document) => ({
      ...presentDocument(document),
      entry: documentEntryName(document),
    })),
    freezes: await listFreezes(deps.db, row.userId),
  };
}

function statusHistory(db: Database, applicationId: string) {
  return db
    .select()
    .from(kycStatusHistory)
    .where(eq(kycStatusHistory.applicationId, applicationId))
    .orderBy(asc(kycStatusHistory.id));
}

function accessRows(db: Database, applicationId: string) {
  return db
    .select()
    .from(kycDocumentAccess)
    .where(eq(kycDocumentAccess.applicationId, applicationId))
    .orderBy(asc(kycDocumentAccess.id));
}

/**
 * The applicant's wallets as Kit registered them, and every identity operation Kit sent for them
 * (transaction hashes, replaced ones too, and each step's) — the signed transactions left out.
 */
async function onchainRecord(db: Database, userId: string) {
  const [registrations, operations] = await Promise.all([
    db
      .select()
      .from(kycOnchainRegistrations)
      .where(eq(kycOnchainRegistrations.userId, userId))
      .orderBy(asc(kycOnchainRegistrations.createdAt), asc(kycOnchainRegistrations.wallet)),
    db
      .select({
        id: tokenOperations.id,
        kind: tokenOperations.kind,
        status: tokenOperations.status,
        chainId: tokenOperations.chainId,
        target: tokenOperations.target,
        cause: tokenOperations.cause,
        parameters: tokenOperations.parameters,
        signer: tokenOperations.signer,
        nonce: tokenOperations.nonce,
        txHash: tokenOperations.txHash,
        replacedHashes: tokenOperations.replacedHashes,
        blockNumber: tokenOperations.blockNumber,
        blockHash: tokenOperations.blockHash,
        steps: tokenOperations.steps,
        errorCode: tokenOperations.errorCode,
        error: tokenOperations.error,
        createdAt: tokenOperations.createdAt,
        confirmedAt: tokenOperations.confirmedAt,
      })
      .from(tokenOperations)
      .where(
        and(
          inArray(tokenOperations.kind, [...ELIGIBILITY_KINDS]),
          sql`${tokenOperations.parameters}->>'userId' = ${userId}`,
        ),
      )
      .orderBy(asc(tokenOperations.createdAt), asc(tokenOperations.id)),
  ]);
  return {
    registrations,
    operations: operations.map(({ steps, ...operation }) => ({
      ...operation,
      steps: steps?.done.map(({ step, txHash, nonce, blockNumber, blockHash }) => ({
        step,
        txHash,
        nonce,
        blockNumber,
        blockHash,
      })),
    })),
  };
}

/**
 * A document's original bytes, decrypted with its application's data key (document-seal.ts), read
 * only when the archive reaches it (one document in memory at a time, at most 10 MiB). They must
 * still be the bytes Kit confirmed (size and SHA-256 recorded then, and the ciphertext's tag): a
 * dossier never carries a silently replaced file, so a mismatch breaks the archive off (the reader
 * gets an error, the log says which document).
 */
function documentPart(deps: DossierDeps, document: DocumentRow): ZipPart {
  return {
    name: documentEntryName(document),
    chunks: async function* () {
      yield await readDocumentBytes(deps, document);
    },
  };
}
