// The erasure ledger as a file, for `bun run kit kyc:erasures` and `restore --erasures`: written from
// the live database's destroyed data keys, read back and applied to a restored one
// (domains/kyc/erasure-ledger.ts; docs/operations.md).
import { readFile, writeFile } from "node:fs/promises";
import type { Config } from "../config";
import {
  applyErasureLedger,
  type ErasureLedger,
  exportErasureLedger,
  parseErasureLedger,
} from "../domains/kyc/erasure-ledger";
import { createDatabase, migrateDirect } from "../infra/db";
import type { Logger } from "../infra/log";
import { BackupError } from "./postgres-tools";

/** The ledger in `file`; BackupError naming the file when it cannot be read or is not a ledger. */
export async function readErasureLedgerFile(file: string): Promise<ErasureLedger> {
  const text = await readFile(file, "utf8").catch((error: Error) => {
    throw new BackupError(`${file}: ${error.message}`);
  });
  const ledger = parseErasureLedger(text);
  if (typeof ledger === "string") throw new BackupError(`${file} is not an erasure ledger: ${ledger}`);
  return ledger;
}

/**
 * The ledger's data keys destroyed in DATABASE_URL (migrated first, through DATABASE_DIRECT_URL: a
 * restored backup may be older). Returns what it did, in a line.
 */
export async function reapplyErasures(config: Config, log: Logger, ledger: ErasureLedger): Promise<string> {
  await migrateDirect(config, log);
  const { pool, db } = createDatabase(config, log);
  try {
    const applied = await applyErasureLedger(db, ledger);
    return `erasure ledger of ${ledger.exportedAt}: ${applied.destroyed} data keys destroyed again, ${applied.alreadyDestroyed} already destroyed, ${applied.absent} applications not in this database`;
  } finally {
    await pool.end();
  }
}

/** The live database's destroyed data keys, written to a new `file` (never overwritten). Returns what it did, in a line. */
export async function writeErasureLedgerFile(config: Config, log: Logger, file: string): Promise<string> {
  const { pool, db } = createDatabase(config, log);
  try {
    const exported = await exportErasureLedger(db);
    await writeFile(file, `${JSON.stringify(exported, null, 2)}\n`, { flag: "wx" }).catch((error: Error) => {
      throw new BackupError(`${file}: ${error.message} (the ledger is never overwritten: give a new file)`);
    });
    return `wrote ${exported.erasures.length} erasures to ${file}`;
  } finally {
    await pool.end();
  }
}
