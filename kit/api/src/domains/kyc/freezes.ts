// Freezing a sanctioned (or defrauding) investor's wallets on Kit's tokens. Removing Kit's KYC claim
// stops a wallet from receiving, not from sending: T-REX checks only the receiver's verification.
// So a revocation for sanctions or fraud opens a freeze case (freeze-cases.ts), and while a case of
// a user is open every wallet of theirs is frozen on every Kit token (`setAddressFrozen`, sent by
// Kit's agent): it can neither send nor receive. When an admin lifts the case, the freezes Kit made
// are undone (a wallet its issuer had frozen before stays frozen).
//
// The work runs in the eligibility jobs — kyc.onchain.revoke freezes before it removes Kit's claim
// (a holder watching the chain gets no window to move tokens out: the freezes take the agent's
// earlier nonces), kyc.onchain.freeze after a lift or for a wallet linked later — and is idempotent
// like them: per wallet and token, under the wallet's lock, it settles what a previous try left in
// the outbox, reads `isFrozen`, and only when something is missing records a freeze (or unfreezing)
// operation, which the outbox sends (reading `isFrozen` once more), storing its hash before broadcast.
// A re-run after a crash, or a job run twice, sends nothing more.
import { tokenAbi } from "@kit/contracts";
import { and, eq, ne, sql } from "drizzle-orm";
import type { Address } from "viem";
import { factoryTokenAddresses } from "../tokens/service";
import type { EligibilityChain } from "./eligibility-chain";
import { type FreezeCaseRow, openFreezeCase, type WalletFreezeRow } from "./freeze-cases";
import { failureOf, recordFreeze, settle, settleOpen } from "./onchain-outbox";
import { type JobAttempt, linkedWallets, type OnchainDeps, read, shortError, withWalletLock } from "./onchain-records";
import { type RevokeResult, revocationTarget, revokeEligibility } from "./onchain-revoke";
import { kycOnchainRegistrations, kycWalletFreezes } from "./schema";

export interface FreezeResult {
  /** `wallet@token` pairs this run froze or unfroze on chain. */
  frozen: string[];
  unfrozen: string[];
  /** Pairs already as they should be. */
  unchanged: number;
}

/** Job kyc.onchain.revoke: an open case's freezes first, then Kit's claim goes; each part runs even if the other fails. */
export async function revokeAndFreeze(
  deps: OnchainDeps,
  data: Record<string, unknown>,
  job: JobAttempt,
): Promise<RevokeResult & { freezes?: FreezeResult }> {
  const target = await revocationTarget(deps.db, data);
  if (!target) return { revoked: [], skipped: 0 };
  const errors: string[] = [];
  const freezes = await syncWalletFreezes(deps, target.userId, job, target.wallet).catch((error: unknown) => {
    errors.push(shortError(error));
    return undefined;
  });
  const revoked = await revokeEligibility(deps, data, job).catch((error: unknown) => {
    errors.push(shortError(error));
    return undefined;
  });
  if (errors.length > 0) throw new Error(errors.join("; "));
  return { ...(revoked ?? { revoked: [], skipped: 0 }), freezes };
}

/** Job kyc.onchain.freeze: `{ userId }` (after a lift) or `{ userId, wallet }` (a wallet linked later). */
export async function freezeJob(deps: OnchainDeps, data: Record<string, unknown>, job: JobAttempt) {
  if (typeof data.userId !== "string") throw new Error("kyc.onchain.freeze needs { userId } or { userId, wallet }");
  const wallet = typeof data.wallet === "string" ? data.wallet.toLowerCase() : undefined;
  return syncWalletFreezes(deps, data.userId, job, wallet);
}

/**
 * Brings the user's wallet freezes in line with their cases: frozen on every Kit token while a case
 * is open, Kit's own freezes undone once none is; `onlyWallet` narrows it to one wallet. A run with
 * any wallet or token failing throws, naming each (the job retries); the others are done.
 */
export async function syncWalletFreezes(
  deps: OnchainDeps,
  userId: string,
  job: JobAttempt,
  onlyWallet?: string,
): Promise<FreezeResult> {
  const result: FreezeResult = { frozen: [], unfrozen: [], unchanged: 0 };
  const { chainId } = await deps.local.eligibilityChain.deployment();
  const open = await openFreezeCase(deps.db, userId);
  const wallets = (open ? await coveredWallets(deps, userId, chainId) : await walletsFrozenBy(deps, userId, chainId))
    // A wallet outside the user's set (linked to someone else since) is not theirs to freeze.
    .filter((wallet) => onlyWallet === undefined || wallet === onlyWallet);
  // Nothing to freeze and nothing to lift (an "other" revocation): the chain is not even asked.
  if (wallets.length === 0) return result;

  const chain = await deps.local.eligibilityChain.chain();
  let tokens: Address[] | undefined;
  const last = job.attempt >= job.attempts;
  const errors: string[] = [];
  for (const wallet of wallets) {
    try {
      await withWalletLock(deps.db, chainId, wallet, async () => {
        // Under the lock: a lift (or a new case) since the run began decides.
        const current = await openFreezeCase(deps.db, userId);
        if (current) tokens ??= await kitTokens(deps, chain);
        const work = current
          ? (tokens ?? []).map((token) => freezeOn(deps, chain, current, wallet, token))
          : (await rowsToLift(deps, userId, chainId, wallet)).map((row) => liftOn(deps, chain, row));
        for (const step of work) {
          try {
            const outcome = await step(job, last);
            if (outcome.changed) result[current ? "frozen" : "unfrozen"].push(outcome.pair);
            else result.unchanged += 1;
          } catch (error) {
            errors.push(shortError(error));
          }
        }
      });
    } catch (error) {
      errors.push(`${wallet}: ${shortError(error)}`);
    }
  }
  if (errors.length > 0) throw new Error(`wallet freezes failed: ${errors.join("; ")}`);
  return result;
}

/**
 * The wallets a user's open case covers: linked to them now, registered by Kit for them (even if
 * unlinked since: unlinking must not be a way out), or frozen for them already.
 */
async function coveredWallets(deps: OnchainDeps, userId: string, chainId: number): Promise<string[]> {
  const [linked, registered, frozen] = await Promise.all([
    linkedWallets(deps.db, userId),
    deps.db
      .select({ wallet: kycOnchainRegistrations.wallet })
      .from(kycOnchainRegistrations)
      .where(and(eq(kycOnchainRegistrations.userId, userId), eq(kycOnchainRegistrations.chainId, chainId))),
    walletsFrozenBy(deps, userId, chainId),
  ]);
  return [...new Set([...linked, ...registered.map((row) => row.wallet), ...frozen])];
}

/** Wallets with a freeze of the user's not (yet) lifted. */
async function walletsFrozenBy(deps: OnchainDeps, userId: string, chainId: number): Promise<string[]> {
  const rows = await deps.db
    .selectDistinct({ wallet: kycWalletFreezes.wallet })
    .from(kycWalletFreezes)
    .where(
      and(
        eq(kycWalletFreezes.userId, userId),
        eq(kycWalletFreezes.chainId, chainId),
        ne(kycWalletFreezes.status, "unfrozen"),
      ),
    );
  return rows.map((row) => row.wallet);
}

function rowsToLift(deps: OnchainDeps, userId: string, chainId: number, wallet: string): Promise<WalletFreezeRow[]> {
  return deps.db
    .select()
    .from(kycWalletFreezes)
    .where(
      and(
        eq(kycWalletFreezes.userId, userId),
        eq(kycWalletFreezes.chainId, chainId),
        eq(kycWalletFreezes.wallet, wallet),
        ne(kycWalletFreezes.status, "unfrozen"),
      ),
    );
}

/**
 * Kit's tokens: the deployment file's and those the indexer found through Kit's factory, each only
 * if Kit's agent is one of its agents (only agents freeze; a token that does not list Kit's agent is
 * its issuer's to freeze, and a warning says so).
 */
async function kitTokens(deps: OnchainDeps, chain: EligibilityChain): Promise<Address[]> {
  const deployment = await deps.local.eligibilityChain.deployment();
  const candidates = new Set([
    ...deployment.tokens.map((token) => token.address.toLowerCase()),
    ...(await factoryTokenAddresses(deps, chain.chainId)),
  ]);
  const tokens: Address[] = [];
  for (const token of candidates) {
    const isAgent = await read<boolean>(chain, {
      address: token as Address,
      abi: tokenAbi,
      functionName: "isAgent",
      args: [chain.agent.address],
    });
    if (isAgent) tokens.push(token as Address);
    else deps.log.warn({ token }, "Kit's agent is not an agent of this token: Kit cannot freeze wallets on it");
  }
  return tokens;
}

function isFrozen(chain: EligibilityChain, token: string, wallet: string): Promise<boolean> {
  return read<boolean>(chain, {
    address: token as Address,
    abi: tokenAbi,
    functionName: "isFrozen",
    args: [wallet],
  });
}

async function updateFreeze(deps: OnchainDeps, id: string, set: Partial<WalletFreezeRow>): Promise<void> {
  await deps.db
    .update(kycWalletFreezes)
    .set({ ...set, updatedAt: new Date() })
    .where(eq(kycWalletFreezes.id, id));
}

interface Outcome {
  pair: string;
  changed: boolean;
}

/** Sends Kit's freeze (or unfreezing) of the row's pair through the outbox and waits for it. */
async function sendFreeze(deps: OnchainDeps, row: WalletFreezeRow, freezeId: string, frozen: boolean): Promise<void> {
  const operation = await recordFreeze(deps, { ...row, freezeId, frozen });
  const [settled] = await settle(deps, [operation]);
  const failure = settled ? failureOf(settled) : "the operation did not settle";
  if (failure) throw new Error(failure);
}

/** Freezes `wallet` on `token` for `freeze` unless the chain says it already is. */
const freezeOn =
  (deps: OnchainDeps, chain: EligibilityChain, freeze: FreezeCaseRow, wallet: string, token: string) =>
  async (job: JobAttempt, last: boolean): Promise<Outcome> => {
    const pair = `${wallet}@${token}`;
    // What a previous try left in the outbox (a freeze, or an unfreezing after a lift) goes first.
    await settleOpen(deps, chain.chainId, wallet, ["freeze", "unfreeze"], token);
    const frozen = await isFrozen(chain, token, wallet);
    const now = new Date();
    const [row] = await deps.db
      .insert(kycWalletFreezes)
      .values({
        freezeId: freeze.id,
        userId: freeze.userId,
        chainId: chain.chainId,
        wallet,
        token,
        status: frozen ? "frozen" : "pending",
        frozenBefore: frozen,
        attempts: job.attempt,
        frozenAt: frozen ? now : null,
      })
      .onConflictDoUpdate({
        target: [kycWalletFreezes.chainId, kycWalletFreezes.wallet, kycWalletFreezes.token],
        set: {
          freezeId: freeze.id,
          userId: freeze.userId,
          status: sql`excluded.status`,
          attempts: job.attempt,
          updatedAt: now,
          // A freeze Kit holds (or is making) keeps what was found when it began: seeing its own
          // freeze on chain after a crash is not "frozen before". A lifted one starts afresh.
          frozenBefore: sql`case when ${kycWalletFreezes.status} = 'unfrozen' then excluded.frozen_before else ${kycWalletFreezes.frozenBefore} end`,
          frozenAt: sql`case when ${kycWalletFreezes.status} = 'unfrozen' then excluded.frozen_at else coalesce(${kycWalletFreezes.frozenAt}, excluded.frozen_at) end`,
          unfrozenAt: null,
          error: sql`case when excluded.status = 'frozen' then null else ${kycWalletFreezes.error} end`,
        },
      })
      .returning();
    if (!row) throw new Error("wallet freeze upsert returned no row");
    if (frozen) return { pair, changed: false };
    try {
      await sendFreeze(deps, row, freeze.id, true);
      return { pair, changed: true };
    } catch (error) {
      await updateFreeze(deps, row.id, { status: last ? "failed" : "pending", error: shortError(error) });
      throw new Error(`${pair}: ${shortError(error)}`);
    }
  };

/** Undoes Kit's freeze of the row's wallet on its token (a wallet frozen before Kit's freeze stays so). */
const liftOn =
  (deps: OnchainDeps, chain: EligibilityChain, row: WalletFreezeRow) =>
  async (job: JobAttempt, last: boolean): Promise<Outcome> => {
    const pair = `${row.wallet}@${row.token}`;
    try {
      await updateFreeze(deps, row.id, { attempts: job.attempt });
      // A freeze still in the outbox lands first; the unfreezing reads its effect.
      await settleOpen(deps, chain.chainId, row.wallet, ["freeze", "unfreeze"], row.token);
      const frozen = !row.frozenBefore && (await isFrozen(chain, row.token, row.wallet));
      if (frozen) await sendFreeze(deps, row, row.freezeId, false);
      await updateFreeze(deps, row.id, { status: "unfrozen", unfrozenAt: new Date(), error: null });
      return { pair, changed: frozen };
    } catch (error) {
      await updateFreeze(deps, row.id, { status: last ? "failed" : "pending", error: shortError(error) });
      throw new Error(`${pair}: ${shortError(error)}`);
    }
  };
