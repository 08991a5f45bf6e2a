// Changing a token's four-eyes policy takes four eyes itself when it loosens the policy: otherwise
// one issuer could drop forced transfers from the list and then force a transfer alone. A change
// that only tightens applies at once. Each change is a row (asked by, decided by, reasons); the
// table's CHECK refuses an applied loosening decided by the user who asked for it.
import { and, asc, desc, eq, ne, sql } from "drizzle-orm";
import { decodeCursor, encodeCursor } from "../../cursor";
import { KitError } from "../../errors";
import type { Database, Transaction } from "../../infra/db";
import { recordAudit } from "../audit/record";
import { tokens } from "../tokens/schema";
import { requireToken, type TokenLookupDeps } from "../tokens/service";
import { fromSmallestUnit, toSmallestUnit } from "./amounts";
import type { PolicyChangeView, PolicyView } from "./contract-policy";
import type { OperationKind } from "./contract-values";
import { type Actor, auditActor, requireGrant } from "./grants";
import { loosens, policyOf, policyView } from "./policy";
import { tokenGrants, tokenOperationPolicies, tokenPolicyChanges } from "./schema";

type PolicyChangeDeps = TokenLookupDeps & { db: Database };
type Token = { address: string; decimals: number };
type ChangeRow = typeof tokenPolicyChanges.$inferSelect;

const CHANGE_ID = /^[0-9a-f-]{36}$/;

/** The policy in force and the loosening change waiting for a decision, if any. */
export async function readPolicy(deps: PolicyChangeDeps, actor: Actor, token: Token): Promise<PolicyView> {
  await requireGrant(deps, actor, token.address);
  const [pending] = await deps.db
    .select()
    .from(tokenPolicyChanges)
    .where(and(...sameToken(deps, token), eq(tokenPolicyChanges.status, "pending")));
  return policyView(token, await policyOf(deps, token.address), pending ? changeView(token, pending) : null);
}

/**
 * Asks for a new policy. It replaces a change already waiting (superseded: its approver would
 * otherwise decide on something no longer asked for), then applies at once or waits.
 */
export async function requestPolicyChange(
  deps: PolicyChangeDeps,
  actor: Actor,
  token: Token,
  input: { approvalKinds: OperationKind[]; mintThreshold: string | null; reason?: string },
) {
  await requireGrant(deps, actor, token.address);
  const proposed = {
    approvalKinds: [...new Set(input.approvalKinds)],
    mintThreshold:
      input.mintThreshold === null ? null : toSmallestUnit(input.mintThreshold, token.decimals, "mintThreshold"),
  };
  return inPolicyTransaction(deps, token, async (tx) => {
    const current = await policyOf({ ...deps, db: tx }, token.address);
    const now = new Date();
    await tx
      .update(tokenPolicyChanges)
      .set({ status: "superseded", decidedAt: now })
      .where(and(...sameToken(deps, token), eq(tokenPolicyChanges.status, "pending")));
    const waits = loosens(current, proposed);
    const [change] = await tx
      .insert(tokenPolicyChanges)
      .values({
        chainId: deps.config.chain.id,
        token: token.address.toLowerCase(),
        approvalKinds: proposed.approvalKinds,
        mintThreshold: proposed.mintThreshold?.toString() ?? null,
        loosens: waits,
        status: waits ? "pending" : "applied",
        requestedBy: actor.id,
        reason: input.reason ?? null,
        requestedAt: now,
        decidedAt: waits ? null : now,
      })
      .returning();
    if (!change) throw new Error("the policy change was not recorded");
    if (!waits) await applyChange(deps, tx, change, actor.id);
    await recordAudit(tx, auditActor(actor), {
      action: "token_policy.change_requested",
      subject: { type: "token", id: change.token },
      before: { approvalKinds: current.approvalKinds, mintThreshold: current.mintThreshold?.toString() ?? null },
      after: {
        changeId: change.id,
        approvalKinds: change.approvalKinds,
        mintThreshold: change.mintThreshold,
        status: change.status,
      },
    });
    return outcome(deps, tx, token, change);
  });
}

/**
 * Another of the token's issuers approves a waiting change (it applies at once) or refuses it;
 * the requester may only withdraw their own. Both carry a reason, kept on the change.
 */
export async function decidePolicyChange(
  deps: PolicyChangeDeps,
  actor: Actor,
  input: { id: string; reason: string; decision: "approve" | "reject" },
) {
  const [found] = await deps.db
    .select()
    .from(tokenPolicyChanges)
    .where(and(eq(tokenPolicyChanges.id, input.id), eq(tokenPolicyChanges.chainId, deps.config.chain.id)));
  if (!found) throw new KitError("NOT_FOUND", `No policy change ${input.id}.`);
  await requireGrant(deps, actor, found.token);
  if (input.decision === "approve" && found.requestedBy === actor.id) {
    throw new KitError(
      "FORBIDDEN",
      "You asked for this policy change; another of the token's issuers must approve it (four eyes).",
    );
  }
  const token = await requireToken(deps, found.token);
  return inPolicyTransaction(deps, token, async (tx) => {
    const approve = input.decision === "approve";
    const [decided] = await tx
      .update(tokenPolicyChanges)
      .set({
        status: approve ? "applied" : "rejected",
        decidedBy: actor.id,
        decisionReason: input.reason,
        decidedAt: new Date(),
      })
      .where(and(eq(tokenPolicyChanges.id, found.id), eq(tokenPolicyChanges.status, "pending")))
      .returning();
    if (!decided) {
      const [now] = await tx.select().from(tokenPolicyChanges).where(eq(tokenPolicyChanges.id, found.id));
      throw new KitError(
        "CONFLICT",
        `The policy change is ${now?.status ?? found.status}, not waiting for a decision; read the policy again.`,
      );
    }
    if (approve) await applyChange(deps, tx, decided, actor.id);
    await recordAudit(tx, auditActor(actor), {
      action: "token_policy.change_decided",
      subject: { type: "token", id: decided.token },
      after: { changeId: decided.id, status: decided.status, requestedBy: decided.requestedBy },
    });
    return outcome(deps, tx, token, decided);
  });
}

export async function listPolicyChanges(
  deps: PolicyChangeDeps,
  actor: Actor,
  token: Token,
  input: { cursor?: string; limit: number },
) {
  await requireGrant(deps, actor, token.address);
  const after = input.cursor ? decodeCursor(input.cursor, [CHANGE_ID])[0] : undefined;
  const rows = await deps.db
    .select()
    .from(tokenPolicyChanges)
    .where(
      and(
        ...sameToken(deps, token),
        after
          ? sql`(${tokenPolicyChanges.requestedAt}, ${tokenPolicyChanges.id}) < (select requested_at, id from token_policy_changes where id = ${after})`
          : undefined,
      ),
    )
    .orderBy(desc(tokenPolicyChanges.requestedAt), desc(tokenPolicyChanges.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => changeView(token, row)),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.id]) : null,
  };
}

/**
 * From the approver's side: the loosening changes waiting on the tokens `actor` is granted on,
 * leaving out their own (they may not approve them); oldest first, as a queue.
 */
export async function listPolicyChangesAwaitingMe(
  deps: PolicyChangeDeps,
  actor: Actor,
  input: { cursor?: string; limit: number },
) {
  const after = input.cursor ? decodeCursor(input.cursor, [CHANGE_ID])[0] : undefined;
  const rows = await deps.db
    .select({ change: tokenPolicyChanges, decimals: tokens.decimals })
    .from(tokenPolicyChanges)
    .innerJoin(
      tokenGrants,
      and(
        eq(tokenGrants.chainId, tokenPolicyChanges.chainId),
        eq(tokenGrants.token, tokenPolicyChanges.token),
        eq(tokenGrants.userId, actor.id),
      ),
    )
    .innerJoin(
      tokens,
      and(eq(tokens.chainId, tokenPolicyChanges.chainId), eq(tokens.address, tokenPolicyChanges.token)),
    )
    .where(
      and(
        eq(tokenPolicyChanges.chainId, deps.config.chain.id),
        eq(tokenPolicyChanges.status, "pending"),
        ne(tokenPolicyChanges.requestedBy, actor.id),
        after
          ? sql`(${tokenPolicyChanges.requestedAt}, ${tokenPolicyChanges.id}) > (select requested_at, id from token_policy_changes where id = ${after})`
          : undefined,
      ),
    )
    .orderBy(asc(tokenPolicyChanges.requestedAt), asc(tokenPolicyChanges.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ change, decimals }) => changeView({ address: change.token, decimals }, change)),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.change.id]) : null,
  };
}

/** One token's policy changes one at a time: a request never judges against a policy being replaced. */
async function inPolicyTransaction<T>(
  deps: PolicyChangeDeps,
  token: Token,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  return deps.db.transaction(async (tx) => {
    const key = `token-policy:${deps.config.chain.id}:${token.address.toLowerCase()}`;
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
    return work(tx);
  });
}

async function applyChange(deps: PolicyChangeDeps, tx: Transaction, change: ChangeRow, appliedBy: string) {
  const values = {
    chainId: deps.config.chain.id,
    token: change.token,
    approvalKinds: change.approvalKinds,
    mintThreshold: change.mintThreshold,
    updatedBy: appliedBy,
    updatedAt: new Date(),
  };
  await tx
    .insert(tokenOperationPolicies)
    .values(values)
    .onConflictDoUpdate({ target: [tokenOperationPolicies.chainId, tokenOperationPolicies.token], set: values });
}

async function outcome(deps: PolicyChangeDeps, tx: Transaction, token: Token, change: ChangeRow) {
  const policy = await policyOf({ ...deps, db: tx }, token.address);
  const view = changeView(token, change);
  return { change: view, policy: policyView(token, policy, change.status === "pending" ? view : null) };
}

function sameToken(deps: PolicyChangeDeps, token: Token) {
  return [
    eq(tokenPolicyChanges.chainId, deps.config.chain.id),
    eq(tokenPolicyChanges.token, token.address.toLowerCase()),
  ];
}

function changeView(token: Token, row: ChangeRow): PolicyChangeView {
  return {
    id: row.id,
    token: token.address,
    approvalKinds: row.approvalKinds,
    mintThreshold: row.mintThreshold === null ? null : fromSmallestUnit(BigInt(row.mintThreshold), token.decimals),
    loosens: row.loosens,
    status: row.status,
    requestedBy: row.requestedBy,
    reason: row.reason,
    requestedAt: row.requestedAt.toISOString(),
    decidedBy: row.decidedBy,
    decisionReason: row.decisionReason,
    decidedAt: row.decidedAt?.toISOString() ?? null,
  };
}
