// better-auth, configured for Kit: e-mail + password, Sign-In with Ethereum, bearer tokens, API
// keys, roles (admin plugin); sessions in Redis and Postgres.

import { randomBytes } from "node:crypto";
import { apiKey } from "@better-auth/api-key";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { admin, bearer, openAPI } from "better-auth/plugins";
import { siwe } from "better-auth/plugins/siwe";
import type { Config } from "../../config";
import { displayTextProblem } from "../../display-text";
import type { Chain } from "../../infra/chain";
import type { Database } from "../../infra/db";
import { type Logger, scrubText } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { RateLimitRules } from "../../rpc/rate-limit-rules";
import { recordAudit } from "../audit/record";
import { type AccountMailDeps, accountMailSettings } from "./account-mail";
import { limitWalletSignIn } from "./brute-force";
import { ac, roles } from "./permissions";
import * as schema from "./schema";
import { createSecondaryStorage } from "./secondary-storage";
import { checkWalletSignature } from "./wallet-signatures";

/** Set by the HTTP layer on every request to /api/auth/* (see app.ts). */
export const CLIENT_IP_HEADER = "x-kit-client-ip";

export const SESSION_EXPIRES_IN_SECONDS = 7 * 24 * 60 * 60;
export const SESSION_UPDATE_AGE_SECONDS = 24 * 60 * 60;

export function trustedOrigins(config: Config): string[] {
  return [...new Set([config.auth.publicUrl, ...config.http.corsOrigins])];
}

interface AuthDeps extends AccountMailDeps {
  config: Config;
  db: Database;
  redis: Redis;
  /** null where no wallet signs in (the CLI); then only EOA signatures can be checked. */
  chain: Chain | null;
  log: Logger;
  rateLimitRules: RateLimitRules;
}

export function createAuth(deps: AuthDeps) {
  const { config, db, redis, log } = deps;
  const secure = config.env === "production";
  const mail = accountMailSettings(deps);
  return betterAuth({
    appName: "Kit",
    baseURL: config.auth.publicUrl,
    basePath: "/api/auth",
    secret: config.auth.secret,
    trustedOrigins: trustedOrigins(config),
    database: drizzleAdapter(db, { provider: "pg", schema, usePlural: false }),
    secondaryStorage: createSecondaryStorage(redis, log),
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 12,
      maxPasswordLength: 128,
      // No session from sign-up: a new e-mail and one that already has an account then get the same
      // answer (200, a user, no token, the password hashed either way), so sign-up does not tell who
      // has an account. The client signs in next.
      autoSignIn: false,
      onExistingUserSignUp: async ({ user }) => {
        log.info({ userId: user.id }, "sign-up attempted with the e-mail of an existing account");
        await mail.repeatedSignUp(user);
      },
      ...mail.passwordReset,
    },
    emailVerification: mail.emailVerification,
    user: mail.user,
    databaseHooks: mail.databaseHooks,
    session: {
      expiresIn: SESSION_EXPIRES_IN_SECONDS,
      updateAge: SESSION_UPDATE_AGE_SECONDS,
      // Redis is the fast path, Postgres the record: a flushed Redis loses no session.
      storeSessionInDatabase: true,
      cookieCache: { enabled: false },
    },
    // IP-keyed limits on better-auth's own endpoints, atomic in Redis (INCR). The strict per-account
    // brute-force rules run before better-auth, in Kit's limiter (auth/brute-force.ts).
    rateLimit: {
      enabled: true,
      storage: "secondary-storage",
      window: 60,
      max: 100,
      customRules: {
        "/sign-in/email": { window: 60, max: 10 },
        "/sign-up/email": { window: 600, max: 10 },
        "/siwe/verify": { window: 60, max: 10 },
        "/siwe/nonce": { window: 60, max: 30 },
        // Mail-sending endpoints, per client address; each account also has a mail limit of its own.
        "/send-verification-email": { window: 600, max: 5 },
        "/request-password-reset": { window: 600, max: 5 },
        "/change-email": { window: 600, max: 5 },
      },
    },
    advanced: {
      useSecureCookies: secure,
      defaultCookieAttributes: { httpOnly: true, sameSite: "lax", secure },
      // Kit resolves the client address once (TRUST_PROXY_HOPS) and hands it over in this header,
      // overwriting whatever a client sent; better-auth alone would only trust headers.
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
      // Said outright: better-auth skips its Origin check under NODE_ENV=test by default, so the
      // tests would never meet the check production runs.
      disableOriginCheck: false,
    },
    logger: {
      level: "warn",
      // Its messages can quote a failed query (with its parameters): scrubbed like any error.
      log: (level, message, ...args) => {
        const err = args.find((arg) => arg instanceof Error);
        log[level]({ source: "better-auth", ...(err ? { err } : {}) }, scrubText(message));
      },
    },
    // Errors that are not its own API errors (a database outage) are thrown to Kit's HTTP layer,
    // which answers them (503 for an outage) and logs them through one serializer; left to
    // better-auth, they would be printed to the console whole, query parameters included.
    onAPIError: { throw: true },
    hooks: { before: refuseDisguisedNames, after: auditApiKeys(db) },
    telemetry: { enabled: false },
    plugins: [
      admin({ ac, roles, defaultRole: "investor", adminRoles: ["admin"] }),
      walletSignIn(deps),
      bearer({ requireSignature: true }),
      // A key is never a session on /api/auth/*: there it could mint keys, link accounts or read
      // sessions beyond its grants. Kit's procedures resolve keys themselves (session.ts).
      apiKey({
        enableSessionForAPIKeys: false,
        storage: "secondary-storage",
        fallbackToDatabase: true,
        defaultPrefix: "kit_",
        enableMetadata: true,
        rateLimit: { enabled: true, timeWindow: 60_000, maxRequests: 600 },
      }),
      openAPI({ disableDefaultReference: true }),
    ],
  });
}

// Names are shown to reviewers and admins beside KYC data: the same display rule as KYC names.
const refuseDisguisedNames = createAuthMiddleware(async (ctx) => {
  if (ctx.path !== "/sign-up/email" && ctx.path !== "/update-user") return;
  const name: unknown = ctx.body?.name;
  const problem = typeof name === "string" ? displayTextProblem(name) : null;
  if (problem) throw new APIError("BAD_REQUEST", { message: `Invalid input: name: ${problem}` });
});

/**
 * API keys made or deleted through better-auth (a user's session, or the CLI's server call) go to the
 * audit trail once done: who, which key, which grants; never the key itself or its name (free text).
 */
function auditApiKeys(db: Database) {
  return createAuthMiddleware(async (ctx) => {
    if (ctx.path !== "/api-key/create" && ctx.path !== "/api-key/delete") return;
    const returned: unknown = ctx.context.returned;
    if (!returned || typeof returned !== "object" || returned instanceof Error) return;
    const sessionUser: string | undefined = ctx.context.session?.user?.id;
    const actor = { userId: sessionUser ?? null, ipAddress: ctx.request?.headers.get(CLIENT_IP_HEADER) ?? null };
    if (ctx.path === "/api-key/create" && "id" in returned) {
      const key = returned as { id: string; referenceId?: string; userId?: string; permissions?: unknown };
      await recordAudit(db, actor, {
        action: "api_key.created",
        subject: { type: "user", id: key.referenceId ?? key.userId ?? sessionUser ?? "unknown" },
        after: { keyId: key.id, grants: key.permissions ?? null },
      });
    } else if (ctx.path === "/api-key/delete" && (returned as { success?: unknown }).success === true) {
      await recordAudit(db, actor, {
        action: "api_key.revoked",
        subject: { type: "user", id: sessionUser ?? "unknown" },
        before: { keyId: String(ctx.body?.keyId ?? "") },
      });
    }
  });
}

/** Sign-In with Ethereum on Kit's domain and chain, counted against the wallet once its signature is known good. */
function walletSignIn({ config, redis, chain, log, rateLimitRules }: AuthDeps) {
  return siwe({
    domain: new URL(config.auth.publicUrl).host,
    anonymous: true,
    // 128 bits from the system's CSPRNG. Not viem's generateSiweNonce: it slides over a
    // Math.random buffer one character per call, so one nonce gives away most of the next.
    getNonce: async () => randomBytes(16).toString("hex"),
    // The chain id must be the one Kit serves. EOAs are checked offline; smart-contract
    // wallets on chain, so a node that cannot be reached is a 503, not a wrong signature.
    verifyMessage: async ({ message, signature, address, chainId }) => {
      if (chainId !== config.chain.id) return false;
      const check = await checkWalletSignature(chain, {
        address: address as `0x${string}`,
        message,
        signature: signature as `0x${string}`,
      });
      if (check === "chain-unavailable") {
        log.warn({ chainId }, "SIWE: the chain node could not check a contract wallet's signature");
        throw APIError.fromStatus("SERVICE_UNAVAILABLE", {
          code: "SERVICE_UNAVAILABLE",
          message: "The chain could not be asked to check this wallet's signature; retry in a minute.",
        });
      }
      if (check !== "valid") return false;
      // Counted only now: better-auth has consumed a nonce Kit issued and the signature is the
      // wallet's, so only the wallet's key can spend this budget.
      await limitWalletSignIn({ redis, log }, rateLimitRules["auth.siwe.account"], address);
      return true;
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;
