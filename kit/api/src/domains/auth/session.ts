// Who is calling, resolved in one Redis round trip: the rate-limit script counts the call under the
// token's owner and reads, atomically with the count, the session entry better-auth keeps in Redis
// (token → { session, user }) and the owner's "sessions revoked before" mark (on a Redis Cluster the
// entry, keyed by better-auth by token and so in another slot, is read by a GET sent alongside, in the
// same round trip; see consumeRateLimitAndRead). The owner of a token
// never changes, so each process remembers it after the first sight of the token (which costs one
// more GET). Anything unusual (no entry, Redis down, a session due for its daily refresh, an API
// key) takes better-auth's own path, which reads Postgres and is the reference for what is valid.
import { createHmac, timingSafeEqual } from "node:crypto";
import { eq } from "drizzle-orm";
import type { ResolvedConfig } from "../../config";
import { BoundedMap } from "../../infra/bounded-map";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import {
  consumeRateLimit,
  consumeRateLimitAndRead,
  type RateLimitResult,
  type RateLimitRule,
  subjectTag,
} from "../../infra/rate-limiter";
import type { Redis } from "../../infra/redis";
import type { Auth } from "./auth";
import { SESSION_EXPIRES_IN_SECONDS, SESSION_UPDATE_AGE_SECONDS } from "./auth";
import { isRoleName, type RoleName } from "./permissions";
import { apikey, user as userTable } from "./schema";
import { AUTH_KEY_PREFIX } from "./secondary-storage";

export interface CallerUser {
  id: string;
  email: string;
  name: string;
  role: RoleName;
  emailVerified: boolean;
  createdAt: Date;
}

export type Caller =
  | { kind: "anonymous" }
  | {
      kind: "user";
      user: CallerUser;
      via: "session" | "api-key";
      sessionId?: string;
      /** For API keys: the key's own grants (an allow-list, see keyStatements); a call needs the role's and the key's. */
      keyGrants?: Record<string, string[]>;
      apiKeyId?: string;
    };

export interface AccessDeps {
  config: ResolvedConfig;
  db: Database;
  redis: Redis;
  auth: Auth;
  log: Logger;
  local: { sessions: SessionMemo };
}

export interface Resolution {
  caller: Caller;
  /** Null when the limiter could not be reached (fail open for procedures, logged and counted). */
  rateLimit: RateLimitResult | null;
  /** Cookies better-auth set while resolving (a session extended by its daily refresh). */
  setCookies?: string[];
}

interface CachedSession {
  session: { id: string; token: string; userId: string; expiresAt: string; createdAt: string };
  user: {
    id: string;
    email: string;
    name: string;
    role?: string | null;
    banned?: boolean | null;
    banExpires?: string | Date | null;
    emailVerified?: boolean;
    createdAt: string | Date;
  };
}

const REFRESH_WHEN_REMAINING_MS = (SESSION_EXPIRES_IN_SECONDS - SESSION_UPDATE_AGE_SECONDS) * 1000;

/**
 * What one process remembers of the session tokens it saw (deps.local.sessions, made by
 * createDeps): facts that never change for a given token or configuration.
 */
export class SessionMemo {
  /** Signed values already verified (only good ones are kept): a returning caller costs no HMAC. */
  private readonly verifiedValues = new BoundedMap<string, { secret: string; token: string }>(20_000);
  /**
   * Session token → user id, as first read from the token's entry. A forgotten token only costs its
   * next call one more GET.
   */
  readonly owners = new BoundedMap<string, string>(20_000);
  /**
   * Token → its session entry as last read from Redis, parsed. The entry read on every call is
   * usually the same text as last time, and comparing it costs far less than parsing it again.
   */
  private readonly entries = new BoundedMap<string, SessionEntry>(20_000);
  private cookieName: { auth: Auth; name: Promise<string> } | undefined;

  /** The session token from a signed cookie or a signed bearer token; null if absent or forged. */
  async readSessionToken(headers: Headers, secret: string, auth: Auth): Promise<string | null> {
    const authorization = headers.get("authorization");
    if (authorization?.slice(0, 7).toLowerCase() === "bearer ") {
      return this.verifiedToken(authorization.slice(7).trim(), secret);
    }
    const cookie = headers.get("cookie");
    if (!cookie) return null;
    const cookieName = await this.sessionCookieName(auth);
    for (const part of cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === cookieName) {
        return this.verifiedToken(part.slice(eq + 1).trim(), secret);
      }
    }
    return null;
  }

  /** The token's session entry from its text in Redis (null when absent), parsed once per distinct text. */
  readEntry(token: string, raw: string | null): SessionEntry | null {
    if (raw === null) return null;
    const known = this.entries.get(token);
    if (known?.raw === raw) return known;
    const entry = toSessionEntry(raw);
    this.entries.set(token, entry);
    return entry;
  }

  async close(): Promise<void> {
    this.verifiedValues.clear();
    this.owners.clear();
    this.entries.clear();
  }

  private verifiedToken(encoded: string, secret: string): string | null {
    const known = this.verifiedValues.get(encoded);
    if (known?.secret === secret) return known.token;
    const token = verifySigned(safeDecode(encoded), secret);
    if (token) this.verifiedValues.set(encoded, { secret, token });
    return token;
  }

  private sessionCookieName(auth: Auth): Promise<string> {
    if (this.cookieName?.auth !== auth) {
      this.cookieName = { auth, name: auth.$context.then((ctx) => ctx.authCookies.sessionToken.name) };
    }
    return this.cookieName.name;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function verifySigned(value: string, secret: string): string | null {
  const dot = value.lastIndexOf(".");
  if (dot < 1) return null;
  const token = value.slice(0, dot);
  const given = Buffer.from(
    value
      .slice(dot + 1)
      .replace(/-/g, "+")
      .replace(/_/g, "/"),
    "base64",
  );
  const expected = createHmac("sha256", secret).update(token).digest();
  return given.length === expected.length && timingSafeEqual(given, expected) ? token : null;
}

/** What a call needs of a session entry, computed once per distinct entry text (SessionMemo.readEntry). */
interface SessionEntry {
  raw: string;
  userId: string;
  sessionId: string;
  expiresAt: number;
  createdAt: number;
  /** Null when the entry's role is not one Kit knows (the caller is then anonymous). Shared: frozen. */
  user: Readonly<CallerUser> | null;
  /** The ban's end (ms since the epoch), +Infinity for a ban without end, 0 when not banned. */
  bannedUntil: number;
}

function toSessionEntry(raw: string): SessionEntry {
  const { session, user } = JSON.parse(raw) as CachedSession;
  const role = user.role ?? "investor";
  return {
    raw,
    userId: session.userId,
    sessionId: session.id,
    expiresAt: Date.parse(session.expiresAt),
    createdAt: Date.parse(session.createdAt),
    user: isRoleName(role)
      ? Object.freeze({
          id: user.id,
          email: user.email,
          name: user.name,
          role,
          emailVerified: Boolean(user.emailVerified),
          createdAt: new Date(user.createdAt),
        })
      : null,
    bannedUntil: !user.banned ? 0 : user.banExpires ? new Date(user.banExpires).getTime() : Number.POSITIVE_INFINITY,
  };
}

function toCallerUser(user: CachedSession["user"]): CallerUser | null {
  const banned = user.banned && (!user.banExpires || new Date(user.banExpires).getTime() > Date.now());
  if (banned || !isRoleName(user.role ?? "investor")) return null;
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: (user.role ?? "investor") as RoleName,
    emailVerified: Boolean(user.emailVerified),
    createdAt: new Date(user.createdAt),
  };
}

/**
 * Resolves the caller and counts the call against `rule` (subject: user id when signed in, else
 * `ip`). Never throws for a bad credential: an invalid one resolves as anonymous.
 */
export async function resolveCaller(
  deps: AccessDeps,
  headers: Headers,
  /** The client address, asked for only when the caller turns out anonymous (it costs a lookup). */
  ip: () => string,
  rule: RateLimitRule,
): Promise<Resolution> {
  const apiKey = headers.get("x-api-key");
  if (apiKey) return limitAfter(deps, { caller: await resolveApiKey(deps, apiKey) }, rule, ip);

  const { sessions } = deps.local;
  const token = await sessions.readSessionToken(headers, deps.config.auth.secret, deps.auth);
  if (!token) return limitAfter(deps, { caller: { kind: "anonymous" } }, rule, ip);

  const sessionKey = `${AUTH_KEY_PREFIX}${token}`;
  let owner = sessions.owners.get(token);
  if (owner === undefined) {
    let first: CachedSession | null;
    try {
      first = parseSession(await deps.redis.get(sessionKey));
    } catch (err) {
      deps.log.warn({ err }, "session cache unavailable; reading the session from Postgres");
      return limitAfter(deps, await resolveFromBetterAuth(deps, headers, token), rule, ip);
    }
    // Unknown to Redis (flushed, evicted, signed out): better-auth decides, from Postgres.
    if (!first) return limitAfter(deps, await resolveFromBetterAuth(deps, headers, token), rule, ip);
    owner = first.session.userId;
    sessions.owners.set(token, owner);
  }

  let read: Awaited<ReturnType<typeof consumeRateLimitAndRead>>;
  try {
    read = await consumeRateLimitAndRead(deps.redis, rule, userSubject(owner), [sessionKey, revokedMarkKey(owner)]);
  } catch (err) {
    deps.log.warn(
      { err, rule: rule.name },
      "session cache and rate limiter unavailable; reading the session from Postgres",
    );
    return { ...(await resolveFromBetterAuth(deps, headers, token)), rateLimit: null };
  }
  const { result: rateLimit, values } = read;
  const entry = sessions.readEntry(token, values[0] ?? null);
  // The revocation mark read is the remembered owner's: it must be this session's user.
  const cached = entry?.userId === owner ? entry : null;
  const now = Date.now();
  if (!cached || cached.expiresAt - now < REFRESH_WHEN_REMAINING_MS) {
    // Gone from Redis, or due for its daily refresh: better-auth decides (the call is counted already).
    return { ...(await resolveFromBetterAuth(deps, headers, token)), rateLimit };
  }
  const revoked = cached.createdAt < Number(values[1] ?? 0);
  if (!cached.user || cached.bannedUntil > now || revoked) return { caller: { kind: "anonymous" }, rateLimit };
  return { caller: { kind: "user", user: cached.user, via: "session", sessionId: cached.sessionId }, rateLimit };
}

function parseSession(raw: string | null): CachedSession | null {
  return raw ? (JSON.parse(raw) as CachedSession) : null;
}

/** The rate-limit subject of a signed-in user. */
const userSubject = (userId: string) => `user:${userId}`;

/** Read by the rate-limit script with the user's count, so it carries the user's tag (one Redis Cluster slot). */
export function revokedMarkKey(userId: string): string {
  return `${AUTH_KEY_PREFIX}revoked-sessions-before:${subjectTag(userSubject(userId))}`;
}

interface Resolved {
  caller: Caller;
  setCookies?: string[];
}

/**
 * better-auth's own check, against Postgres. It may extend the session (daily refresh): its
 * Set-Cookie is passed on so the browser's cookie is extended too. The Redis entry is then written
 * back, so the next request takes the fast path again.
 */
async function resolveFromBetterAuth(deps: AccessDeps, headers: Headers, token: string): Promise<Resolved> {
  const result = await deps.auth.api.getSession({ headers, returnHeaders: true }).catch(() => null);
  const found = result?.response;
  if (!found) return { caller: { kind: "anonymous" } };
  const setCookies = result.headers?.getSetCookie?.() ?? [];
  const ttl = Math.floor((new Date(found.session.expiresAt).getTime() - Date.now()) / 1000);
  if (ttl > 0) {
    await deps.redis
      .set(`${AUTH_KEY_PREFIX}${token}`, JSON.stringify({ session: found.session, user: found.user }), "EX", ttl)
      .catch(() => {}); // Redis away: the next request reads Postgres again
  }
  const user = toCallerUser(found.user as unknown as CachedSession["user"]);
  if (!user) return { caller: { kind: "anonymous" }, setCookies };
  return { caller: { kind: "user", user, via: "session", sessionId: found.session.id }, setCookies };
}

/**
 * better-auth checks the key (its hash, expiry and per-key limit); Kit then reads the key's row and
 * its owner from Postgres, the record, in one query. A key disabled there (by a ban, or by ending
 * the owner's sessions) is refused even while better-auth's Redis copy of it still says enabled.
 */
async function resolveApiKey(deps: AccessDeps, key: string): Promise<Caller> {
  const verified = await deps.auth.api.verifyApiKey({ body: { key } }).catch(() => null);
  if (!verified?.valid || !verified.key) return { kind: "anonymous" };
  const [row] = await deps.db
    .select({ owner: userTable, enabled: apikey.enabled, permissions: apikey.permissions })
    .from(apikey)
    .innerJoin(userTable, eq(userTable.id, apikey.referenceId))
    .where(eq(apikey.id, verified.key.id));
  if (!row || row.enabled === false) return { kind: "anonymous" };
  const user = toCallerUser(row.owner);
  if (!user) return { kind: "anonymous" };
  return { kind: "user", user, via: "api-key", apiKeyId: verified.key.id, keyGrants: parseKeyGrants(row.permissions) };
}

/** The grants better-auth stores as JSON text; anything else grants nothing. */
function parseKeyGrants(stored: string | null): Record<string, string[]> {
  try {
    const parsed: unknown = stored ? JSON.parse(stored) : {};
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).map(([subject, actions]) => [
        subject,
        Array.isArray(actions) ? actions.filter((a): a is string => typeof a === "string") : [],
      ]),
    );
  } catch {
    return {};
  }
}

async function limitAfter(
  deps: AccessDeps,
  resolved: Resolved,
  rule: RateLimitRule,
  ip: () => string,
): Promise<Resolution> {
  const { caller } = resolved;
  const subject = caller.kind === "user" ? userSubject(caller.user.id) : `ip:${ip()}`;
  const rateLimit = await consumeRateLimit(deps.redis, rule, subject).catch((err) => {
    deps.log.warn({ err, rule: rule.name }, "rate limiter unavailable; letting the call through");
    return null;
  });
  return { caller, rateLimit, setCookies: resolved.setCookies };
}
