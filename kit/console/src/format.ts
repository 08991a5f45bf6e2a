// How values read to a person: statuses and roles in words, times in the browser's locale, countries by name.
import type {
  KycStatus,
  OperationKind,
  OperationStatus,
  OperationView,
  RejectionLabel,
  RiskLevel,
  RoleName,
} from "./api";

export const STATUS_LABELS: Record<KycStatus, string> = {
  draft: "Draft",
  submitted: "Submitted",
  in_review: "In review",
  approval_pending: "Awaiting second approval",
  approved: "Approved",
  rejected: "Rejected",
  changes_requested: "Changes requested",
  expired: "Expired",
  revoked: "Revoked",
};

export const RISK_LABELS: Record<RiskLevel, string> = { low: "Low", medium: "Medium", high: "High" };

/** The fixed rejection labels (docs/kyc.md), as reviewers read them; the applicant never does. */
export const REJECTION_LABEL_WORDS: Record<RejectionLabel, string> = {
  document_expired: "Document expired",
  document_unreadable: "Document unreadable",
  document_missing: "Document missing",
  data_mismatch: "Data mismatch",
  selfie_mismatch: "Selfie does not match",
  sanctions_pep_match: "Sanctions / PEP match",
  adverse_media: "Adverse media",
  suspected_fraud: "Suspected fraud",
  underage: "Underage",
  unsupported_country: "Unsupported country",
  duplicate_account: "Duplicate account",
  other: "Other",
};
export const REJECTION_LABELS = Object.keys(REJECTION_LABEL_WORDS) as RejectionLabel[];

export function roleLabel(role: RoleName): string {
  return role.replace("_", " ");
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const regions = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

export function formatTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

export function countryName(code: string | null | undefined): string {
  if (!code) return "—";
  return `${regions.of(code) ?? code} (${code})`;
}

export function fullName(person: { firstName: string | null; lastName: string | null }): string {
  return [person.firstName, person.lastName].filter(Boolean).join(" ") || "(no name yet)";
}

const plurals = new Intl.PluralRules("en");

/** "1 rate", "3 rates": a count as a person reads it (`plural` when adding an s is wrong). */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${plurals.select(count) === "one" ? singular : plural}`;
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

/** A hash or an address shortened for a table ("0x1f5fbf…a04c2e"); the whole value goes in a title. */
export function shortHex(hex: string): string {
  return `${hex.slice(0, 8)}…${hex.slice(-6)}`;
}

export const OPERATION_KIND_LABELS: Record<OperationKind, string> = {
  mint: "Mint",
  burn: "Burn",
  pause: "Pause",
  unpause: "Unpause",
  freeze: "Freeze wallet",
  unfreeze: "Unfreeze wallet",
  freeze_partial: "Freeze part",
  unfreeze_partial: "Unfreeze part",
  forced_transfer: "Forced transfer",
  recover: "Recovery",
  create: "Creation",
};

export const OPERATION_STATUS_LABELS: Record<OperationStatus, string> = {
  awaiting_approval: "Awaiting approval",
  pending: "Pending",
  signed: "Signed",
  submitted: "Submitted",
  confirmed: "Confirmed",
  failed: "Failed",
  rejected: "Rejected",
};

/** The outbox's typed revert reasons (kit/api operations/reverts.ts), as an issuer would say them. */
const OPERATION_ERRORS: Record<string, string> = {
  receiver_not_verified: "the receiving wallet is not verified for this token (its owner must pass KYC first)",
  compliance_refused: "the token's compliance rules refused it",
  transfer_not_possible: "the transfer is not possible (a wallet is frozen or not verified, or compliance refused)",
  token_paused: "the token is paused",
  token_not_paused: "the token is not paused",
  burn_exceeds_balance: "the burn is larger than the wallet's balance",
  insufficient_balance: "the wallet's balance is too low",
  freeze_exceeds_balance: "more than the wallet's unfrozen balance",
  unfreeze_exceeds_frozen: "more than the wallet's frozen amount",
  wallet_frozen: "the wallet is frozen",
  nothing_to_recover: "the lost wallet holds nothing to recover",
  recovery_not_possible: "the recovery is not possible",
  not_agent: "Kit's chain agent is not an agent of this token",
  not_owner: "Kit's chain agent does not own this token",
};

/** Why an operation failed, in words, with the contract's own words after them. */
export function operationErrorText(error: NonNullable<OperationView["error"]>): string {
  const words = OPERATION_ERRORS[error.code];
  return words ? `${words} (the contract said: ${error.message})` : `the transaction reverted: ${error.message}`;
}
