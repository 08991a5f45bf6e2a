// Operations Kit sends on its own (eligibility, for kyc): recorded without a requester, with the
// cause that calls for them, always `pending` (no four eyes: no person asked), and sent by the same
// sender as every token operation — one sender per signer address, so eligibility and servicing
// never race for the agent's nonce. kyc's jobs record them and wait for them to settle
// (`awaitOperations`), driving the outbox themselves so that a registration finishes within its job
// even when no send job runs; whoever holds the signer's lock sends, the others only confirm.
import { createHash } from "node:crypto";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Deps } from "../../deps";
import type { OperationsChain } from "./chain";
import { type ConfirmerDeps, confirmSubmitted } from "./confirmer";
import type { AnyOperationKind } from "./contract-values";
import { tokenOperationHistory, tokenOperations } from "./schema";
import { sendPending } from "./sender";
import type { OperationRow } from "./store";

export interface SystemOperationInput {
  chainId: number;
  kind: AnyOperationKind;
  /** The token of a freeze; null for identity work (then `target`, the identity registry, is set). */
  token: string | null;
  target?: string;
  /** Why Kit sends it, e.g. `kyc_application:<id>`, `kyc_freeze:<id>`, `wallet_unlinked:<user id>`. */
  cause: string;
  /** `wallet` (lowercase) at least: one wallet's operations go out one after the other. */
  parameters: Record<string, unknown> & { wallet: string };
  /** Parameters an open operation must share to be answered instead of a new one (e.g. the approval). */
  sameParameters?: string[];
}

const OPEN = ["pending", "signed", "submitted"] as const;

/** The open system operation of this kind for the wallet (and token, and `same` parameters), if any. */
export async function findOpenSystemOperation(
  db: Deps["db"],
  input: Pick<SystemOperationInput, "chainId" | "kind" | "token"> & { wallet: string; same?: Record<string, string> },
): Promise<OperationRow | undefined> {
  const [row] = await db
    .select()
    .from(tokenOperations)
    .where(
      and(
        isNull(tokenOperations.requestedBy),
        inArray(tokenOperations.status, [...OPEN]),
        sql`${tokenOperations.parameters}->>'wallet' = ${input.wallet}`,
        eq(tokenOperations.chainId, input.chainId),
        eq(tokenOperations.kind, input.kind),
        input.token === null ? isNull(tokenOperations.token) : eq(tokenOperations.token, input.token),
        ...Object.entries(input.same ?? {}).map(
          ([key, value]) => sql`${tokenOperations.parameters}->>${key} = ${value}`,
        ),
      ),
    )
    .limit(1);
  return row;
}

/**
 * Records a system operation, pending, with its history row; an open one of the same kind for the
 * same wallet (and token) is answered instead (a job retried after a crash goes on with it). The
 * caller serialises per wallet (kyc's wallet lock), so two never race to record one.
 */
export async function recordSystemOperation(db: Deps["db"], input: SystemOperationInput): Promise<OperationRow> {
  const same = Object.fromEntries((input.sameParameters ?? []).map((key) => [key, String(input.parameters[key])]));
  const open = await findOpenSystemOperation(db, { ...input, wallet: input.parameters.wallet, same });
  if (open) return open;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(tokenOperations)
      .values({
        chainId: input.chainId,
        token: input.token,
        target: input.target ?? null,
        kind: input.kind,
        parameters: input.parameters,
        cause: input.cause,
        requestHash: createHash("sha256")
          .update(JSON.stringify([input.kind, input.token, input.parameters]))
          .digest("hex"),
        status: "pending",
      })
      .returning();
    if (!row) throw new Error("insert returned no row");
    await tx.insert(tokenOperationHistory).values({ operationId: row.id, toStatus: "pending", reason: input.cause });
    return row;
  });
}

/** The operation's current transaction hash (null: none signed, or between steps). */
export async function operationTxHash(db: Deps["db"], id: string): Promise<string | null> {
  const [row] = await db
    .select({ txHash: tokenOperations.txHash })
    .from(tokenOperations)
    .where(eq(tokenOperations.id, id));
  return row?.txHash ?? null;
}

const SETTLED = new Set(["confirmed", "failed"]);

/**
 * Sends what is pending (under the signer's lock; when another sender holds it, that one sends) and
 * confirms `ids` — with any older open operation of their wallets, which they wait for — until all
 * are settled; answers their rows. A node outage throws (the caller's job retries); past `timeoutMs`
 * it throws too, the operations staying in the outbox for the sweep.
 */
export async function awaitOperations(
  deps: ConfirmerDeps,
  chain: OperationsChain,
  ids: string[],
  options: { timeoutMs?: number } = {},
): Promise<OperationRow[]> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  // The first pass also re-broadcasts what the node may have dropped (as the sweep does).
  let resume: "all" | "signed" = "all";
  for (;;) {
    const sent = await sendPending(deps, chain, { resume });
    resume = "signed";
    const submitted = await submittedWithPredecessors(deps.db, ids);
    const settled = submitted.length > 0 ? await confirmSubmitted(deps, chain, { ids: submitted }) : undefined;
    const rows = await deps.db.select().from(tokenOperations).where(inArray(tokenOperations.id, ids));
    if (rows.every((row) => SETTLED.has(row.status))) return rows;
    if (Date.now() > deadline) {
      const open = rows.filter((row) => !SETTLED.has(row.status)).map((row) => `${row.id} (${row.status})`);
      throw new Error(`operations not settled after ${Math.round(timeoutMs / 1000)} s: ${open.join(", ")}`);
    }
    // A step confirmed (the next one is due now) or a transaction went out: go on at once.
    const moved = sent.sent + (settled ? settled.advanced + settled.confirmed + settled.failed : 0);
    if (moved === 0) await Bun.sleep(AWAIT_PAUSE_MS);
  }
}

const AWAIT_PAUSE_MS = 100;

/** Of `ids` and the open system operations of the same wallets, those with a transaction out. */
async function submittedWithPredecessors(db: Deps["db"], ids: string[]): Promise<string[]> {
  const list = sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const { rows } = await db.execute<{ id: string }>(sql`
    select o.id from token_operations o
    where o.status = 'submitted'
      and (o.id in (${list}) or (o.requested_by is null and o.parameters->>'wallet' in (
        select parameters->>'wallet' from token_operations where id in (${list}) and requested_by is null)))`);
  return rows.map((row) => row.id);
}
