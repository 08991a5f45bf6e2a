// Every job the worker runs, by name. A job is added here, then given a definition in its domain's jobs.ts
// (the queue's and a definition's shapes are in deps.ts).

const JOB_NAMES = [
  "fx.refresh",
  "kyc.clean-up-documents",
  "kyc.expire-approvals",
  "kyc.reencrypt-pii",
  "kyc.apply-retention",
  "auth.sign-in-failures-summary",
  "kyc.approval-expiry-notices",
  "kyc.queue-digest",
  "kyc.onchain.register",
  "kyc.onchain.revoke",
  "kyc.onchain.freeze",
  "kyc.onchain.reconcile",
  "tokens.operations.send",
  "tokens.operations.sweep",
  "tokens.operations.batch-validate",
  "tokens.operations.batch-sweep",
  "webhooks.deliveries.send",
  "webhooks.deliveries.sweep",
  "fx.staleness",
  "notifications.dispatch",
  "mail.send",
] as const;
export type JobName = (typeof JOB_NAMES)[number];
