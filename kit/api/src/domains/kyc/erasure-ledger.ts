// The erasure ledger: which applications' data keys were destroyed, kept apart from the database so
// that a restore of a backup taken before an erasure can destroy those keys again (a backup holds
// the wrapped key as it was when it was taken). `bun run kit kyc:erasures --out FILE` writes it
// from the live database; `bun run kit restore --from DIR --erasures FILE` (or
// `kyc:erasures --apply FILE` on a restored database) re-applies it. docs/security.md says what
// this does and does not protect against.
import { inArray, isNotNull } from "drizzle-orm";
import type { Database } from "../../infra/db";
import { SYSTEM_ACTOR } from "../audit/record";
import { destroyApplicationDataKey } from "./data-keys";
import { kycDataKeys } from "./data-keys-schema";
import { clearApplication } from "./erasure";
import { kycApplications } from "./schema";

const ERASURE_LEDGER_FORMAT = "kit.kyc-erasures/1";

export interface ErasureLedger {
  format: typeof ERASURE_LEDGER_FORMAT;
  exportedAt: string;
  erasures: { applicationId: string; destroyedAt: string }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every destroyed data key of the database: the tombstones, oldest first. */
export async function exportErasureLedger(db: Database): Promise<ErasureLedger> {
  const rows = await db
    .select({ applicationId: kycDataKeys.applicationId, destroyedAt: kycDataKeys.destroyedAt })
    .from(kycDataKeys)
    .where(isNotNull(kycDataKeys.destroyedAt))
    .orderBy(kycDataKeys.destroyedAt, kycDataKeys.applicationId);
  return {
    format: ERASURE_LEDGER_FORMAT,
    exportedAt: new Date().toISOString(),
    erasures: rows.map((r) => ({ applicationId: r.applicationId, destroyedAt: (r.destroyedAt as Date).toISOString() })),
  };
}

/** The ledger in `text`, or a message saying what is wrong with it. */
export function parseErasureLedger(text: string): ErasureLedger | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  const ledger = parsed as Partial<ErasureLedger>;
  if (ledger?.format !== ERASURE_LEDGER_FORMAT) return `format is not ${ERASURE_LEDGER_FORMAT}`;
  if (!Array.isArray(ledger.erasures)) return "erasures is not a list";
  const bad = ledger.erasures.find((e) => typeof e?.applicationId !== "string" || !UUID.test(e.applicationId));
  if (bad) return `an erasure names no application id: ${JSON.stringify(bad).slice(0, 100)}`;
  return ledger as ErasureLedger;
}

export interface ErasuresApplied {
  /** Keys destroyed now (the database still had them: restored from before the erasure). */
  destroyed: number;
  /** Already destroyed in this database. */
  alreadyDestroyed: number;
  /** Applications this database does not have (made after its backup): nothing to destroy. */
  absent: number;
}

/** Destroys the data key of every application of the ledger this database has, in one transaction. */
export async function applyErasureLedger(db: Database, ledger: ErasureLedger): Promise<ErasuresApplied> {
  const ids = [...new Set(ledger.erasures.map((e) => e.applicationId.toLowerCase()))];
  return db.transaction(async (tx) => {
    const found =
      ids.length === 0
        ? []
        : await tx.select().from(kycApplications).where(inArray(kycApplications.id, ids)).for("update");
    const present = new Map(found.map((row) => [row.id.toLowerCase(), row]));
    const applied: ErasuresApplied = { destroyed: 0, alreadyDestroyed: 0, absent: 0 };
    for (const id of ids) {
      const row = present.get(id);
      if (!row) {
        applied.absent++;
        continue;
      }
      // Erased after the backup: the whole erasure again (the columns kept in clear, the free texts,
      // the documents queued for deletion), not only the key. Erased before: only its key, if a
      // restore of an older row brought one back.
      const { destroyed } = row.erasedAt
        ? await destroyApplicationDataKey(tx, row.id)
        : { destroyed: (await clearApplication(tx, row, SYSTEM_ACTOR, "restored_backup")).dataKeyDestroyed };
      if (destroyed) applied.destroyed++;
      else applied.alreadyDestroyed++;
    }
    return applied;
  });
}
