// Auth flows over HTTP against real Postgres and Redis: e-mail + password, bearer tokens, session
// expiry, API keys, the effect of admin actions on the very next request, and what happens when
// Redis loses its data or goes away. SIWE and wallet linking are in siwe.test.ts.
//
// better-auth's own per-address limiter allows 10 sign-ins a minute per address; in-process
// requests have no socket, so every request would share one address. The kit trusts one proxy hop
// (TRUST_PROXY_HOPS=1) and each request here says it comes from an address of its own
// (x-forwarded-for), which keeps this file's many sign-ins inside that limit without changing any
// other behaviour. Kit's per-account limit is untouched: every e-mail address is unique.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from "viem/accounts";
import { eventually } from "../../../test/eventually";
import { createTestKit, type TestKit } from "../../../test/kit";
import { redisCommandsDuring, redisOutcomesDuring } from "../../../test/redis-commands";
import { startPrivateRedis } from "../../../test/redis-server";
import { signedWalletLink, TRUSTED_ORIGIN } from "../../../test/users";
import type { RoleName } from "./permissions";
import { AUTH_KEY_PREFIX } from "./secondary-storage";
import { createPasswordUser } from "./service";

const PASSWORD = "correct horse battery staple";

const kit = await createTestKit({ env: { TRUST_PROXY_HOPS: "1" } });
const cookieName = (await kit.deps.auth.$context).authCookies.sessionToken.name;

let sequence = 0;
function nextIp(): string {
  sequence += 1;
  return `10.${(sequence >> 16) & 255}.${(sequence >> 8) & 255}.${sequence & 255}`;
}
function uniqueEmail(label: string): string {
  sequence += 1;
  return `${label}-${sequence}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

interface Session {
  /** `cookie` header value. */
  cookie: string;
  /** Signed token for `Authorization: Bearer`, from the `set-auth-token` response header. */
  bearer: string;
  /** The raw session token (the Redis key is `<prefix>auth:<token>`). */
  token: string;
}

/** A better-auth POST as a browser on the trusted origin would send it. */
function authPost(k: TestKit, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return k.request(`/api/auth${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, "x-forwarded-for": nextIp(), ...headers },
    body: JSON.stringify(body),
  });
}

function sessionFrom(response: Response): Session {
  const setCookie = response.headers.getSetCookie().find((c) => c.startsWith(`${cookieName}=`));
  const bearer = response.headers.get("set-auth-token");
  if (!setCookie || !bearer) throw new Error(`no session in response (${response.status})`);
  const cookie = setCookie.split(";")[0] ?? "";
  const signed = decodeURIComponent(cookie.slice(cookieName.length + 1));
  return { cookie, bearer, token: signed.slice(0, signed.lastIndexOf(".")) };
}

async function signIn(k: TestKit, email: string, password = PASSWORD): Promise<Session> {
  const response = await authPost(k, "/sign-in/email", { email, password });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  return sessionFrom(response);
}

interface User extends Session {
  id: string;
  email: string;
}

async function createUser(k: TestKit, role: RoleName = "investor"): Promise<User> {
  const email = uniqueEmail(role);
  const created = await createPasswordUser(k.deps, { email, password: PASSWORD, role });
  if (!created) throw new Error(`${email} exists`);
  return { id: created.id, email, ...(await signIn(k, email)) };
}

type Credential = { cookie: string } | { bearer: string } | { apiKey: string } | Record<string, never>;
function credentialHeaders(credential: Credential): Record<string, string> {
  if ("cookie" in credential) return { cookie: credential.cookie };
  if ("bearer" in credential) return { authorization: `Bearer ${credential.bearer}` };
  if ("apiKey" in credential) return { "x-api-key": credential.apiKey };
  return {};
}

interface MeBody {
  user: { id: string; email: string; role: string };
  permissions: Record<string, string[]>;
  keyGrants: Record<string, string[]> | null;
  wallets: unknown[];
  authenticatedWith: string;
}

async function getMe(
  k: TestKit,
  credential: Credential,
): Promise<{ status: number; body: MeBody & { code?: string } }> {
  const response = await k.request("/api/me", { headers: credentialHeaders(credential) });
  return { status: response.status, body: (await response.json()) as MeBody & { code?: string } };
}

async function call(
  k: TestKit,
  method: string,
  path: string,
  credential: Credential,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await k.request(path, {
    method,
    headers: {
      ...credentialHeaders(credential),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Signs in with a wallet (SIWE), as a dApp would. */
async function siweSignIn(k: TestKit, account: LocalAccount): Promise<{ status: number; cookie: string }> {
  const { message, signature } = await signedWalletLink(k, account);
  const response = await authPost(k, "/siwe/verify", { message, signature });
  return { status: response.status, cookie: response.status === 200 ? sessionFrom(response).cookie : "" };
}

/** Every key of a kit's prefix (SCAN returns full names; the prefixed client re-adds the prefix). */
async function kitKeys(k: TestKit): Promise<string[]> {
  const prefix = k.config.redis.keyPrefix;
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await k.deps.redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch.map((key) => key.slice(prefix.length)));
  } while (cursor !== "0");
  return keys;
}

async function deleteKitKeys(k: TestKit): Promise<number> {
  const keys = await kitKeys(k);
  if (keys.length > 0) await k.deps.redis.del(...keys);
  return keys.length;
}

const sessionKey = (token: string) => `${AUTH_KEY_PREFIX}${token}`;

describe("e-mail and password", () => {
  test("sign-up creates an investor, with no session: signing in then reads /api/me with a cookie", async () => {
    const email = uniqueEmail("signup");
    const response = await authPost(kit, "/sign-up/email", { email, password: PASSWORD, name: "New Investor" });
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("set-auth-token")).toBeNull();
    expect(((await response.json()) as { token: unknown }).token).toBeNull();
    const session = await signIn(kit, email);

    const me = await getMe(kit, { cookie: session.cookie });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(email);
    expect(me.body.user.role).toBe("investor");
    expect(me.body.permissions).toEqual({ kyc: ["submit"] });
    expect(me.body.wallets).toEqual([]);
    expect(me.body.authenticatedWith).toBe("session");
    // The session is in both stores: Redis for the fast path, Postgres as the record.
    expect(await kit.deps.redis.exists(sessionKey(session.token))).toBe(1);
    const { rows } = await kit.deps.pool.query("select user_id from session where token = $1", [session.token]);
    expect(rows).toEqual([{ user_id: me.body.user.id }]);
  });

  test("sign-up with an e-mail that has an account answers as a new one would, and creates nothing", async () => {
    const email = uniqueEmail("twice");
    const shape = async (response: Response) => {
      const body = (await response.json()) as { token: unknown; user: Record<string, unknown> };
      return {
        status: response.status,
        cookies: response.headers.getSetCookie().length,
        token: body.token,
        user: Object.keys(body.user).sort(),
        email: body.user.email,
      };
    };
    const first = await shape(await authPost(kit, "/sign-up/email", { email, password: PASSWORD, name: "One" }));
    const again = await shape(
      await authPost(kit, "/sign-up/email", { email: email.toUpperCase(), password: `${PASSWORD}!`, name: "Two" }),
    );
    expect(again).toEqual(first);
    expect(first).toMatchObject({ status: 200, cookies: 0, token: null, email });
    const { rows } = await kit.deps.pool.query('select count(*)::int as n from "user" where email = $1', [email]);
    expect(rows[0].n).toBe(1);
    // The original password still signs in; the second one does not.
    await signIn(kit, email);
    expect((await authPost(kit, "/sign-in/email", { email, password: `${PASSWORD}!` })).status).toBe(401);
  });

  test("sign-in, then sign-out: that cookie is refused on the next request, other sessions live on", async () => {
    const user = await createUser(kit);
    const other = await signIn(kit, user.email);
    expect((await getMe(kit, { cookie: user.cookie })).status).toBe(200);

    const out = await authPost(kit, "/sign-out", {}, { cookie: user.cookie });
    expect(out.status).toBe(200);

    const after = await getMe(kit, { cookie: user.cookie });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe("UNAUTHORIZED");
    expect((await getMe(kit, { bearer: user.bearer })).status).toBe(401);
    expect(await kit.deps.redis.exists(sessionKey(user.token))).toBe(0);
    const { rows } = await kit.deps.pool.query("select 1 from session where token = $1", [user.token]);
    expect(rows).toEqual([]);
    // Signing out ends that session only.
    expect((await getMe(kit, { cookie: other.cookie })).status).toBe(200);
  });

  test("a bearer token works; a tampered one is 401", async () => {
    const user = await createUser(kit);
    const ok = await getMe(kit, { bearer: user.bearer });
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(user.id);

    const signed = decodeURIComponent(user.bearer);
    const dot = signed.lastIndexOf(".");
    const flip = (c: string) => (c === "A" ? "B" : "A");
    const tampered = [
      // another token under the same signature
      `${flip(signed.charAt(0))}${signed.slice(1)}`,
      // the same token under a different signature (the first character carries 6 bits of it)
      `${signed.slice(0, dot + 1)}${flip(signed.charAt(dot + 1))}${signed.slice(dot + 2)}`,
      // the bare token, unsigned
      signed.slice(0, dot),
      // the token signed with a different secret
      `${signed.slice(0, dot)}.${Buffer.from("x".repeat(32)).toString("base64")}`,
    ];
    for (const bearer of tampered) {
      const response = await getMe(kit, { bearer });
      expect({ bearer, status: response.status }).toEqual({ bearer, status: 401 });
    }
    // better-auth's own endpoint agrees.
    const viaAuth = await kit.request("/api/auth/get-session", { headers: { authorization: `Bearer ${tampered[1]}` } });
    expect(await viaAuth.json()).toBeNull();
  });

  test("a browser on a trusted origin may read the bearer token (CORS exposes set-auth-token)", async () => {
    const email = uniqueEmail("cors");
    await createPasswordUser(kit.deps, { email, password: PASSWORD, role: "investor" });
    const response = await authPost(kit, "/sign-in/email", { email, password: PASSWORD });
    expect(response.status).toBe(200);
    expect(response.headers.get("set-auth-token")).toBeTruthy();
    expect(response.headers.get("access-control-allow-origin")).toBe(TRUSTED_ORIGIN);
    const exposed = (response.headers.get("access-control-expose-headers") ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase());
    expect(exposed).toContain("set-auth-token");
  });

  test("a wrong e-mail and a wrong password get the same answer", async () => {
    const user = await createUser(kit);
    const wrongEmail = await authPost(kit, "/sign-in/email", { email: uniqueEmail("nobody"), password: PASSWORD });
    const wrongPassword = await authPost(kit, "/sign-in/email", { email: user.email, password: `${PASSWORD}?` });
    expect(wrongEmail.status).toBe(401);
    expect(wrongPassword.status).toBe(401);
    expect(await wrongEmail.json()).toEqual(await wrongPassword.json());
    expect(wrongEmail.headers.getSetCookie()).toEqual(wrongPassword.headers.getSetCookie());
  });

  test("passwords under 12 characters are refused with 400 and create nothing", async () => {
    const email = uniqueEmail("short");
    const short = await authPost(kit, "/sign-up/email", { email, password: "elevenchars", name: "Short" });
    expect(short.status).toBe(400);
    expect(short.headers.getSetCookie().some((c) => c.startsWith(`${cookieName}=`))).toBe(false);
    const { rows } = await kit.deps.pool.query('select count(*)::int as n from "user" where email = $1', [email]);
    expect(rows[0].n).toBe(0);
    // Twelve is enough.
    const twelve = await authPost(kit, "/sign-up/email", { email, password: "twelve-chars", name: "Twelve" });
    expect(twelve.status).toBe(200);
  });

  test("names that would display in disguise (bidi overrides, control characters) are refused at sign-up and on update", async () => {
    const email = uniqueEmail("bidi");
    for (const name of ["Alice \u202Egpj.exe", "Bob\u2066x\u2069", "Carol\u0007"]) {
      const refused = await authPost(kit, "/sign-up/email", { email, password: PASSWORD, name });
      expect(refused.status, JSON.stringify(name)).toBe(400);
      expect(((await refused.json()) as { message: string }).message).toContain("name: must not contain");
    }
    const { rows } = await kit.deps.pool.query('select count(*)::int as n from "user" where email = $1', [email]);
    expect(rows[0].n).toBe(0);

    const user = await createUser(kit);
    const update = (name: string) => authPost(kit, "/update-user", { name }, { cookie: user.cookie });
    expect((await update("Dave \u202Efdp.scr")).status).toBe(400);
    expect((await update("Dave Plain")).status).toBe(200);
    const stored = await kit.deps.pool.query('select name from "user" where id = $1', [user.id]);
    expect(stored.rows[0].name).toBe("Dave Plain");
  });
});

describe("the session check", () => {
  test("costs one Redis round trip (count + session + revocation mark) once the process knows the token", async () => {
    const user = await createUser(kit);
    // First sight of the token: its entry names the owner the call is counted under.
    const first = await redisCommandsDuring(kit.deps.redis, async () =>
      expect((await getMe(kit, user)).status).toBe(200),
    );
    expect(first).toEqual(["get", "evalsha"]);
    for (const credential of [{ cookie: user.cookie }, { bearer: user.bearer }]) {
      const next = await redisCommandsDuring(kit.deps.redis, async () =>
        expect((await getMe(kit, credential)).status).toBe(200),
      );
      expect(next).toEqual(["evalsha"]);
    }
    // Counted under the user, not the address.
    expect(await kit.deps.redis.zcard(`rl:default:{user:${user.id}}`)).toBe(3);
  });
});

describe("session expiry", () => {
  test("a session past its expiresAt in Postgres, with no Redis entry, is refused", async () => {
    const user = await createUser(kit);
    expect((await getMe(kit, { cookie: user.cookie })).status).toBe(200);
    await kit.deps.pool.query("update session set expires_at = now() - interval '1 minute' where token = $1", [
      user.token,
    ]);
    await kit.deps.redis.del(sessionKey(user.token));

    expect((await getMe(kit, { cookie: user.cookie })).status).toBe(401);
    expect((await getMe(kit, { bearer: user.bearer })).status).toBe(401);
    // The expired session is not brought back into Redis.
    expect(await kit.deps.redis.exists(sessionKey(user.token))).toBe(0);
  });

  test("a session past its expiresAt in both Postgres and the Redis entry is refused", async () => {
    const user = await createUser(kit);
    const past = new Date(Date.now() - 60_000);
    await kit.deps.pool.query("update session set expires_at = $2 where token = $1", [user.token, past]);
    const raw = await kit.deps.redis.get(sessionKey(user.token));
    if (!raw) throw new Error("no Redis entry for a fresh session");
    const entry = JSON.parse(raw);
    entry.session.expiresAt = past.toISOString();
    await kit.deps.redis.set(sessionKey(user.token), JSON.stringify(entry), "KEEPTTL");

    expect((await getMe(kit, { cookie: user.cookie })).status).toBe(401);
    expect((await getMe(kit, { bearer: user.bearer })).status).toBe(401);
  });

  test("a session due for its daily refresh is extended, in Postgres and in Redis", async () => {
    const user = await createUser(kit);
    // Two days into a seven-day session: past the one-day update age.
    const twoDaysIn = new Date(Date.now() + 5 * 24 * 3600 * 1000);
    await kit.deps.pool.query("update session set expires_at = $2 where token = $1", [user.token, twoDaysIn]);
    const raw = await kit.deps.redis.get(sessionKey(user.token));
    if (!raw) throw new Error("no Redis entry for a fresh session");
    const entry = JSON.parse(raw);
    entry.session.expiresAt = twoDaysIn.toISOString();
    await kit.deps.redis.set(sessionKey(user.token), JSON.stringify(entry), "KEEPTTL");

    expect((await getMe(kit, { cookie: user.cookie })).status).toBe(200);
    const { rows } = await kit.deps.pool.query("select expires_at from session where token = $1", [user.token]);
    const sixDays = Date.now() + 6 * 24 * 3600 * 1000;
    expect(new Date(rows[0].expires_at).getTime()).toBeGreaterThan(sixDays);
    const refreshed = JSON.parse((await kit.deps.redis.get(sessionKey(user.token))) ?? "null");
    expect(new Date(refreshed.session.expiresAt).getTime()).toBeGreaterThan(sixDays);
  });
});

describe("API keys", () => {
  let admin: User;
  let investor: User;
  beforeAll(async () => {
    admin = await createUser(kit, "admin");
    investor = await createUser(kit, "investor");
  });

  async function keyFor(userId: string, permissions?: Record<string, string[]>): Promise<string> {
    const created = await kit.deps.auth.api.createApiKey({ body: { userId, ...(permissions ? { permissions } : {}) } });
    expect(created.key.startsWith("kit_")).toBe(true);
    return created.key;
  }

  test("an admin's key with users: read may list users, and change no role", async () => {
    const apiKey = await keyFor(admin.id, { users: ["read"] });
    const response = await call(kit, "GET", "/api/users", { apiKey });
    expect(response.status).toBe(200);
    expect((response.body.items as { id: string }[]).map((u) => u.id)).toContain(investor.id);
    const setRole = await call(kit, "PUT", `/api/users/${investor.id}/role`, { apiKey }, { role: "admin" });
    expect({ status: setRole.status, message: setRole.body.message }).toEqual({
      status: 403,
      message: "This API key does not carry the grant users: manage; use a key created with it.",
    });
  });

  test("an admin's key without the grant is 403 although the role allows it", async () => {
    for (const permissions of [{ kyc: ["review"] }, {}, undefined] as (Record<string, string[]> | undefined)[]) {
      const apiKey = await keyFor(admin.id, permissions);
      const response = await call(kit, "GET", "/api/users", { apiKey });
      expect({ permissions, status: response.status, code: response.body.code }).toEqual({
        permissions,
        status: 403,
        code: "FORBIDDEN",
      });
      const setRole = await call(kit, "PUT", `/api/users/${investor.id}/role`, { apiKey }, { role: "admin" });
      expect(setRole.status).toBe(403);
    }
    expect((await getMe(kit, { cookie: investor.cookie })).body.user.role).toBe("investor");
  });

  test("an investor's key with users: read and manage is 403: the role does not allow it", async () => {
    const apiKey = await keyFor(investor.id, { users: ["read", "manage"] });
    const response = await call(kit, "GET", "/api/users", { apiKey });
    expect(response.status).toBe(403);
    expect(response.body.message).toContain("which your role does not grant");
  });

  test("a key with no grants is refused by user-level procedures too: no settings, no wallets, not even me", async () => {
    const apiKey = await keyFor(admin.id);
    const refused = {
      me: (await getMe(kit, { apiKey })).status,
      settings: (await call(kit, "PATCH", "/api/settings", { apiKey }, { theme: "dark" })).status,
      unlink: (await call(kit, "DELETE", `/api/me/wallets/0x${"1".repeat(40)}`, { apiKey })).status,
    };
    expect(refused).toEqual({ me: 403, settings: 403, unlink: 403 });
    const settings = await call(kit, "GET", "/api/settings", admin);
    expect(settings.body.theme).not.toBe("dark");
    // Public procedures need no grant.
    expect((await call(kit, "GET", "/api/fx/currencies", { apiKey })).status).toBe(200);
  });

  test("the reproduced attack: an admin's grantless key cannot link a wallet and sign in with it as the admin", async () => {
    const apiKey = await keyFor(admin.id);
    const attacker = privateKeyToAccount(generatePrivateKey());
    const link = await signedWalletLink(kit, attacker);
    const linked = await call(kit, "POST", "/api/me/wallets", { apiKey }, link);
    expect(linked.status).toBe(403);
    const { rows } = await kit.deps.pool.query("select 1 from wallet_address where address = $1", [attacker.address]);
    expect(rows).toEqual([]);
    // Signing in with that wallet makes (or finds) the wallet's own account, never the admin's.
    const signedIn = await siweSignIn(kit, attacker);
    expect(signedIn.status).toBe(200);
    const me = await getMe(kit, { cookie: signedIn.cookie });
    expect(me.body.user.id).not.toBe(admin.id);
    expect(me.body.user.role).toBe("investor");
  });

  test("a key with wallets: link may link one (the grant is what makes it possible)", async () => {
    const owner = await createUser(kit, "investor");
    const apiKey = await keyFor(owner.id, { wallets: ["link"] });
    const wallet = privateKeyToAccount(generatePrivateKey());
    const linked = await call(kit, "POST", "/api/me/wallets", { apiKey }, await signedWalletLink(kit, wallet));
    expect(linked.status).toBe(200);
    expect(linked.body.address).toBe(wallet.address);
  });

  test("me.get with a key reports api-key, its grants, and only what both role and key allow", async () => {
    const apiKey = await keyFor(admin.id, { me: ["read"], users: ["manage"], kyc: ["review"], user: ["list"] });
    const me = await getMe(kit, { apiKey });
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(admin.id);
    expect(me.body.authenticatedWith).toBe("api-key");
    expect(me.body.permissions).toEqual({ kyc: ["review"], user: ["list"], users: ["manage"] });
    expect(me.body.keyGrants).toEqual({ me: ["read"], users: ["manage"], kyc: ["review"], user: ["list"] });
    expect((await getMe(kit, { cookie: admin.cookie })).body.keyGrants).toBeNull();
  });

  test("an unknown or disabled key is 401", async () => {
    expect((await getMe(kit, { apiKey: "kit_thisisnotakeythisisnotakey0000000000" })).status).toBe(401);
    const apiKey = await keyFor(admin.id, { me: ["read"] });
    const { rows } = await kit.deps.pool.query(
      "select id from apikey where reference_id = $1 order by created_at desc limit 1",
      [admin.id],
    );
    await kit.deps.auth.api.updateApiKey({ body: { keyId: rows[0].id, userId: admin.id, enabled: false } });
    expect((await getMe(kit, { apiKey })).status).toBe(401);
  });

  test("a key follows its owner's role: demoted, it loses users: read", async () => {
    const owner = await createUser(kit, "admin");
    const apiKey = await keyFor(owner.id, { me: ["read"], users: ["read"] });
    expect((await call(kit, "GET", "/api/users", { apiKey })).status).toBe(200);
    expect((await call(kit, "PUT", `/api/users/${owner.id}/role`, admin, { role: "issuer" })).status).toBe(200);
    expect((await call(kit, "GET", "/api/users", { apiKey })).status).toBe(403);
    expect((await getMe(kit, { apiKey })).body.user.role).toBe("issuer");
  });

  test("a ban disables the owner's keys, and lifting it does not enable them again", async () => {
    const owner = await createUser(kit, "issuer");
    const apiKey = await keyFor(owner.id, { me: ["read"] });
    expect((await getMe(kit, { apiKey })).status).toBe(200);
    expect((await call(kit, "POST", `/api/users/${owner.id}/ban`, admin, { reason: "key test" })).status).toBe(200);
    expect((await getMe(kit, { apiKey })).status).toBe(401);
    expect((await call(kit, "POST", `/api/users/${owner.id}/unban`, admin)).status).toBe(200);
    expect((await getMe(kit, { apiKey })).status).toBe(401);
    const { rows } = await kit.deps.pool.query("select enabled from apikey where reference_id = $1", [owner.id]);
    expect(rows).toEqual([{ enabled: false }]);
  });

  test("ending a user's sessions disables their keys too, even where Redis still holds a copy saying enabled", async () => {
    const owner = await createUser(kit, "investor");
    const apiKeys = [await keyFor(owner.id, { me: ["read"] }), await keyFor(owner.id, { me: ["read"] })];
    for (const apiKey of apiKeys) expect((await getMe(kit, { apiKey })).status).toBe(200);
    // better-auth's cached copies of the keys, as they are before the revocation.
    const cachedKeys = (await kitKeys(kit)).filter((k) => k.startsWith(`${AUTH_KEY_PREFIX}api-key:`));
    const cached = await Promise.all(cachedKeys.map(async (k) => [k, await kit.deps.redis.get(k)] as const));
    const ownCopies = cached.filter(([, value]) => value?.includes(owner.id));
    expect(ownCopies.length).toBeGreaterThanOrEqual(2);

    const revoked = await call(kit, "POST", `/api/users/${owner.id}/sessions/revoke`, admin);
    expect(revoked.body).toEqual({ revoked: 1, apiKeysDisabled: 2 });
    for (const apiKey of apiKeys) expect((await getMe(kit, { apiKey })).status).toBe(401);

    // A request in flight writes an old copy back (enabled): Postgres, the record, still decides.
    for (const [k, value] of ownCopies) if (value) await kit.deps.redis.set(k, value);
    for (const apiKey of apiKeys) expect((await getMe(kit, { apiKey })).status).toBe(401);
  });

  test("a key is no session on better-auth's endpoints (/api/auth/*)", async () => {
    const apiKey = await keyFor(admin.id, { me: ["read"], users: ["manage"] });
    const headers = { "content-type": "application/json", origin: TRUSTED_ORIGIN, "x-api-key": apiKey };
    const session = await kit.request("/api/auth/get-session", { headers });
    expect(await session.json()).toBeNull();
    const sessions = await kit.request("/api/auth/list-sessions", { headers });
    expect(sessions.status).toBe(401);
    // It cannot mint more keys, change the account or list its keys.
    const before = await kit.deps.pool.query("select count(*)::int as n from apikey where reference_id = $1", [
      admin.id,
    ]);
    const created = await kit.request("/api/auth/api-key/create", {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "minted by a key" }),
    });
    expect(created.status).toBe(401);
    const after = await kit.deps.pool.query("select count(*)::int as n from apikey where reference_id = $1", [
      admin.id,
    ]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    const renamed = await kit.request("/api/auth/update-user", {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "Renamed by a key" }),
    });
    expect(renamed.status).toBe(401);
    expect((await kit.request("/api/auth/api-key/list", { headers })).status).toBe(401);
    // better-auth's admin endpoints stay closed whatever the caller.
    const setRole = await kit.request("/api/auth/admin/set-role", {
      method: "POST",
      headers,
      body: JSON.stringify({ userId: investor.id, role: "admin" }),
    });
    expect(setRole.status).toBe(404);
    expect((await getMe(kit, { cookie: investor.cookie })).body.user.role).toBe("investor");
  });
});

describe("admin actions take effect on the next request", () => {
  let admin: User;
  beforeAll(async () => {
    admin = await createUser(kit, "admin");
  });

  test("a role change is visible in the target's very next /api/me", async () => {
    const target = await createUser(kit, "investor");
    expect((await getMe(kit, { cookie: target.cookie })).body.user.role).toBe("investor");

    const changed = await call(kit, "PUT", `/api/users/${target.id}/role`, admin, { role: "kyc_reviewer" });
    expect(changed.status).toBe(200);
    expect(changed.body.role).toBe("kyc_reviewer");

    for (const credential of [{ cookie: target.cookie }, { bearer: target.bearer }]) {
      const me = await getMe(kit, credential);
      expect(me.status).toBe(200);
      expect(me.body.user.role).toBe("kyc_reviewer");
      expect(me.body.permissions).toEqual({ kyc: ["submit", "review", "decide", "export"], documents: ["read_any"] });
    }
  });

  test("a demotion ends the target's sessions; they sign in again with the new role", async () => {
    const target = await createUser(kit, "kyc_reviewer");
    const changed = await call(kit, "PUT", `/api/users/${target.id}/role`, admin, { role: "investor" });
    expect(changed.status).toBe(200);
    for (const credential of [{ cookie: target.cookie }, { bearer: target.bearer }]) {
      expect((await getMe(kit, credential)).status).toBe(401);
    }
    expect((await kit.deps.pool.query("select 1 from session where user_id = $1", [target.id])).rows).toEqual([]);
    const again = await signIn(kit, target.email);
    const me = await getMe(kit, { cookie: again.cookie });
    expect({ status: me.status, role: me.body.user.role }).toEqual({ status: 200, role: "investor" });
  });

  test("a demotion holds although a request in flight writes the old role back to Redis after it", async () => {
    const target = await createUser(kit, "admin");
    expect((await getMe(kit, target)).body.user.role).toBe("admin");
    // No Redis entry: the next request takes better-auth's path, reads Postgres, then writes the entry back.
    await kit.deps.redis.del(sessionKey(target.token));
    const redis = kit.deps.redis;
    const originalSet = redis.set;
    let reachedWriteBack = () => {};
    const atWriteBack = new Promise<void>((resolve) => {
      reachedWriteBack = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Holds that request's write-back (the admin role it read) until the demotion is done.
    redis.set = (async (...args: unknown[]) => {
      if (args[0] === sessionKey(target.token) && String(args[1]).includes('"role":"admin"')) {
        reachedWriteBack();
        await released;
      }
      return (originalSet as (...a: unknown[]) => Promise<unknown>).apply(redis, args);
    }) as typeof redis.set;
    try {
      const inFlight = getMe(kit, { cookie: target.cookie });
      await atWriteBack;
      const demoted = await call(kit, "PUT", `/api/users/${target.id}/role`, admin, { role: "investor" });
      expect(demoted.status).toBe(200);
      release();
      // That request began before the change: it still answers with what it read.
      expect((await inFlight).body.user.role).toBe("admin");
    } finally {
      release();
      redis.set = originalSet;
    }
    // The old role did land in Redis after the demotion...
    const entry = JSON.parse((await redis.get(sessionKey(target.token))) ?? "null") as {
      user: { role: string };
    } | null;
    expect(entry?.user.role).toBe("admin");
    // ...and is not used: not on the fast path, not through better-auth's own path (a refresh).
    for (const credential of [{ cookie: target.cookie }, { bearer: target.bearer }]) {
      expect((await call(kit, "GET", "/api/users", credential)).status).toBe(401);
    }
    const viaAuth = await kit.request("/api/auth/get-session", { headers: { cookie: target.cookie } });
    expect(await viaAuth.json()).toBeNull();
  });

  test("a non-admin cannot change roles", async () => {
    const investor = await createUser(kit, "investor");
    const response = await call(kit, "PUT", `/api/users/${investor.id}/role`, investor, { role: "admin" });
    expect(response.status).toBe(403);
    expect((await getMe(kit, investor)).body.user.role).toBe("investor");
    expect((await call(kit, "GET", "/api/users", {})).status).toBe(401);
  });

  test("a ban ends the target's sessions at once and refuses sign-in; unban lets them back", async () => {
    const target = await createUser(kit, "investor");
    const second = await signIn(kit, target.email);
    const banned = await call(kit, "POST", `/api/users/${target.id}/ban`, admin, { reason: "testing" });
    expect(banned.status).toBe(200);
    expect(banned.body.banned).toBe(true);

    for (const credential of [{ cookie: target.cookie }, { bearer: target.bearer }, { cookie: second.cookie }]) {
      expect((await getMe(kit, credential)).status).toBe(401);
    }
    const refused = await authPost(kit, "/sign-in/email", { email: target.email, password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe("BANNED_USER");
    expect(refused.headers.getSetCookie().some((c) => c.startsWith(`${cookieName}=`))).toBe(false);
    expect((await kit.deps.pool.query("select 1 from session where user_id = $1", [target.id])).rows).toEqual([]);

    const unbanned = await call(kit, "POST", `/api/users/${target.id}/unban`, admin);
    expect(unbanned.status).toBe(200);
    expect(unbanned.body.banned).toBe(false);
    const back = await signIn(kit, target.email);
    expect((await getMe(kit, { cookie: back.cookie })).status).toBe(200);
    // The sessions the ban ended stay ended.
    expect((await getMe(kit, { cookie: target.cookie })).status).toBe(401);
  });

  test("revokeSessions ends every existing session; a new sign-in works", async () => {
    const target = await createUser(kit, "investor");
    const second = await signIn(kit, target.email);
    const revoked = await call(kit, "POST", `/api/users/${target.id}/sessions/revoke`, admin);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked).toBe(2);
    for (const credential of [{ cookie: target.cookie }, { bearer: target.bearer }, { cookie: second.cookie }]) {
      expect((await getMe(kit, credential)).status).toBe(401);
    }
    const fresh = await signIn(kit, target.email);
    expect((await getMe(kit, { cookie: fresh.cookie })).status).toBe(200);
    // The admin's own session was not touched.
    expect((await getMe(kit, admin)).status).toBe(200);
  });

  test("an admin cannot ban or demote themselves", async () => {
    const ban = await call(kit, "POST", `/api/users/${admin.id}/ban`, admin, { reason: "oops" });
    expect(ban.status).toBe(412);
    expect(ban.body.code).toBe("PRECONDITION_FAILED");
    const demote = await call(kit, "PUT", `/api/users/${admin.id}/role`, admin, { role: "investor" });
    expect(demote.status).toBe(412);
    expect(demote.body.code).toBe("PRECONDITION_FAILED");
    const me = await getMe(kit, admin);
    expect(me.status).toBe(200);
    expect(me.body.user.role).toBe("admin");
  });

  test("better-auth's own admin endpoints are closed: administration goes through Kit's users.* only", async () => {
    const self = await createUser(kit, "admin");
    const post = (path: string, body: unknown) =>
      kit.request(`/api/auth/admin${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, cookie: self.cookie },
        body: JSON.stringify(body),
      });
    const demote = await post("/set-role", { userId: self.id, role: "investor" });
    const ban = await post("/ban-user", { userId: self.id, banReason: "oops" });
    const me = await getMe(kit, self);
    expect({ demote: demote.status, ban: ban.status }).toEqual({ demote: 404, ban: 404 });
    expect(me.status).toBe(200);
    expect(me.body.user.role).toBe("admin");
  });
});

describe("Redis loses its data", () => {
  test("cookie and bearer sessions keep working from Postgres and the Redis entry is refilled", async () => {
    const users = [await createUser(kit, "investor"), await createUser(kit, "admin")];
    for (const user of users) expect((await getMe(kit, user)).status).toBe(200);

    expect(await deleteKitKeys(kit)).toBeGreaterThan(0);
    expect(await kitKeys(kit)).toEqual([]);

    for (const user of users) {
      const byCookie = await getMe(kit, { cookie: user.cookie });
      expect(byCookie.status).toBe(200);
      expect(byCookie.body.user.id).toBe(user.id);
      const byBearer = await getMe(kit, { bearer: user.bearer });
      expect(byBearer.status).toBe(200);
    }
    // Procedures beyond me.get, too.
    expect((await call(kit, "GET", "/api/users", users[1] as User)).status).toBe(200);
    // One request put the session back where the fast path reads it.
    for (const user of users) expect(await kit.deps.redis.exists(sessionKey(user.token))).toBe(1);
  });

  test("after the loss, sign-out, bans and revocations still hold", async () => {
    const admin = await createUser(kit, "admin");
    const leaving = await createUser(kit, "investor");
    const banned = await createUser(kit, "investor");
    const revoked = await createUser(kit, "investor");
    await deleteKitKeys(kit);

    expect((await authPost(kit, "/sign-out", {}, { cookie: leaving.cookie })).status).toBe(200);
    expect((await getMe(kit, leaving)).status).toBe(401);

    expect((await call(kit, "POST", `/api/users/${banned.id}/ban`, admin, { reason: "r" })).status).toBe(200);
    expect((await getMe(kit, banned)).status).toBe(401);

    expect((await call(kit, "POST", `/api/users/${revoked.id}/sessions/revoke`, admin)).status).toBe(200);
    expect((await getMe(kit, revoked)).status).toBe(401);
  });
});

// A second kit whose Redis is a private redis-server this file starts, stops and restarts. It keeps
// an append-only file, so a restart brings back what Redis held (as after a crash or a network
// partition): entries written before the outage come back, the ones missed during it do not.
const privateRedis = await startPrivateRedis({ appendOnly: true });
const downKit = await createTestKit({ env: { TRUST_PROXY_HOPS: "1", REDIS_URL: privateRedis.url } });
afterAll(() => privateRedis.remove());

/** A request's status and how long it took; its body as JSON when it has one. */
async function timed(run: () => Promise<Response>): Promise<{ status: number; ms: number; body: unknown }> {
  const started = performance.now();
  const response = await run();
  const ms = Math.round(performance.now() - started);
  return { status: response.status, ms, body: await response.json().catch(() => null) };
}

describe("Redis goes down", () => {
  // Filled by the outage test, checked after Redis is back.
  let user: User;
  let admin: User;
  let target: User;
  let demoted: User;
  let banDuringOutage: { status: number } | undefined;
  let demoteDuringOutage: { status: number } | undefined;

  beforeAll(async () => {
    user = await createUser(downKit, "investor");
    admin = await createUser(downKit, "admin");
    target = await createUser(downKit, "investor");
    demoted = await createUser(downKit, "admin");
  });
  afterAll(() => privateRedis.start());

  test("while down: sessions are read from Postgres (rate limit fails open), sign-in fails closed with 503", async () => {
    const before = await downKit.request("/api/me", { headers: { cookie: user.cookie } });
    expect(before.status).toBe(200);
    expect(before.headers.get("ratelimit-limit")).not.toBeNull();
    expect((await getMe(downKit, { cookie: target.cookie })).status).toBe(200);

    await privateRedis.stop();

    // All at once, so the file waits for the slowest only.
    const [me, meHeaders, byBearer, forged, signIn503, signUp503, nonce503, ban, demote] = await Promise.all([
      timed(() => downKit.request("/api/me", { headers: { cookie: user.cookie } })),
      downKit.request("/api/me", { headers: { cookie: admin.cookie } }),
      timed(() => downKit.request("/api/me", { headers: { authorization: `Bearer ${user.bearer}` } })),
      timed(() =>
        downKit.request("/api/me", { headers: { cookie: `${cookieName}=${user.token}.${"A".repeat(43)}%3D` } }),
      ),
      timed(() => authPost(downKit, "/sign-in/email", { email: user.email, password: PASSWORD })),
      timed(() => authPost(downKit, "/sign-up/email", { email: uniqueEmail("down"), password: PASSWORD, name: "D" })),
      timed(() => authPost(downKit, "/siwe/nonce", {})),
      // Admin actions during the outage.
      timed(() =>
        downKit.request(`/api/users/${target.id}/ban`, {
          method: "POST",
          headers: { cookie: admin.cookie, "content-type": "application/json" },
          body: JSON.stringify({ reason: "during the outage" }),
        }),
      ),
      timed(() =>
        downKit.request(`/api/users/${demoted.id}/role`, {
          method: "PUT",
          headers: { cookie: admin.cookie, "content-type": "application/json" },
          body: JSON.stringify({ role: "investor" }),
        }),
      ),
    ]);
    banDuringOutage = ban;
    demoteDuringOutage = demote;
    const outcome = { me, byBearer, forged, signIn503, signUp503, nonce503, ban, demote };

    expect(me.status).toBe(200);
    expect((me.body as MeBody).user.id).toBe(user.id);
    // The limiter could not be asked: the call went through without its headers.
    expect(meHeaders.status).toBe(200);
    expect(meHeaders.headers.get("ratelimit-limit")).toBeNull();
    expect(byBearer.status).toBe(200);
    // A forged cookie is still refused, Redis or not.
    expect(forged.status).toBe(401);
    for (const response of [signIn503, signUp503, nonce503]) {
      expect(response.status).toBe(503);
      expect((response.body as { code: string }).code).toBe("SERVICE_UNAVAILABLE");
    }
    // Never a 500: an admin action either happens (200) or is refused as unavailable (503).
    expect([200, 503]).toContain(ban.status);
    expect([200, 503]).toContain(demote.status);
    // Failing open or closed, a caller gets an answer promptly, not after seconds of Redis retries.
    const slow = Object.entries(outcome)
      .filter(([, v]) => v.ms > 1_500)
      .map(([k, v]) => `${k}: ${v.status} after ${v.ms} ms`);
    expect(slow).toEqual([]);
  }, 60_000);

  test("back up: sign-in works again, the limiter counts again, sessions from before still work", async () => {
    await privateRedis.start();
    const deadline = Date.now() + 8_000;
    let response: Response | undefined;
    while (Date.now() < deadline) {
      response = await authPost(downKit, "/sign-in/email", { email: user.email, password: PASSWORD });
      expect([200, 503]).toContain(response.status);
      if (response.status === 200) break;
      await Bun.sleep(100);
    }
    expect(response?.status).toBe(200);
    const fresh = sessionFrom(response as Response);
    const after = await downKit.request("/api/me", { headers: { cookie: fresh.cookie } });
    expect(after.status).toBe(200);
    expect(after.headers.get("ratelimit-limit")).not.toBeNull();
    expect(await downKit.deps.redis.exists(sessionKey(fresh.token))).toBe(1);
    expect((await getMe(downKit, { cookie: user.cookie })).status).toBe(200);
    expect((await getMe(downKit, { bearer: user.bearer })).status).toBe(200);
  });

  test("back up: a ban made during the outage holds, although Redis kept the session from before", async () => {
    expect(banDuringOutage).toBeDefined();
    const { rows } = await downKit.deps.pool.query('select banned from "user" where id = $1', [target.id]);
    const { rows: sessions } = await downKit.deps.pool.query(
      "select count(*)::int as n from session where user_id = $1",
      [target.id],
    );
    // Whatever the ban answered, what callers see must agree with Postgres, the record.
    if (rows[0].banned) {
      expect(sessions[0].n).toBe(0);
      const seen = {
        cookie: (await getMe(downKit, { cookie: target.cookie })).status,
        bearer: (await getMe(downKit, { bearer: target.bearer })).status,
        signIn: (await authPost(downKit, "/sign-in/email", { email: target.email, password: PASSWORD })).status,
      };
      expect(seen).toEqual({ cookie: 401, bearer: 401, signIn: 403 });
    } else {
      expect(banDuringOutage?.status).toBe(503);
      expect((await getMe(downKit, { cookie: target.cookie })).status).toBe(200);
    }
  });

  test("back up: a demotion made during the outage holds for the demoted admin's old session", async () => {
    expect(demoteDuringOutage).toBeDefined();
    const { rows } = await downKit.deps.pool.query('select role from "user" where id = $1', [demoted.id]);
    const demotedInPostgres = demoteDuringOutage?.status === 200;
    expect(rows[0].role).toBe(demotedInPostgres ? "investor" : "admin");
    // A demotion ends the sessions; one refused as unavailable changed nothing.
    const seen = {
      me: (await getMe(downKit, { cookie: demoted.cookie })).status,
      listUsers: (await call(downKit, "GET", "/api/users", { cookie: demoted.cookie })).status,
    };
    expect(seen).toEqual(demotedInPostgres ? { me: 401, listUsers: 401 } : { me: 200, listUsers: 200 });
  });
});

describe("Redis stops answering (connected, no replies)", () => {
  test("callers get their fallback after the command timeout instead of hanging, and all is well once it answers", async () => {
    const [user, admin] = await Promise.all([createUser(downKit), createUser(downKit, "admin")]);
    const stalled = (await getMe(downKit, { cookie: user.cookie })).status;
    expect(stalled).toBe(200);

    privateRedis.pause();
    let outcome: Record<string, { status: number; ms: number }>;
    try {
      const [me, byBearer, signIn, queueJob] = await Promise.all([
        timed(() => downKit.request("/api/me", { headers: { cookie: user.cookie } })),
        timed(() => downKit.request("/api/me", { headers: { authorization: `Bearer ${user.bearer}` } })),
        timed(() => authPost(downKit, "/sign-in/email", { email: user.email, password: PASSWORD })),
        // An enqueue goes through the job queue's own connection.
        timed(() => downKit.request("/api/fx/refresh", { method: "POST", headers: { cookie: admin.cookie } })),
      ]);
      outcome = { me, byBearer, signIn, queueJob };
    } finally {
      privateRedis.resume();
    }

    // The session from Postgres (the limiter could not be asked); sign-in and the enqueue refused as unavailable.
    expect(Object.fromEntries(Object.entries(outcome).map(([k, v]) => [k, v.status]))).toEqual({
      me: 200,
      byBearer: 200,
      signIn: 503,
      queueJob: 503,
    });
    // A few command timeouts at most (the session read, better-auth's own read), never an open wait.
    const bound = 4 * downKit.config.redis.commandTimeoutMs + 1_000;
    const slow = Object.entries(outcome)
      .filter(([, v]) => v.ms > bound)
      .map(([k, v]) => `${k}: ${v.status} after ${v.ms} ms`);
    expect(slow).toEqual([]);

    // Answering again: the same client serves, counted by the limiter once more.
    await eventually("the limiter to answer again", async () => {
      const response = await downKit.request("/api/me", { headers: { cookie: user.cookie } });
      return response.status === 200 && response.headers.get("ratelimit-limit") !== null;
    });
    expect((await authPost(downKit, "/sign-in/email", { email: user.email, password: PASSWORD })).status).toBe(200);
  }, 30_000);

  test("a signed-in call pays at most one command timeout, and the calls after it none (the breaker)", async () => {
    const user = await createUser(downKit);
    // Healthy, and counted by the limiter: the breaker is closed, the token's owner known.
    const before = await downKit.request("/api/me", { headers: { cookie: user.cookie } });
    expect(before.headers.get("ratelimit-limit")).not.toBeNull();

    const calls: { status: number; timeouts: number; skipped: number }[] = [];
    privateRedis.pause();
    try {
      for (let i = 0; i < 3; i++) {
        let status = 0;
        const outcomes = await redisOutcomesDuring(downKit.deps.redis, async () => {
          status = (await getMe(downKit, { cookie: user.cookie })).status;
        });
        calls.push({
          status,
          timeouts: outcomes.filter((c) => c.outcome === "Command timed out").length,
          skipped: outcomes.filter((c) => c.outcome.startsWith("Redis skipped")).length,
        });
      }
    } finally {
      privateRedis.resume();
    }
    // Without a breaker each call waited out three timeouts: the limiter script, better-auth's
    // session read, the write-back of the session.
    expect(calls.map((c) => c.status)).toEqual([200, 200, 200]);
    expect(calls.map((c) => c.timeouts)).toEqual([1, 0, 0]);
    for (const call of calls.slice(1)) expect(call.skipped).toBeGreaterThan(0);

    await eventually("the limiter to answer again", async () => {
      const response = await downKit.request("/api/me", { headers: { cookie: user.cookie } });
      return response.status === 200 && response.headers.get("ratelimit-limit") !== null;
    });
  }, 30_000);
});
