// Per-account limits on the endpoints that test a credential, checked before better-auth runs.
// better-auth's own limiter counts per address; this one counts per target account, so a guesser
// spreading attempts over many addresses is still stopped.
import { createHash } from "node:crypto";
import type { Logger } from "../../infra/log";
import { consumeRateLimit, type RateLimitResult } from "../../infra/rate-limiter";
import type { Redis } from "../../infra/redis";
import type { RateLimitRules } from "../../rpc/rate-limit-rules";

export type AttemptCheck =
  | { outcome: "allowed"; rateLimit?: RateLimitResult }
  | { outcome: "limited"; rateLimit: RateLimitResult }
  /**
   * Redis is unreachable. Every POST to better-auth fails closed: sign-in would allow unlimited
   * guessing, and sign-out or a password change would leave Redis holding sessions Postgres no
   * longer has.
   */
  | { outcome: "unavailable" };

const hash = (value: string) => createHash("sha256").update(value).digest("hex").slice(0, 32);

function accountOf(
  path: string,
  body: unknown,
): { rule: "auth.sign-in.account" | "auth.siwe.account"; subject: string } | null {
  if (typeof body !== "object" || body === null) return null;
  if (path === "/sign-in/email" && typeof (body as { email?: unknown }).email === "string") {
    // Hashed: rate-limit keys must not hold e-mail addresses.
    return {
      rule: "auth.sign-in.account",
      subject: `email:${hash((body as { email: string }).email.trim().toLowerCase())}`,
    };
  }
  if (path === "/siwe/verify" && typeof (body as { message?: unknown }).message === "string") {
    const address = (body as { message: string }).message.match(/0x[0-9a-fA-F]{40}/)?.[0];
    if (address) return { rule: "auth.siwe.account", subject: `wallet:${address.toLowerCase()}` };
  }
  return null;
}

/** Checks a POST to /api/auth/* (`path` without that prefix) before better-auth runs it. */
export async function checkAuthAttempt(
  deps: { redis: Redis; log: Logger; rateLimitRules: RateLimitRules },
  path: string,
  body: unknown,
): Promise<AttemptCheck> {
  try {
    const target = accountOf(path, body);
    if (!target) {
      await deps.redis.ping();
      return { outcome: "allowed" };
    }
    const rateLimit = await consumeRateLimit(deps.redis, deps.rateLimitRules[target.rule], target.subject);
    return rateLimit.allowed ? { outcome: "allowed", rateLimit } : { outcome: "limited", rateLimit };
  } catch (err) {
    deps.log.warn({ err, path }, "auth attempt refused: rate limiter unavailable");
    return { outcome: "unavailable" };
  }
}
