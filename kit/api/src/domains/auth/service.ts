// The auth domain's logic: the caller's own view, wallet linking, and user administration.
// better-auth's internal adapter does the writes that must also reach its Redis entries
// (role changes refresh cached sessions; revocations delete them).
import { and, count, desc, eq, getTableColumns, ilike, type SQL, sql } from "drizzle-orm";
import { getAddress } from "viem";
import { parseSiweMessage } from "viem/siwe";
import type { Config } from "../../config";
import { decodeCursor, encodeCursor, MICROSECOND_TIME } from "../../cursor";
import type { DomainEvents, JobQueue } from "../../deps";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import { type Database, PG_UNIQUE_VIOLATION, postgresError } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { Auth } from "./auth";
import { SESSION_EXPIRES_IN_SECONDS } from "./auth";
import { grants, isDemotion, type RoleName } from "./permissions";
import { account, apikey, session, user, walletAddress } from "./schema";
import { AUTH_KEY_PREFIX } from "./secondary-storage";
import { type Caller, revokedMarkKey } from "./session";
import { checkWalletSignature } from "./wallet-signatures";

interface AuthDeps {
  config: Config;
  db: Database;
  auth: Auth;
  redis: Redis;
}

/** What linking and unlinking wallets need besides the basics: whom to tell afterwards. */
interface WalletDeps {
  jobs?: JobQueue;
  log?: Logger;
  events: Pick<DomainEvents, "walletLinked" | "walletUnlinked">;
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
    const pipeline = redis.multi();
    pipeline.set(revokedMarkKey(userId), String(now), "EX", REVOKED_MARK_TTL_SECONDS);
    for (const { token } of tokens) pipeline.del(`${AUTH_KEY_PREFIX}${token}`);
    const results = await pipeline.exec();
    if (!results || results.some(([error]) => error)) throw new Error("revocation not applied");
  } catch {
    throw redisUnavailable();
  }
}

/** Drops the cached copies of a user's sessions, so the next request reloads them from Postgres. */
async function dropCachedSessions(redis: Redis, db: Database, userId: string): Promise<void> {
  const tokens = await db.select({ token: session.token }).from(session).where(eq(session.userId, userId));
  if (tokens.length === 0) return;
  await redis.del(...tokens.map(({ token }) => `${AUTH_KEY_PREFIX}${token}`));
}

/**
 * Disables every API key of `userId` in Postgres, which Kit reads on each call made with a key
 * (session.ts), then drops better-auth's Redis copies so its own key listing agrees. The owner may
 * enable a key again from a new session (better-auth's /api/auth/api-key/update).
 */
async function disableApiKeys(
  { db, redis, log }: { db: Database; redis: Redis; log?: Logger },
  userId: string,
): Promise<number> {
  const disabled = await db
    .update(apikey)
    .set({ enabled: false, updatedAt: new Date() })
    .where(and(eq(apikey.referenceId, userId), sql`${apikey.enabled} is not false`))
    .returning({ id: apikey.id, hashedKey: apikey.key });
  const cached = disabled.flatMap(({ id, hashedKey }) => [
    `${AUTH_KEY_PREFIX}api-key:${hashedKey}`,
    `${AUTH_KEY_PREFIX}api-key:by-id:${id}`,
  ]);
  // Only a display can go stale here: authorization reads Postgres.
  await redis.del(...cached, `${AUTH_KEY_PREFIX}api-key:by-ref:${userId}`).catch((err) => {
    log?.warn({ err, userId }, "disabled API keys stay cached as enabled in better-auth's listing until next used");
  });
  return disabled.length;
}

type UserRow = typeof user.$inferSelect;
type WalletRow = typeof walletAddress.$inferSelect;

function toUserView(row: UserRow) {
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

function toWalletView(row: WalletRow) {
  return {
    address: row.address,
    chainId: row.chainId,
    isPrimary: row.isPrimary,
    linkedAt: row.createdAt.toISOString(),
  };
}

/** The caller's own view: the user as the session carries it (kept current on every change), plus wallets. */
// A named prepared statement per database: me.get is the hottest signed-in read, and building the
// SQL and planning it on every call cost more than the rest of the call (bench/README.md).
const walletsQueries = new WeakMap<Database, ReturnType<typeof prepareWalletsQuery>>();
function prepareWalletsQuery(db: Database) {
  return db
    .select()
    .from(walletAddress)
    .where(eq(walletAddress.userId, sql.placeholder("userId")))
    .orderBy(desc(walletAddress.isPrimary), walletAddress.createdAt)
    .prepare("kit_me_wallets");
}

export async function getMe({ db }: Pick<AuthDeps, "db">, caller: Extract<Caller, { kind: "user" }>) {
  let walletsQuery = walletsQueries.get(db);
  if (!walletsQuery) {
    walletsQuery = prepareWalletsQuery(db);
    walletsQueries.set(db, walletsQuery);
  }
  const wallets = await walletsQuery.execute({ userId: caller.user.id });
  const { id, email, name, role, emailVerified, createdAt } = caller.user;
  const view = { id, email, name, role, emailVerified, createdAt: createdAt.toISOString() };
  const roleGrants = grants[view.role] as Record<string, string[]>;
  // With an API key, what both the role and the key allow (the key's own grants are listed apart).
  const keyGrants = caller.via === "api-key" ? (caller.keyGrants ?? {}) : null;
  const permissions = keyGrants
    ? Object.fromEntries(
        Object.entries(roleGrants)
          .map(([subject, actions]): [string, string[]] => [
            subject,
            actions.filter((a) => keyGrants[subject]?.includes(a)),
          ])
          .filter(([, actions]) => actions.length > 0),
      )
    : roleGrants;
  return { user: view, permissions, keyGrants, wallets: wallets.map(toWalletView), authenticatedWith: caller.via };
}

/**
 * Wallets one account may link. Every linked wallet is registered, watched and (for a sanctions
 * case) frozen on chain by Kit's jobs, each with its own transactions: the bound keeps one account
 * from making that work, or the `me.get` answer, grow without limit.
 */
export const MAX_WALLETS_PER_USER = 20;

function tooManyWallets(): KitError {
  return new KitError(
    "CONFLICT",
    `Your account already has ${MAX_WALLETS_PER_USER} linked wallets, the most it may have; unlink one you no longer use, then link this one.`,
  );
}

/**
 * Links the wallet that signed `message` (EIP-4361) to `userId`. The message must name Kit's
 * domain and chain, carry a nonce Kit issued (single use), and be within its validity window.
 */
export async function linkWallet(
  { config, db, auth, chain, jobs, log, events }: AuthDeps & WalletDeps & { chain: Chain },
  userId: string,
  input: { message: string; signature: string },
) {
  let parsed: ReturnType<typeof parseSiweMessage>;
  try {
    parsed = parseSiweMessage(input.message);
  } catch {
    throw new KitError("BAD_REQUEST", "The message is not a valid Sign-In with Ethereum message.");
  }
  if (!parsed.address || !parsed.nonce || !parsed.domain || parsed.chainId === undefined) {
    throw new KitError("BAD_REQUEST", "The SIWE message must contain an address, a nonce, a domain and a chain id.");
  }
  if (parsed.domain !== new URL(config.auth.publicUrl).host) {
    throw new KitError(
      "BAD_REQUEST",
      `The SIWE message is for ${parsed.domain}; sign one for ${new URL(config.auth.publicUrl).host}.`,
    );
  }
  if (parsed.chainId !== config.chain.id) {
    throw new KitError(
      "BAD_REQUEST",
      `The SIWE message names chain ${parsed.chainId}; Kit serves chain ${config.chain.id}.`,
    );
  }
  const now = Date.now();
  if (parsed.expirationTime && parsed.expirationTime.getTime() <= now) {
    throw new KitError("BAD_REQUEST", "The SIWE message has expired; sign a new one.");
  }
  if (parsed.notBefore && parsed.notBefore.getTime() > now) {
    throw new KitError("BAD_REQUEST", "The SIWE message is not valid yet.");
  }
  const check = await checkWalletSignature(chain, {
    address: parsed.address,
    message: input.message,
    signature: input.signature as `0x${string}`,
  });
  if (check === "chain-unavailable") {
    throw new KitError(
      "SERVICE_UNAVAILABLE",
      "The chain could not be asked to check this wallet's signature (a contract wallet's is checked on chain); retry in a minute.",
    );
  }
  if (check === "invalid") throw new KitError("BAD_REQUEST", "The signature does not match the message and address.");

  // Checked again under the lock below; asked here too, so that a refused link keeps its nonce.
  const [{ linked } = { linked: 0 }] = await db
    .select({ linked: count() })
    .from(walletAddress)
    .where(eq(walletAddress.userId, userId));
  if (linked >= MAX_WALLETS_PER_USER) throw tooManyWallets();

  // The nonce is consumed only after the signature checks out, so a forged attempt cannot burn it.
  const ctx = await auth.$context;
  const nonceFound = await ctx.internalAdapter.consumeVerificationValue(`siwe:${parsed.nonce}`);
  if (!nonceFound) throw new KitError("BAD_REQUEST", "The nonce is unknown, expired or already used; get a new one.");

  const checksummed = getAddress(parsed.address);
  const createdAt = new Date();
  try {
    const [row] = await db.transaction(async (tx) => {
      // Serialises links for one user, so two at once can neither both become primary nor both
      // take the last free place.
      await tx.select({ id: user.id }).from(user).where(eq(user.id, userId)).for("update");
      const linked = await tx
        .select({ isPrimary: walletAddress.isPrimary })
        .from(walletAddress)
        .where(eq(walletAddress.userId, userId));
      if (linked.length >= MAX_WALLETS_PER_USER) throw tooManyWallets();
      const hasPrimary = linked.some((wallet) => wallet.isPrimary);
      const inserted = await tx
        .insert(walletAddress)
        .values({
          id: crypto.randomUUID(),
          userId,
          address: checksummed,
          chainId: parsed.chainId as number,
          isPrimary: !hasPrimary,
          createdAt,
        })
        .returning();
      await tx.insert(account).values({
        id: crypto.randomUUID(),
        userId,
        providerId: "siwe",
        accountId: `${checksummed}:${parsed.chainId}`,
        createdAt,
        updatedAt: createdAt,
      });
      return inserted;
    });
    if (!row) throw new Error("wallet insert returned no row");
    // After the commit: an approved investor's new wallet becomes eligible on chain too (kyc listens).
    await events.walletLinked({ db, jobs, log }, userId, checksummed);
    return toWalletView(row);
  } catch (error) {
    if (postgresError(error)?.code === PG_UNIQUE_VIOLATION) {
      const [owner] = await db
        .select({ userId: walletAddress.userId })
        .from(walletAddress)
        .where(and(eq(walletAddress.address, checksummed), eq(walletAddress.chainId, parsed.chainId as number)));
      throw new KitError(
        "CONFLICT",
        owner?.userId === userId
          ? "This wallet is already linked to your account."
          : "This wallet is linked to another account.",
      );
    }
    throw error;
  }
}

/** Unlinks a wallet, unless it is the account's only way to sign in. */
export async function unlinkWallet(
  { db, jobs, log, events }: AuthDeps & WalletDeps,
  userId: string,
  rawAddress: string,
) {
  const checksummed = getAddress(rawAddress.toLowerCase());
  await db.transaction(async (tx) => {
    const wallets = await tx.select().from(walletAddress).where(eq(walletAddress.userId, userId)).for("update");
    const target = wallets.find((w) => w.address === checksummed);
    if (!target) throw new KitError("NOT_FOUND", `No wallet ${checksummed} is linked to your account.`);
    const [password] = await tx
      .select({ id: account.id })
      .from(account)
      .where(and(eq(account.userId, userId), eq(account.providerId, "credential")));
    if (!password && wallets.length === 1) {
      throw new KitError(
        "PRECONDITION_FAILED",
        "This wallet is your only way to sign in; link another wallet or set a password first.",
      );
    }
    await tx.delete(walletAddress).where(eq(walletAddress.id, target.id));
    await tx
      .delete(account)
      .where(
        and(
          eq(account.userId, userId),
          eq(account.providerId, "siwe"),
          eq(account.accountId, `${target.address}:${target.chainId}`),
        ),
      );
    if (target.isPrimary) {
      const next = wallets.find((w) => w.id !== target.id);
      if (next) await tx.update(walletAddress).set({ isPrimary: true }).where(eq(walletAddress.id, next.id));
    }
  });
  // After the commit: a wallet Kit made eligible loses Kit's claim with its owner (kyc listens).
  await events.walletUnlinked({ db, jobs, log }, userId, checksummed);
  return { unlinked: true as const };
}

/** Users newest first, keyset-paginated on (created_at, id): a page deep in the list costs what the first does. */
export async function listUsers(
  { db }: Pick<AuthDeps, "db">,
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
 * on. A promotion keeps the sessions: Postgres first, then the cached entries are dropped (they
 * reload with the new role); if Redis cannot be reached the role is put back and the caller gets
 * SERVICE_UNAVAILABLE.
 */
export async function setUserRole({ db, auth, redis }: AuthDeps, actorId: string, id: string, role: RoleName) {
  refuseSelf(actorId, id, "change the role of");
  const before = await requireUser(db, id);
  if (redis.status !== "ready") throw redisUnavailable();
  const ctx = await auth.$context;
  if (isDemotion(before.role as RoleName, role)) {
    await revokeCachedSessions(redis, db, id);
    await ctx.internalAdapter.updateUser(id, { role });
    await ctx.internalAdapter.deleteUserSessions(id);
    return toUserView(await requireUser(db, id));
  }
  await ctx.internalAdapter.updateUser(id, { role });
  try {
    await dropCachedSessions(redis, db, id);
  } catch {
    await ctx.internalAdapter.updateUser(id, { role: before.role });
    throw redisUnavailable();
  }
  return toUserView(await requireUser(db, id));
}

/** A ban ends the user's sessions and disables their API keys; lifting it restores neither. */
export async function banUser(
  { db, auth, redis, log }: AuthDeps & { log?: Logger },
  actorId: string,
  id: string,
  input: { reason: string; expiresInSeconds?: number },
) {
  refuseSelf(actorId, id, "ban");
  await requireUser(db, id);
  await revokeCachedSessions(redis, db, id);
  await disableApiKeys({ db, redis, log }, id);
  const ctx = await auth.$context;
  const banExpires = input.expiresInSeconds ? new Date(Date.now() + input.expiresInSeconds * 1000) : null;
  await ctx.internalAdapter.updateUser(id, { banned: true, banReason: input.reason, banExpires });
  await ctx.internalAdapter.deleteUserSessions(id);
  return toUserView(await requireUser(db, id));
}

export async function unbanUser({ db, auth }: AuthDeps, id: string) {
  await requireUser(db, id);
  const ctx = await auth.$context;
  await ctx.internalAdapter.updateUser(id, { banned: false, banReason: null, banExpires: null });
  return toUserView(await requireUser(db, id));
}

/** Ends every session of the user and disables their API keys (a stolen key stops with them). */
export async function revokeUserSessions({ db, auth, redis, log }: AuthDeps & { log?: Logger }, id: string) {
  await requireUser(db, id);
  await revokeCachedSessions(redis, db, id);
  const [{ active } = { active: 0 }] = await db
    .select({ active: count() })
    .from(session)
    .where(and(eq(session.userId, id), sql`${session.expiresAt} > now()`));
  const apiKeysDisabled = await disableApiKeys({ db, redis, log }, id);
  const ctx = await auth.$context;
  await ctx.internalAdapter.deleteUserSessions(id);
  return { revoked: active, apiKeysDisabled };
}

/**
 * Creates a user who signs in with e-mail and password (the CLI and BOOTSTRAP_ADMIN_* use it).
 * Returns null when the e-mail address is taken.
 */
export async function createPasswordUser(
  { db, auth }: Pick<AuthDeps, "db" | "auth">,
  input: { email: string; password: string; role: RoleName; name?: string },
) {
  const ctx = await auth.$context;
  const email = input.email.toLowerCase();
  if (await ctx.internalAdapter.findUserByEmail(email)) return null;
  const hash = await ctx.password.hash(input.password);
  try {
    return await db.transaction(async (tx) => {
      const id = crypto.randomUUID();
      const now = new Date();
      const [row] = await tx
        .insert(user)
        .values({
          id,
          email,
          name: input.name ?? email.split("@")[0] ?? email,
          role: input.role,
          emailVerified: true,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      await tx.insert(account).values({
        id: crypto.randomUUID(),
        userId: id,
        providerId: "credential",
        accountId: id,
        password: hash,
        createdAt: now,
        updatedAt: now,
      });
      if (!row) throw new Error("user insert returned no row");
      return toUserView(row);
    });
  } catch (error) {
    if (postgresError(error)?.code === PG_UNIQUE_VIOLATION) return null;
    throw error;
  }
}
