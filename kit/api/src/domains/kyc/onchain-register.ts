// Job kyc.onchain.register: an approval makes each of the investor's linked wallets verified in the
// identity registry shared by Kit's tokens (ONCHAINID identity + Kit's KYC claim + registration).
// Per wallet, under the wallet's lock, the job re-reads the approval, records the row and an
// `identity_register` operation in the outbox, and waits for it (onchain-outbox.ts): the outbox plans
// each step from what the chain shows (domains/operations/eligibility-steps.ts), so a job retried
// after a crash or an outage never makes a second identity nor a duplicate claim, and sends through
// the one sender of Kit's agent, so it never races a token operation for a nonce.
import { eq, sql } from "drizzle-orm";
import { countryNumericCode } from "../../country-codes";
import type { Database } from "../../infra/db";
import type { OperationRow } from "../operations/store";
import { failRegistration } from "./notices";
import { currentTxHash, failureOf, recordRegistration, settle } from "./onchain-outbox";
import {
  currentApproval,
  heldByRecovery,
  isLinked,
  type JobAttempt,
  linkedWallets,
  type OnchainDeps,
  type RegistrationRow,
  shortError,
  updateRow,
  withWalletLock,
} from "./onchain-records";
import { kycApplications, kycOnchainRegistrations } from "./schema";

/** What a successful run did (a run with any wallet failing throws, naming each, and is retried). */
export interface RegisterResult {
  registered: string[];
  skipped: number;
}

export async function registerEligibility(
  deps: OnchainDeps,
  data: Record<string, unknown>,
  job: JobAttempt,
): Promise<RegisterResult> {
  const target = await registrationTarget(deps.db, data);
  const result: RegisterResult = { registered: [], skipped: 0 };
  if (!target) return { ...result, skipped: 1 };
  const deployment = await deps.local.eligibilityChain.deployment();
  const last = job.attempt >= job.attempts;
  const errors: string[] = [];
  const recorded: Recorded[] = [];
  for (const wallet of target.wallets) {
    try {
      const entry = await withWalletLock(deps.db, deployment.chainId, wallet, () =>
        recordWallet(deps, deployment.chainId, { ...target, wallet }, job),
      );
      if (entry === "skipped") result.skipped += 1;
      else recorded.push(entry);
    } catch (error) {
      errors.push(`${wallet}: ${shortError(error)}`);
    }
  }
  // All the wallets' operations at once: the outbox sends them in one pass per step.
  const failures = await settleRecorded(deps, recorded, last);
  for (const entry of recorded) {
    const failure = failures.get(entry.row.id);
    if (failure) errors.push(`${entry.row.wallet}: ${failure}`);
    else result.registered.push(entry.row.wallet);
  }
  if (errors.length > 0) throw new Error(`on-chain registration failed for ${errors.join("; ")}`);
  return result;
}

interface Recorded {
  row: RegistrationRow;
  operation: OperationRow;
}

/**
 * Waits for the recorded operations; answers the failures by row id (each also on its row: `failed`
 * on the job's last try, else `pending` for the next).
 */
async function settleRecorded(deps: OnchainDeps, recorded: Recorded[], last: boolean): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  let settled: OperationRow[] = [];
  try {
    settled = await settle(
      deps,
      recorded.map((entry) => entry.operation),
    );
  } catch (error) {
    for (const entry of recorded) failures.set(entry.row.id, shortError(error));
  }
  for (const entry of recorded) {
    const operation = settled.find((row) => row.id === entry.operation.id) ?? entry.operation;
    const failure = failures.get(entry.row.id) ?? failureOf(operation);
    if (!failure) continue;
    failures.set(entry.row.id, shortError(failure));
    const txHash = operation.txHash ?? (await currentTxHash(deps, operation.id));
    const set = { error: shortError(failure), ...(txHash ? { lastTxHash: txHash } : {}) };
    if (last) await failRegistration(deps.db, entry.row.id, set);
    else await updateRow(deps.db, entry.row.id, { ...set, status: "pending" });
  }
  return failures;
}

async function registrationTarget(
  db: Database,
  data: Record<string, unknown>,
): Promise<{ applicationId: string; userId: string; wallets: string[] } | undefined> {
  if (typeof data.applicationId === "string") {
    const [application] = await db
      .select({ userId: kycApplications.userId })
      .from(kycApplications)
      .where(eq(kycApplications.id, data.applicationId));
    if (!application) return undefined;
    const wallets =
      typeof data.wallet === "string" ? [data.wallet.toLowerCase()] : await linkedWallets(db, application.userId);
    return { applicationId: data.applicationId, userId: application.userId, wallets };
  }
  if (typeof data.userId === "string" && typeof data.wallet === "string") {
    const approval = await currentApproval(db, data.userId);
    if (!approval) return undefined;
    return { applicationId: approval.id, userId: data.userId, wallets: [data.wallet.toLowerCase()] };
  }
  throw new Error("kyc.onchain.register needs { applicationId } or { userId, wallet }");
}

/** Under the wallet's lock: the row and the operation, or "skipped" when the wallet is not (or no longer) to be registered. */
async function recordWallet(
  deps: OnchainDeps,
  chainId: number,
  target: { applicationId: string; userId: string; wallet: string },
  job: JobAttempt,
): Promise<Recorded | "skipped"> {
  const { applicationId, userId, wallet } = target;
  // Under the lock: an approval revoked, expired or replaced since the job was queued is left alone.
  const approval = await currentApproval(deps.db, userId);
  if (approval?.id !== applicationId) return "skipped";
  if (!(await isLinked(deps.db, userId, wallet))) return "skipped";
  if (await heldByRecovery(deps.db, chainId, wallet)) return "skipped";
  const country = countryNumericCode(approval.countryOfResidence ?? "");
  const row = await upsertRow(deps.db, { ...target, chainId, country: country ?? 0, attempt: job.attempt });
  try {
    if (country === undefined) {
      throw new Error(
        `no ISO 3166-1 numeric code for the country of residence ${approval.countryOfResidence ?? "(none)"}`,
      );
    }
    return { row, operation: await recordRegistration(deps, { wallet, userId, applicationId, country }) };
  } catch (error) {
    if (job.attempt >= job.attempts) await failRegistration(deps.db, row.id, { error: shortError(error) });
    else await updateRow(deps.db, row.id, { status: "pending", error: shortError(error) });
    throw error;
  }
}

async function upsertRow(
  db: Database,
  r: { applicationId: string; userId: string; wallet: string; chainId: number; country: number; attempt: number },
) {
  const [row] = await db
    .insert(kycOnchainRegistrations)
    .values({
      applicationId: r.applicationId,
      userId: r.userId,
      wallet: r.wallet,
      chainId: r.chainId,
      country: r.country,
      status: "pending",
      attempts: r.attempt,
    })
    .onConflictDoUpdate({
      target: [kycOnchainRegistrations.chainId, kycOnchainRegistrations.wallet],
      set: {
        applicationId: r.applicationId,
        userId: r.userId,
        country: r.country,
        // A re-run for a wallet already done stays `registered` while it checks the chain.
        status: sql`case when ${kycOnchainRegistrations.status} = 'registered' and ${kycOnchainRegistrations.applicationId} = ${r.applicationId} then 'registered' else 'pending' end`,
        attempts: r.attempt,
        updatedAt: new Date(),
      },
    })
    .returning();
  if (!row) throw new Error("registration upsert returned no row");
  return row;
}
