// Per-token grants: a token's issuers are the users granted on it. Servicing a token needs a grant
// on that token, not only a role that may operate tokens; admins and the token's issuers grant.
import { and, asc, eq, gt } from "drizzle-orm";
import { getAddress } from "viem";
import { decodeCursor, encodeCursor } from "../../cursor";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import { type AuditActor, recordAudit } from "../audit/record";
import { roleGrants } from "../auth/permissions";
import { user } from "../auth/schema";
import { tokenGrants } from "./schema";

export interface Actor {
  id: string;
  role?: string | null;
  /** How the audit trail names them (request id, address); the router fills it. */
  audit?: AuditActor;
}

/** The trail's actor for `actor`: the router's, or just the user when a caller gave none. */
export const auditActor = (actor: Actor): AuditActor => actor.audit ?? { userId: actor.id };

interface GrantDeps {
  db: Database;
  config: { chain: { id: number } };
}

export async function hasGrant(deps: GrantDeps, token: string, userId: string): Promise<boolean> {
  const [row] = await deps.db
    .select({ userId: tokenGrants.userId })
    .from(tokenGrants)
    .where(
      and(
        eq(tokenGrants.chainId, deps.config.chain.id),
        eq(tokenGrants.token, token.toLowerCase()),
        eq(tokenGrants.userId, userId),
      ),
    );
  return row !== undefined;
}

export async function requireGrant(deps: GrantDeps, actor: Actor, token: string): Promise<void> {
  if (await hasGrant(deps, token, actor.id)) return;
  throw new KitError(
    "FORBIDDEN",
    `You have no grant on the token ${token}; an admin or one of its issuers grants it (POST /api/tokens/${token}/grants).`,
  );
}

/** Admins grant on any token; an issuer only on a token already granted to them. */
async function requireGranter(deps: GrantDeps, actor: Actor, token: string): Promise<void> {
  if (actor.role === "admin") return;
  await requireGrant(deps, actor, token);
}

export async function listGrants(deps: GrantDeps, actor: Actor, token: string) {
  await requireGranter(deps, actor, token);
  const rows = await deps.db
    .select()
    .from(tokenGrants)
    .where(and(eq(tokenGrants.chainId, deps.config.chain.id), eq(tokenGrants.token, token.toLowerCase())))
    .orderBy(asc(tokenGrants.grantedAt), asc(tokenGrants.userId));
  return { items: rows.map(grantView) };
}

export async function addGrant(deps: GrantDeps, actor: Actor, token: string, userId: string) {
  await requireGranter(deps, actor, token);
  const [target] = await deps.db.select({ id: user.id, role: user.role }).from(user).where(eq(user.id, userId));
  if (!target) throw new KitError("NOT_FOUND", `No user ${userId}.`);
  if (!roleGrants(target.role, { tokens: ["operate"] })) {
    throw new KitError(
      "BAD_REQUEST",
      `User ${userId} is ${target.role}; only issuers and admins may service tokens. Change their role first.`,
      [{ path: "userId", message: "the user's role may not service tokens" }],
    );
  }
  const chainId = deps.config.chain.id;
  await deps.db.transaction(async (tx) => {
    const added = await tx
      .insert(tokenGrants)
      .values({ chainId, token: token.toLowerCase(), userId, grantedBy: actor.id })
      .onConflictDoNothing()
      .returning({ userId: tokenGrants.userId });
    if (added.length === 0) return;
    await recordAudit(tx, auditActor(actor), {
      action: "token.grant_added",
      subject: { type: "token", id: token.toLowerCase() },
      after: { userId, chainId },
    });
  });
  const [row] = await deps.db
    .select()
    .from(tokenGrants)
    .where(
      and(eq(tokenGrants.chainId, chainId), eq(tokenGrants.token, token.toLowerCase()), eq(tokenGrants.userId, userId)),
    );
  if (!row) throw new Error("grant not found after insert");
  return grantView(row);
}

export async function removeGrant(deps: GrantDeps, actor: Actor, token: string, userId: string) {
  await requireGranter(deps, actor, token);
  const chainId = deps.config.chain.id;
  const removed = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .delete(tokenGrants)
      .where(
        and(
          eq(tokenGrants.chainId, chainId),
          eq(tokenGrants.token, token.toLowerCase()),
          eq(tokenGrants.userId, userId),
        ),
      )
      .returning({ userId: tokenGrants.userId });
    if (rows.length > 0) {
      await recordAudit(tx, auditActor(actor), {
        action: "token.grant_removed",
        subject: { type: "token", id: token.toLowerCase() },
        before: { userId, chainId },
      });
    }
    return rows;
  });
  return { removed: removed.length > 0 };
}

const STORED_ADDRESS = /^0x[0-9a-f]{40}$/;

/** The tokens `actor` is granted on, on this chain, by address; the cursor is the last token's address. */
export async function listMyGrants(deps: GrantDeps, actor: Actor, input: { cursor?: string; limit: number }) {
  const after = input.cursor ? decodeCursor(input.cursor, [STORED_ADDRESS])[0] : undefined;
  const rows = await deps.db
    .select()
    .from(tokenGrants)
    .where(
      and(
        eq(tokenGrants.chainId, deps.config.chain.id),
        eq(tokenGrants.userId, actor.id),
        after ? gt(tokenGrants.token, after) : undefined,
      ),
    )
    .orderBy(asc(tokenGrants.token))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({
      token: getAddress(row.token),
      grantedBy: row.grantedBy,
      grantedAt: row.grantedAt.toISOString(),
    })),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.token]) : null,
  };
}

function grantView(row: typeof tokenGrants.$inferSelect) {
  return { userId: row.userId, grantedBy: row.grantedBy, grantedAt: row.grantedAt.toISOString() };
}
