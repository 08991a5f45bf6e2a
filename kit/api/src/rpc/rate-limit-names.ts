// The names of the rate-limit rules, and nothing else: contracts name their rule in their meta, and
// the contract the typed client compiles must not reach the rules' limits or the config they read.
// rate-limit-rules.ts gives every name its limits (its types fail when a name has none or one too many).
export const RATE_LIMIT_RULE_NAMES = [
  "default",
  "users.manage",
  "me.wallets",
  "fx.manage",
  "kyc.uploads",
  "kyc.document-urls",
  "kyc.application-reads",
  "tokens.transfer-check",
  "auth.sign-in.account-address",
  "auth.sign-in.account",
  "auth.siwe.account",
  "auth.account-mail",
] as const;

export type RateLimitRuleName = (typeof RATE_LIMIT_RULE_NAMES)[number];
