// The fixed values of the audit contract: the actions Kit records in its audit trail. Plain
// constants, no import: the client reads the contract.
export const AUDIT_ACTIONS = [
  "user.role_changed",
  "user.banned",
  "user.unbanned",
  "user.sessions_revoked",
  "api_key.created",
  "api_key.revoked",
  "system_settings.changed",
  "notification_settings.changed",
  "exchange_rate.set_manually",
  "token.grant_added",
  "token.grant_removed",
  "token_policy.change_requested",
  "token_policy.change_decided",
  "token_operation.decided",
  "kyc.freeze_lifted",
  "kyc.rejection_block_lifted",
  "kyc.encryption_key_rotated",
  "kyc.dossier_exported",
  "kyc.application_erased",
  "kyc.erasure_requested",
  "kyc.erasure_decided",
  "auth.sign_in_failures",
  "job.retried",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who acted: a signed-in user (by session or one of their API keys), or Kit itself (jobs, the CLI). */
export const AUDIT_ACTOR_KINDS = ["user", "api_key", "system"] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];
