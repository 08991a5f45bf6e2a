// The freeze half of job kyc.onchain.reconcile: while a freeze case is open its wallets must stay
// frozen on chain (an agent of the token may unfreeze one behind Kit's back: it is frozen again),
// and once it is lifted Kit's freezes must go (a lost or failed unfreezing is queued again). Nothing
// here sends a transaction or ever unfreezes on its own: a finding queues kyc.onchain.freeze, which
// judges again under the wallet's lock from the user's cases — so an open case is never undone.
import { tokenAbi } from "@kit/contracts";
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { Address } from "viem";
import type { EligibilityChain } from "./eligibility-chain";
import { openFreezeCase, type WalletFreezeRow } from "./freeze-cases";
import type { DriftKind, KycOnchainMetrics } from "./onchain-metrics";
import { read } from "./onchain-records";
import { CONCURRENCY, GRACE_MS, RECONCILE_BATCH, type ReconcileDeps, type ReconcileResult } from "./reconcile";
import { kycFreezes, kycWalletFreezes } from "./schema";

/** Where the last run stopped (a wallet freeze id); absent: from the start. */
const CURSOR_KEY = "kyc:onchain:reconcile:freeze-cursor";

interface Finding {
  kind: DriftKind;
  message: string;
}

export async function reconcileFreezes(
  deps: ReconcileDeps,
  metrics: Pick<KycOnchainMetrics, "drift">,
  options: { batch?: number } = {},
): Promise<ReconcileResult> {
  const batch = options.batch ?? RECONCILE_BATCH;
  const requeued = await requeueLostFreezes(deps, metrics, batch);
  const cursor = await deps.redis.get(CURSOR_KEY);
  const rows = await deps.db
    .select()
    .from(kycWalletFreezes)
    .where(
      and(
        inArray(kycWalletFreezes.status, ["pending", "frozen", "failed"]),
        cursor ? gt(kycWalletFreezes.id, cursor) : undefined,
      ),
    )
    .orderBy(asc(kycWalletFreezes.id))
    .limit(batch);
  const last = rows.at(-1);
  const advance = () =>
    rows.length < batch || !last ? deps.redis.del(CURSOR_KEY) : deps.redis.set(CURSOR_KEY, last.id);
  if (rows.length === 0) {
    await advance();
    return { checked: 0, drifted: requeued, queued: requeued };
  }
  const chain = await deps.local.eligibilityChain.chain();
  const mine = rows.filter((row) => row.chainId === chain.chainId);
  const result: ReconcileResult = { checked: mine.length, drifted: requeued, queued: requeued };
  for (let i = 0; i < mine.length; i += CONCURRENCY) {
    await Promise.all(
      mine.slice(i, i + CONCURRENCY).map(async (row) => {
        const finding = await inspect(deps, chain, row);
        if (!finding || !(await flag(deps, row, finding))) return;
        result.drifted += 1;
        metrics.drift.inc({ kind: finding.kind });
        deps.log.warn(
          { wallet: row.wallet, token: row.token, drift: finding.kind, repair: "kyc.onchain.freeze" },
          `on-chain drift: ${finding.message}`,
        );
        try {
          await deps.jobs.enqueue("kyc.onchain.freeze", { userId: row.userId, wallet: row.wallet });
        } catch (error) {
          // Back as it was (the finding stays in `error`), so the next run finds it again.
          await deps.db
            .update(kycWalletFreezes)
            .set({ status: row.status, updatedAt: new Date() })
            .where(eq(kycWalletFreezes.id, row.id));
          throw error;
        }
        result.queued += 1;
      }),
    );
  }
  await advance();
  return result;
}

async function inspect(
  deps: ReconcileDeps,
  chain: EligibilityChain,
  row: WalletFreezeRow,
): Promise<Finding | undefined> {
  const open = await openFreezeCase(deps.db, row.userId);
  // A row a job is working on (or has just given up on) gets its time first.
  const settled = Date.now() - row.updatedAt.getTime() > GRACE_MS;
  if (open) {
    if (row.status === "frozen") {
      const frozen = await read<boolean>(chain, {
        address: row.token as Address,
        abi: tokenAbi,
        functionName: "isFrozen",
        args: [row.wallet],
      });
      if (frozen) return undefined;
      return {
        kind: "freeze_missing",
        message: "the wallet is not frozen on chain although its owner's freeze case is open; freeze queued again",
      };
    }
    if (!settled) return undefined;
    return {
      kind: "freeze_unfinished",
      message: `the freeze is still ${row.status} although its owner's case is open; freeze queued again`,
    };
  }
  if (!settled) return undefined;
  return {
    kind: "lift_unfinished",
    message: "its owner's freeze case is lifted but Kit's freeze is not undone; unfreezing queued",
  };
}

/** Records the finding if the row is still as read; false when it moved on (a job knows better). */
async function flag(deps: ReconcileDeps, row: WalletFreezeRow, finding: Finding): Promise<boolean> {
  const [updated] = await deps.db
    .update(kycWalletFreezes)
    .set({ status: "pending", error: `reconciliation: ${finding.message}`, attempts: 0, updatedAt: new Date() })
    .where(
      and(
        eq(kycWalletFreezes.id, row.id),
        eq(kycWalletFreezes.status, row.status),
        eq(kycWalletFreezes.updatedAt, row.updatedAt),
      ),
    )
    .returning({ id: kycWalletFreezes.id });
  return updated !== undefined;
}

/**
 * Open cases (older than the grace period) whose user has a wallet, linked before that, with no
 * freeze in force: the revocation's job, or a new wallet's, was lost. Open cases are few (each is a
 * sanctions or fraud revocation not yet lifted), so all of them are looked at.
 */
async function requeueLostFreezes(
  deps: ReconcileDeps,
  metrics: Pick<KycOnchainMetrics, "drift">,
  limit: number,
): Promise<number> {
  const before = new Date(Date.now() - GRACE_MS);
  const lost = await deps.db
    .select({ userId: kycFreezes.userId, applicationId: kycFreezes.applicationId })
    .from(kycFreezes)
    .where(
      and(
        sql`${kycFreezes.liftedAt} is null`,
        sql`${kycFreezes.createdAt} < ${before}`,
        // The wallet table is the auth domain's; being linked is what makes a wallet the user's.
        sql`exists (select 1 from wallet_address w where w.user_id = ${kycFreezes.userId} and w.created_at < ${before}
          and not exists (select 1 from ${kycWalletFreezes} z where z.wallet = lower(w.address) and z.status <> 'unfrozen'))`,
      ),
    )
    .orderBy(asc(kycFreezes.createdAt))
    .limit(limit);
  for (const { userId, applicationId } of lost) {
    await deps.jobs.enqueue("kyc.onchain.freeze", { userId });
    metrics.drift.inc({ kind: "freeze_job_lost" });
    deps.log.warn(
      { applicationId, drift: "freeze_job_lost", repair: "kyc.onchain.freeze" },
      "on-chain drift: an open freeze case has a linked wallet with no freeze; freeze queued",
    );
  }
  return lost.length;
}
