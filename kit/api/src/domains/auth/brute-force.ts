// Per-account limits on sign-in. better-auth's own limiter counts per client address; these count
// per target account, and only attempts that reach a real check, so that nobody else can run an
// account's budget down and lock its owner out:
// - e-mail sign-in: a body better-auth will compare a password for. Limited per (account, client
//   address), plus an account-wide ceiling on addresses that have never signed in to the account.
//   An address that has is remembered (hashed, for KNOWN_ADDRESS_TTL_SECONDS) and is exempt from
//   the ceiling: a guesser spraying from many addresses slows only themselves and new devices.
// - SIWE: a signature that is the wallet's, on a message carrying a nonce Kit issued. Counted
//   inside better-auth's check (auth.ts), after both are known; only the wallet's key can spend it.
import { createHmac } from "node:crypto";
import { APIError } from "better-auth/api";
import * as z from "zod";
import type { Config } from "../../config";
import { addressBlock } from "../../http/client-ip";
import type { Logger } from "../../infra/log";
import {
  consumeRateLimit,
  consumeRateLimits,
  type RateLimitResult,
  type RateLimitRule,
} from "../../infra/rate-limiter";
import type { Redis } from "../../infra/redis";
import type { RateLimitRules } from "../../rpc/rate-limit-rules";

/** How long an address that signed in to an account stays exempt from that account's ceiling. */
const KNOWN_ADDRESS_TTL_SECONDS = 30 * 24 * 60 * 60;

/** An e-mail sign-in that was let through: what to remember if it succeeds. */
export interface SignInAttempt {
  knownAddressKey: string;
  /** Keyed hashes of the account and of the address block (counted if the sign-in fails: sign-in-failures.ts). */
  account: string;
  address: string;
}

export type AttemptCheck =
  | { outcome: "allowed"; signIn?: SignInAttempt }
  | {
      outcome: "limited";
      rateLimit: RateLimitResult;
      /** `address`: this address's own budget for the account; `account`: the ceiling on new addresses. */
      scope: "address" | "account";
      attempt: Pick<SignInAttempt, "account" | "address">;
    }
  /**
   * Redis is unreachable. Every POST to better-auth fails closed: sign-in would allow unlimited
   * guessing, and sign-out or a password change would leave Redis holding sessions Postgres no
   * longer has.
   */
  | { outcome: "unavailable" };

type AttemptDeps = {
  redis: Redis;
  log: Logger;
  rateLimitRules: RateLimitRules;
  config: Pick<Config, "auth">;
  /** better-auth's instance (auth.ts); only its password policy is read here. */
  auth: { $context: Promise<{ password: { config: { maxPasswordLength: number } } }> };
};

/**
 * Keyed with the auth secret: rate-limit keys must not hold e-mail or client addresses, and a
 * plain hash of an e-mail is reversed by hashing a list of e-mails.
 */
const keyedHash = (secret: string, value: string) =>
  createHmac("sha256", secret).update(value).digest("hex").slice(0, 32);

/** The e-mail better-auth will look up, if it will compare a password for this body; otherwise null. */
function signInEmail(body: unknown, maxPasswordLength: number): string | null {
  const parsed = z
    .object({
      email: z.email(),
      password: z.string().max(maxPasswordLength),
      callbackURL: z.string().optional(),
      rememberMe: z.boolean().optional(),
    })
    .safeParse(body);
  return parsed.success ? parsed.data.email.toLowerCase() : null;
}

/** Checks a POST to /api/auth/* (`path` without that prefix) before better-auth runs it. */
export async function checkAuthAttempt(
  deps: AttemptDeps,
  path: string,
  body: unknown,
  clientAddress: string,
): Promise<AttemptCheck> {
  try {
    const email =
      path === "/sign-in/email"
        ? signInEmail(body, (await deps.auth.$context).password.config.maxPasswordLength)
        : null;
    if (email === null) {
      await deps.redis.ping();
      return { outcome: "allowed" };
    }
    const hash = (value: string) => keyedHash(deps.config.auth.secret, value);
    const account = `email:${hash(email)}`;
    const address = hash(addressBlock(clientAddress));
    // The account is the hash tag of both subjects: their logs are counted by one script (one Redis Cluster slot).
    const accountSubject = `{${account}}`;
    const fromAddress = `${accountSubject}:${address}`;
    const knownAddressKey = `auth-known-address:${hash(fromAddress)}`;
    const known = (await deps.redis.exists(knownAddressKey)) === 1;
    const own = { rule: deps.rateLimitRules["auth.sign-in.account-address"], subject: fromAddress };
    const ceiling = { rule: deps.rateLimitRules["auth.sign-in.account"], subject: accountSubject };
    const { allowed, results } = await consumeRateLimits(deps.redis, known ? [own] : [own, ceiling]);
    if (allowed) return { outcome: "allowed", signIn: { knownAddressKey, account, address } };
    // One result per rule given, in order.
    const [ownResult, ceilingResult] = results as [RateLimitResult, RateLimitResult | undefined];
    const attempt = { account, address };
    if (ownResult.allowed && ceilingResult) {
      return { outcome: "limited", rateLimit: ceilingResult, scope: "account", attempt };
    }
    return { outcome: "limited", rateLimit: ownResult, scope: "address", attempt };
  } catch (err) {
    deps.log.warn({ err, path }, "auth attempt refused: rate limiter unavailable");
    return { outcome: "unavailable" };
  }
}

/**
 * After a successful sign-in: this address may sign in to this account past the ceiling from now
 * on. Best effort: the sign-in has happened either way.
 */
export async function rememberSignInAddress(
  deps: { redis: Redis; log: Logger },
  attempt: SignInAttempt,
): Promise<void> {
  try {
    await deps.redis.set(attempt.knownAddressKey, "1", "EX", KNOWN_ADDRESS_TTL_SECONDS);
  } catch (err) {
    deps.log.warn({ err }, "could not remember the address of a successful sign-in");
  }
}

/**
 * Counts a SIWE sign-in whose nonce Kit issued and whose signature is the wallet's; throws
 * better-auth's 429 past the limit, or 503 if Redis is unavailable (fail closed, like e-mail).
 */
export async function limitWalletSignIn(
  deps: { redis: Redis; log: Logger },
  rule: RateLimitRule,
  address: string,
): Promise<void> {
  const result = await consumeRateLimit(deps.redis, rule, `wallet:${address.toLowerCase()}`).catch((err: unknown) => {
    deps.log.warn({ err }, "SIWE sign-in refused: rate limiter unavailable");
    throw APIError.fromStatus("SERVICE_UNAVAILABLE", {
      code: "SERVICE_UNAVAILABLE",
      message: "Signing in is briefly unavailable; retry in a minute.",
    });
  });
  if (result.allowed) return;
  const retryAfter = Math.max(1, result.resetSeconds);
  throw new APIError(
    "TOO_MANY_REQUESTS",
    {
      code: "TOO_MANY_REQUESTS",
      message: `Too many sign-ins with this wallet; retry in ${retryAfter} s.`,
      data: { retryAfterSeconds: retryAfter },
    },
    {
      "retry-after": String(retryAfter),
      "ratelimit-limit": String(result.limit),
      "ratelimit-remaining": String(result.remaining),
      "ratelimit-reset": String(result.resetSeconds),
    },
  );
}
