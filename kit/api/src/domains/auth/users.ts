// User administration: admins list users, change roles, ban and unban, and end sessions. Each change
// is one Postgres transaction with its audit event (both or neither); better-auth's Redis entries
// are invalidated before it (a revocation cannot half-happen) and tidied after it.

import { and, desc, eq, getTableColumns, ilike, type SQL, sql } from "drizzle-orm";
import { decodeCursor, encodeCursor, MICROSECOND_TIME } from "../../cursor";
import { KitError } from "../../errors";
import type { Database, Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { deleteKeys, type Redis } from "../../infra/redis";
import { type AuditActor, recordAudit } from "../audit/record";
import { type Auth, SESSION_EXPIRES_IN_SECONDS } from "./auth";
import { isDemotion, type RoleName } from "./permissions";
import { apikey, session, user } from "./schema";
import { AUTH_KEY_PREFIX } from "./secondary-storage";
import { revokedMarkKey } from "./session";

interface UserAdminDeps {
  db: Database;
  auth: Auth;
  redis: Redis;
}

/** better-auth's retention for its "sessions revoked before" mark: longer than any session lives. */
const REVOKED_MARK_TTL_SECONDS = SESSION_EXPIRES_IN_SECONDS + 24 * 60 * 60;

function redisUnavailable(): KitError {
  return new KitError(
    "SERVICE_UNAVAILABLE",
    "The session store (Redis) is unavailable, so this change could not reach signed-in sessions; nothing was changed. Retry shortly.",
  );
}

/**
 * Makes every existing session of `userId` invalid in Redis before Postgres changes: the
 * "revoked before" mark refuses them even if one is refilled meanwhile. If Redis cannot be
 * reached, nothing is changed and the caller gets SERVICE_UNAVAILABLE, so a ban never half-happens.
 */
async function revokeCachedSessions(redis: Redis, db: Database, userId: string): Promise<void> {
  const tokens = await db.select({ token: session.token }).from(session).where(eq(session.userId, userId));
  const now = Date.now();
  try {
    // The entries first (on a Redis Cluster they live in other slots than the mark, so this cannot
    // be one MULTI): if the mark then fails, dropping them changed nothing (they reload from Postgres).
    await deleteKeys(
      redis,
      tokens.map(({ token }) => `${AUTH_KEY_PREFIX}${token}`),
    );
    await redis.set(revokedMarkKey(userId), String(now), "EX", REVOKED_MARK_TTL_SECONDS);
    // better-auth's own mark (its get-session and refresh path read it), as its deleteUserSessions sets it.
    await redis.set(`${AUTH_KEY_PREFIX}revoked-sessions-before-${userId}`, String(now), "EX", REVOKED_MARK_TTL_SECONDS);
  } catch {
    throw redisUnavailable();
  }
}

/** Drops the cached copies of a user's sessions, so the next request reloads them from Postgres. */
async function dropCachedSessions(redis: Redis, db: Database | Transaction, userId: string): Promise<void> {
  const tokens = await db.select({ token: session.token }).from(session).where(eq(session.userId, userId));
  if (tokens.length === 0) return;
  await deleteKeys(
    redis,
    tokens.map(({ token }) => `${AUTH_KEY_PREFIX}${token}`),
  );
}

/**
 * Disables every API key of `userId` in Postgres (in the caller's transaction), which Kit reads on
 * each call made with a key (session.ts). Answers how many, and better-auth's Redis copies of them,
 * for `forgetCachedApiKeys` after the commit. The owner may enable a key again from a new session
 * (better-auth's /api/auth/api-key/update).
 */
async function disableApiKeys(tx: Transaction, userId: string): Promise<{ count: number; cached: string[] }> {
  const disabled = await tx
    .update(apikey)
    .set({ enabled: false, updatedAt: new Date() })
    .where(and(eq(apikey.referenceId, userId), sql`${apikey.enabled} is not false`))
    .returning({ id: apikey.id, hashedKey: apikey.key });
  const cached = disabled.flatMap(({ id, hashedKey }) => [
    `${AUTH_KEY_PREFIX}api-key:${hashedKey}`,
    `${AUTH_KEY_PREFIX}api-key:by-id:${id}`,
  ]);
  return { count: disabled.length, cached: [...cached, `${AUTH_KEY_PREFIX}api-key:by-ref:${userId}`] };
}

/** After the commit. Only a display can go stale here: authorization reads Postgres. */
async function forgetCachedApiKeys(redis: Redis, cached: string[], userId: string, log?: Logger): Promise<void> {
  await deleteKeys(redis, cached).catch((err) => {
    log?.warn({ err, userId }, "disabled API keys stay cached as enabled in better-auth's listing until next used");
  });
}

/**
 * After the commit that deleted a user's sessions: better-auth's list of them in Redis (its
 * session listing), which would otherwise name tokens that are gone until it expires.
 */
async function forgetSessionList(redis: Redis, userId: string, log?: Logger): Promise<void> {
  await deleteKeys(redis, [`${AUTH_KEY_PREFIX}active-sessions-${userId}`]).catch((err) => {
    log?.warn({ err, userId }, "better-auth's list of the user's sessions names ended ones until it expires");
  });
}

type UserRow = typeof user.$inferSelect;

export function toUserView(row: UserRow) {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role as RoleName,
    emailVerified: row.emailVerified,
    banned: row.banned,
    banReason: row.banReason,
    banExpiresAt: row.banExpires?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Users newest first, keyset-paginated on (created_at, id): a page deep in the list costs what the first does. */
export async function listUsers(
  { db }: Pick<UserAdminDeps, "db">,
  input: { search?: string; role?: RoleName; cursor?: string; limit: number },
) {
  const conditions: SQL[] = [];
  if (input.search) {
    // Matches the trigram index on (email || ' ' || name); LIKE wildcards in the term are literal.
    const term = `%${input.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    conditions.push(ilike(sql`(${user.email} || ' ' || ${user.name})`, term));
  }
  if (input.role) conditions.push(eq(user.role, input.role));
  if (input.cursor) {
    const [at, id] = decodeCursor(input.cursor, [MICROSECOND_TIME, USER_ID]) as [string, string];
    // A row comparison: an index bound on (created_at, id), not a filter over every newer row.
    conditions.push(sql`(${user.createdAt}, ${user.id}) < (${at}::timestamptz, ${id})`);
  }
  const rows = await db
    .select({
      ...getTableColumns(user),
      cursorAt: sql<string>`to_char(${user.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(user)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(user.createdAt), desc(user.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map(toUserView),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.cursorAt, last.id]) : null,
  };
}

/** better-auth's generated ids and the UUIDs Kit's own user creation uses. */
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

async function requireUser(db: Database, id: string): Promise<UserRow> {
  const [row] = await db.select().from(user).where(eq(user.id, id));
  if (!row) throw new KitError("NOT_FOUND", `No user ${id}.`);
  return row;
}

function refuseSelf(actorId: string, targetId: string, what: string) {
  if (actorId === targetId) {
    throw new KitError("PRECONDITION_FAILED", `You cannot ${what} yourself; ask another admin.`);
  }
}

/**
 * Changes a role so that it holds on the target's very next request. A demotion ends the target's
 * sessions, as a ban does: the "revoked before" mark refuses every session begun before it, even
 * one that a request in flight writes back to Redis, with the old role, after this change
 * (session.ts, resolveFromBetterAuth) — dropping the cached entries alone would let that copy live
 * on. A promotion keeps the sessions: their cached entries are dropped before the commit (if Redis
 * cannot be reached, nothing changes and the caller gets SERVICE_UNAVAILABLE) and again after it,
 * for an entry a request reloaded meanwhile; they reload with the new role.
 * The change and its audit event are one transaction: both are recorded, or neither.
 */
export async function setUserRole(
  { db, redis, log }: UserAdminDeps & { log?: Logger },
  actor: AuditActor & { userId: string },
  id: string,
  role: RoleName,
) {
  refuseSelf(actor.userId, id, "change the role of");
  const before = await requireUser(db, id);
  if (redis.status !== "ready") throw redisUnavailable();
  const demotion = isDemotion(before.role as RoleName, role);
  if (demotion) await revokeCachedSessions(redis, db, id);
  const changed = await db.transaction(async (tx) => {
    const [row] = await tx.update(user).set({ role, updatedAt: new Date() }).where(eq(user.id, id)).returning();
    if (demotion) await tx.delete(session).where(eq(session.userId, id));
    else
      await dropCachedSessions(redis, tx, id).catch(() => {
        throw redisUnavailable();
      });
    await recordAudit(tx, actor, {
      action: "user.role_changed",
      subject: { type: "user", id },
      before: { role: before.role },
      after: { role, sessionsEnded: demotion },
    });
    return row;
  });
  if (demotion) await forgetSessionList(redis, id, log);
  else
    await dropCachedSessions(redis, db, id).catch((err) => {
      log?.warn(
        { err, userId: id },
        "a session reloaded during the role change may keep the old role until it expires from Redis",
      );
    });
  return toUserView(changed ?? (await requireUser(db, id)));
}

/** A ban ends the user's sessions and disables their API keys; lifting it restores neither. */
export async function banUser(
  { db, redis, log }: UserAdminDeps & { log?: Logger },
  actor: AuditActor & { userId: string },
  id: string,
  input: { reason: string; expiresInSeconds?: number },
) {
  refuseSelf(actor.userId, id, "ban");
  await requireUser(db, id);
  await revokeCachedSessions(redis, db, id);
  const banExpires = input.expiresInSeconds ? new Date(Date.now() + input.expiresInSeconds * 1000) : null;
  const banned = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(user)
      .set({ banned: true, banReason: input.reason, banExpires, updatedAt: new Date() })
      .where(eq(user.id, id))
      .returning();
    await tx.delete(session).where(eq(session.userId, id));
    const keys = await disableApiKeys(tx, id);
    // The reason is staff's own words about a person: kept on the user, not copied into the trail.
    await recordAudit(tx, actor, {
      action: "user.banned",
      subject: { type: "user", id },
      after: { banned: true, expiresAt: banExpires?.toISOString() ?? null },
    });
    return { row, keys };
  });
  await forgetSessionList(redis, id, log);
  await forgetCachedApiKeys(redis, banned.keys.cached, id, log);
  return toUserView(banned.row ?? (await requireUser(db, id)));
}

export async function unbanUser({ db }: Pick<UserAdminDeps, "db">, actor: AuditActor, id: string) {
  await requireUser(db, id);
  const row = await db.transaction(async (tx) => {
    const [updated] = await tx
      .update(user)
      .set({ banned: false, banReason: null, banExpires: null, updatedAt: new Date() })
      .where(eq(user.id, id))
      .returning();
    await recordAudit(tx, actor, { action: "user.unbanned", subject: { type: "user", id }, after: { banned: false } });
    return updated;
  });
  return toUserView(row ?? (await requireUser(db, id)));
}

/** Ends every session of the user and disables their API keys (a stolen key stops with them). */
export async function revokeUserSessions(
  { db, redis, log }: UserAdminDeps & { log?: Logger },
  actor: AuditActor,
  id: string,
) {
  await requireUser(db, id);
  await revokeCachedSessions(redis, db, id);
  const outcome = await db.transaction(async (tx) => {
    const ended = await tx.delete(session).where(eq(session.userId, id)).returning({ expiresAt: session.expiresAt });
    const active = ended.filter((s) => s.expiresAt.getTime() > Date.now()).length;
    const keys = await disableApiKeys(tx, id);
    await recordAudit(tx, actor, {
      action: "user.sessions_revoked",
      subject: { type: "user", id },
      after: { sessionsEnded: active, apiKeysDisabled: keys.count },
    });
    return { revoked: active, apiKeysDisabled: keys.count, cached: keys.cached };
  });
  await forgetSessionList(redis, id, log);
  await forgetCachedApiKeys(redis, outcome.cached, id, log);
  return { revoked: outcome.revoked, apiKeysDisabled: outcome.apiKeysDisabled };
}
