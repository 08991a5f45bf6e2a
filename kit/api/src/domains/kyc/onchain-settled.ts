// What the outbox announces about eligibility's operations, written on kyc's rows: each transaction
// hash as soon as it is stored (before broadcast), and the outcome when the operation settles.
// runtime.ts wires these to DomainEvents; the jobs that await an operation apply the outcome too
// (whichever comes first: both are idempotent, and a row a recovery holds is never touched).
import { claimIdOf } from "@kit/contracts";
import { and, eq, notInArray, sql } from "drizzle-orm";
import type { Address } from "viem";
import type { SettledOperation, SignedSystemOperation } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { recordNotification } from "../notifications/record";
import { RECOVERY_STATUSES } from "./contract-values";
import { kycOnchainRegistrations, kycWalletFreezes } from "./schema";

const isIdentityWork = (kind: string) => kind === "identity_register" || kind === "identity_revoke";
const isFreeze = (kind: string) => kind === "freeze" || kind === "unfreeze";
const walletOf = (operation: SignedSystemOperation) => String(operation.parameters.wallet);

function registrationOf(operation: SignedSystemOperation) {
  return and(
    eq(kycOnchainRegistrations.chainId, operation.chainId),
    eq(kycOnchainRegistrations.wallet, walletOf(operation)),
    notInArray(kycOnchainRegistrations.status, [...RECOVERY_STATUSES]),
  );
}

function freezeOf(operation: SignedSystemOperation) {
  return and(
    eq(kycWalletFreezes.chainId, operation.chainId),
    eq(kycWalletFreezes.wallet, walletOf(operation)),
    eq(kycWalletFreezes.token, operation.token ?? ""),
  );
}

/** Each transaction's hash on its row, before it is broadcast. */
export async function recordSigned({ db }: { db: Database }, operations: SignedSystemOperation[]): Promise<void> {
  for (const operation of operations) {
    if (!operation.txHash) continue;
    const set = { lastTxHash: operation.txHash, updatedAt: new Date() };
    if (isIdentityWork(operation.kind)) {
      await db.update(kycOnchainRegistrations).set(set).where(registrationOf(operation));
    } else if (isFreeze(operation.kind)) {
      await db.update(kycWalletFreezes).set(set).where(freezeOf(operation));
    }
  }
}

/**
 * The outcome on the row. A failure only records its reason: the job that awaits it decides whether
 * to try again or give up (`failed`), as it does for a node outage.
 */
export async function recordSettled(deps: { db: Database; log?: Logger }, operation: SettledOperation): Promise<void> {
  if (operation.status === "failed") {
    const set = { error: (operation.error ?? "the operation failed").slice(0, 300), updatedAt: new Date() };
    if (isIdentityWork(operation.kind)) {
      await deps.db.update(kycOnchainRegistrations).set(set).where(registrationOf(operation));
    } else if (isFreeze(operation.kind)) await deps.db.update(kycWalletFreezes).set(set).where(freezeOf(operation));
    return;
  }
  if (operation.facts.held === true) return;
  switch (operation.kind) {
    case "identity_register":
      return registered(deps, operation);
    case "identity_revoke":
      return revoked(deps, operation);
    case "freeze":
    case "unfreeze":
      return frozen(deps, operation, operation.kind === "freeze");
  }
}

const txHashOr = (operation: SettledOperation, column: typeof kycOnchainRegistrations.lastTxHash) =>
  operation.txHash ? sql`${operation.txHash}` : sql`${column}`;

async function registered(deps: { db: Database; log?: Logger }, operation: SettledOperation) {
  const p = operation.parameters as { claimIssuer: Address; topic: string; applicationId: string };
  // The owner's notification commits with the registration.
  const moved = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .update(kycOnchainRegistrations)
      .set({
        status: "registered",
        registeredAt: new Date(),
        error: null,
        identityAddress: String(operation.facts.identity),
        claimId: claimIdOf(p.claimIssuer, BigInt(p.topic)),
        lastTxHash: txHashOr(operation, kycOnchainRegistrations.lastTxHash),
        updatedAt: new Date(),
      })
      .where(and(registrationOf(operation), sql`${kycOnchainRegistrations.status} <> 'registered'`))
      .returning();
    for (const row of rows) {
      await recordNotification(
        tx,
        "wallet.eligible",
        { subject: row.userId },
        { wallet: row.wallet, chainId: row.chainId },
      );
    }
    return rows;
  });
  if (moved.length > 0) {
    deps.log?.info({ wallet: walletOf(operation), applicationId: p.applicationId }, "wallet verified on chain");
  }
}

async function revoked(deps: { db: Database; log?: Logger }, operation: SettledOperation) {
  const p = operation.parameters as { claimIssuer: Address; topic: string };
  const moved = await deps.db
    .update(kycOnchainRegistrations)
    .set({
      status: "revoked",
      revokedAt: new Date(),
      claimId: claimIdOf(p.claimIssuer, BigInt(p.topic)),
      // Kit's claim is gone; a claim from another trusted issuer is not Kit's to remove, but it is worth a look.
      error:
        operation.facts.verified === true
          ? "Kit's claim is removed, but the wallet is still verified through another claim"
          : null,
      lastTxHash: txHashOr(operation, kycOnchainRegistrations.lastTxHash),
      updatedAt: new Date(),
    })
    .where(and(registrationOf(operation), sql`${kycOnchainRegistrations.status} <> 'revoked'`))
    .returning({ applicationId: kycOnchainRegistrations.applicationId });
  const [row] = moved;
  if (row)
    deps.log?.info({ wallet: walletOf(operation), applicationId: row.applicationId }, "KYC claim removed on chain");
}

async function frozen(deps: { db: Database; log?: Logger }, operation: SettledOperation, freeze: boolean) {
  const status = freeze ? "frozen" : "unfrozen";
  const moved = await deps.db
    .update(kycWalletFreezes)
    .set({
      status,
      ...(freeze ? { frozenAt: new Date() } : { unfrozenAt: new Date() }),
      error: null,
      lastTxHash: operation.txHash ? sql`${operation.txHash}` : sql`${kycWalletFreezes.lastTxHash}`,
      updatedAt: new Date(),
    })
    .where(and(freezeOf(operation), sql`${kycWalletFreezes.status} <> ${status}`))
    .returning({ id: kycWalletFreezes.id });
  if (moved.length > 0) {
    const where = { wallet: walletOf(operation), token: operation.token };
    deps.log?.info(where, freeze ? "wallet frozen on chain" : "wallet unfrozen on chain");
  }
}
