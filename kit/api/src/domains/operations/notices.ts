// The token operations' notification events (notification-catalogue.ts), recorded in the
// transaction of the change: a requester hears that their operation settled (confirmed or failed),
// and the token's other issuers that one waits for their approval. Kit's own operations (no
// requester) tell nobody. A settlement is told once per operation (a reorg that takes a confirmation
// back and confirms it again does not repeat it).
import { and, eq } from "drizzle-orm";
import type { Transaction } from "../../infra/db";
import { recordNotification } from "../notifications/record";
import { tokens } from "../tokens/schema";
import { tokenGrants, tokenOperations } from "./schema";

async function symbolOf(tx: Transaction, chainId: number, token: string): Promise<string> {
  const [row] = await tx
    .select({ symbol: tokens.symbol })
    .from(tokens)
    .where(and(eq(tokens.chainId, chainId), eq(tokens.address, token)));
  return row?.symbol ?? "";
}

/** In the transaction that moved operation `id` to `to`. */
export async function recordSettledNotice(tx: Transaction, id: string, to: "confirmed" | "failed"): Promise<void> {
  const [row] = await tx.select().from(tokenOperations).where(eq(tokenOperations.id, id));
  if (!row?.requestedBy || !row.token) return;
  const common = {
    operationId: row.id,
    token: row.token,
    // A token being created is not indexed yet: its request names the symbol.
    tokenSymbol:
      (await symbolOf(tx, row.chainId, row.token)) ||
      String((row.parameters as { spec?: { symbol?: string } }).spec?.symbol ?? ""),
    kind: row.kind,
  };
  const requester = { requester: row.requestedBy };
  if (to === "confirmed") {
    await recordNotification(
      tx,
      "token_operation.confirmed",
      requester,
      { ...common, txHash: row.txHash ?? "" },
      { dedupeKey: `token_operation.confirmed:${row.id}` },
    );
  } else {
    await recordNotification(
      tx,
      "token_operation.failed",
      requester,
      { ...common, reason: row.error ?? "the operation failed" },
      { dedupeKey: `token_operation.failed:${row.id}` },
    );
  }
}

/** In the transaction that recorded `operation` awaiting approval: the token's issuers but the requester. */
export async function recordAwaitingApprovalNotice(
  tx: Transaction,
  operation: typeof tokenOperations.$inferSelect,
): Promise<void> {
  if (!operation.requestedBy || !operation.token) return;
  const granted = await tx
    .select({ userId: tokenGrants.userId })
    .from(tokenGrants)
    .where(and(eq(tokenGrants.chainId, operation.chainId), eq(tokenGrants.token, operation.token)));
  await recordNotification(
    tx,
    "token_operation.awaiting_approval",
    { issuers: granted.map((grant) => grant.userId), requester: operation.requestedBy },
    {
      operationId: operation.id,
      token: operation.token,
      tokenSymbol: await symbolOf(tx, operation.chainId, operation.token),
      kind: operation.kind,
      requestedBy: operation.requestedBy,
    },
  );
}
