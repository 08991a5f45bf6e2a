// The events a user or the system can subscribe to: their names, who hears them, which channels
// are on by default, and what each carries. Data never holds PII beyond what its recipients own
// (ids, statuses, amounts, the applicant's own message); templates and webhooks render it as is.
// Plain constants and types, no import: the client reads the catalogue through the contract. It sits
// on the ground floor, not in domains/notifications, because the domains that deliver it (mail,
// webhooks, settings' switches) stand below the notifications domain, which reads auth.

export const NOTIFICATION_EVENT_TYPES = [
  "kyc.submitted",
  "kyc.changes_requested",
  "kyc.approved",
  "kyc.rejected",
  "kyc.revoked",
  "kyc.approval_expiring",
  "kyc.queue_digest",
  "wallet.eligible",
  "wallet.eligibility_failed",
  "token_operation.confirmed",
  "token_operation.failed",
  "token_operation.awaiting_approval",
  "exchange_rates.stale",
  "webhook.endpoint_disabled",
] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENT_TYPES)[number];

export const NOTIFICATION_CHANNELS = ["in_app", "email", "webhook"] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** What each event carries. Amounts are decimal strings, times ISO strings with a zone. */
export interface NotificationPayloads {
  "kyc.submitted": { applicationId: string };
  /** `message` is what the reviewer chose to tell the applicant (never an internal note). */
  "kyc.changes_requested": { applicationId: string; message: string | null };
  "kyc.approved": { applicationId: string; expiresAt: string };
  "kyc.rejected": { applicationId: string; message: string | null };
  "kyc.revoked": { applicationId: string; message: string | null };
  "kyc.approval_expiring": { applicationId: string; expiresAt: string; daysLeft: 30 | 7 };
  "kyc.queue_digest": { waiting: number; oldestSubmittedAt: string | null };
  "wallet.eligible": { wallet: string; chainId: number };
  "wallet.eligibility_failed": { wallet: string; chainId: number; reason: string };
  "token_operation.confirmed": {
    operationId: string;
    token: string;
    tokenSymbol: string;
    kind: string;
    txHash: string;
  };
  "token_operation.failed": { operationId: string; token: string; tokenSymbol: string; kind: string; reason: string };
  "token_operation.awaiting_approval": {
    operationId: string;
    token: string;
    tokenSymbol: string;
    kind: string;
    requestedBy: string;
  };
  "exchange_rates.stale": { pairs: string[]; since: string };
  "webhook.endpoint_disabled": { endpointId: string; url: string; failingSince: string };
}

/**
 * Who hears an event, resolved when it is recorded (in the same transaction): `subject` is the
 * user the event is about; `token_issuers` the users granted on the token except the requester;
 * `requester` who asked for the operation; `admins` and `reviewers` everyone with that role.
 */
export type NotificationAudience = "subject" | "token_issuers" | "requester" | "admins" | "reviewers";

export interface CatalogueEntry {
  audience: NotificationAudience;
  /** The switches a recipient who never changed their settings has. */
  defaults: { in_app: boolean; email: boolean };
  description: string;
}

export const NOTIFICATION_CATALOGUE: Record<NotificationEventType, CatalogueEntry> = {
  "kyc.submitted": {
    audience: "subject",
    defaults: { in_app: true, email: false },
    description: "Your KYC application was submitted",
  },
  "kyc.changes_requested": {
    audience: "subject",
    defaults: { in_app: true, email: true },
    description: "A reviewer asked for changes to your KYC application",
  },
  "kyc.approved": {
    audience: "subject",
    defaults: { in_app: true, email: true },
    description: "Your KYC application was approved",
  },
  "kyc.rejected": {
    audience: "subject",
    defaults: { in_app: true, email: true },
    description: "Your KYC application was rejected",
  },
  "kyc.revoked": {
    audience: "subject",
    defaults: { in_app: true, email: true },
    description: "Your KYC approval was revoked",
  },
  "kyc.approval_expiring": {
    audience: "subject",
    defaults: { in_app: true, email: true },
    description: "Your KYC approval expires in 30 or 7 days",
  },
  "kyc.queue_digest": {
    audience: "reviewers",
    defaults: { in_app: true, email: false },
    description: "Applications waiting in the review queue (a digest)",
  },
  "wallet.eligible": {
    audience: "subject",
    defaults: { in_app: true, email: false },
    description: "Your wallet may now hold Kit's tokens (registered on chain)",
  },
  "wallet.eligibility_failed": {
    audience: "subject",
    defaults: { in_app: true, email: true },
    description: "Your wallet could not be registered on chain",
  },
  "token_operation.confirmed": {
    audience: "requester",
    defaults: { in_app: true, email: false },
    description: "A token operation you asked for was confirmed on chain",
  },
  "token_operation.failed": {
    audience: "requester",
    defaults: { in_app: true, email: true },
    description: "A token operation you asked for failed",
  },
  "token_operation.awaiting_approval": {
    audience: "token_issuers",
    defaults: { in_app: true, email: true },
    description: "A token operation waits for your approval",
  },
  "exchange_rates.stale": {
    audience: "admins",
    defaults: { in_app: true, email: true },
    description: "Exchange rates have not been refreshed in time",
  },
  "webhook.endpoint_disabled": {
    audience: "subject",
    defaults: { in_app: true, email: true },
    description: "One of your webhook endpoints was disabled after a day of failures",
  },
};

/** One event as the dispatcher and every channel see it. */
export interface NotificationEvent<T extends NotificationEventType = NotificationEventType> {
  id: string;
  type: T;
  occurredAt: Date;
  /** User ids, resolved from the audience when the event was recorded. */
  recipients: string[];
  data: NotificationPayloads[T];
}
