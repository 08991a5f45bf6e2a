// Every rate-limit rule, by name. Procedures name theirs in their contract's meta (`rateLimit`);
// RATE_LIMITS overrides limits per rule without a code change.
import { ConfigError } from "../config";
import type { RateLimitRule } from "../infra/rate-limiter";
import { RATE_LIMIT_RULE_NAMES, type RateLimitRuleName } from "./rate-limit-names";

const rules = {
  /** Every procedure without a rule of its own. */
  default: { limit: 300, windowSeconds: 60 },
  /** Changes to other users' access. */
  "users.manage": { limit: 60, windowSeconds: 60 },
  /** Linking and unlinking wallets (each link verifies a signature). */
  "me.wallets": { limit: 20, windowSeconds: 60 },
  /** Admins' exchange-rate changes: manual rates and queued refreshes (each refresh calls the providers). */
  "fx.manage": { limit: 30, windowSeconds: 60 },
  /** Starting and confirming document uploads (each confirm reads the stored object). */
  "kyc.uploads": { limit: 30, windowSeconds: 60 },
  /** Download URLs for KYC documents: bounds how fast one account can pull personal documents. */
  "kyc.document-urls": { limit: 60, windowSeconds: 60 },
  /**
   * Reviewers' reads of applications (personal data decrypted): bounds how fast one account can
   * pull applicants' records; `kit_rate_limited_total{rule="kyc.application-reads"}` is the alert.
   */
  "kyc.application-reads": { limit: 120, windowSeconds: 60 },
  /** Transfer checks (about ten chain reads each): a dApp asks before each transfer, not in a loop. */
  "tokens.transfer-check": { limit: 60, windowSeconds: 60 },
  /** Password attempts at one account from one client address (an IPv6 /64). */
  "auth.sign-in.account-address": { limit: 10, windowSeconds: 15 * 60 },
  /**
   * Password attempts at one account from all addresses that have never signed in to it: slows a
   * guesser spread over many addresses; addresses the owner signed in from are not held to it.
   */
  "auth.sign-in.account": { limit: 30, windowSeconds: 15 * 60 },
  /** SIWE sign-ins of one wallet that carried a nonce Kit issued and the wallet's own signature. */
  "auth.siwe.account": { limit: 10, windowSeconds: 15 * 60 },
  /**
   * Verification, reset and change-of-address mails to one account: past it, requests still get
   * the same answer (nothing tells whether an account exists) but no more mail is queued.
   */
  "auth.account-mail": { limit: 5, windowSeconds: 60 * 60 },
} satisfies Record<RateLimitRuleName, Omit<RateLimitRule, "name">>;

export type RateLimitRules = Record<RateLimitRuleName, RateLimitRule>;

/** The rules with RATE_LIMITS applied; an override naming no rule is a start-up error. */
export function resolveRateLimitRules(
  overrides: Record<string, { limit: number; windowSeconds: number }>,
): RateLimitRules {
  const unknown = Object.keys(overrides).filter((name) => !(name in rules));
  if (unknown.length > 0) {
    throw new ConfigError([
      `RATE_LIMITS: unknown rule ${unknown.join(", ")}; rules are ${RATE_LIMIT_RULE_NAMES.join(", ")}`,
    ]);
  }
  return Object.fromEntries(
    RATE_LIMIT_RULE_NAMES.map((name) => [name, { name, ...rules[name], ...overrides[name] }]),
  ) as RateLimitRules;
}
