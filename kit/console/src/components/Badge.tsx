// A state in a coloured pill. The colours are the KYC statuses' (styles.css `.status-*`); other
// states borrow the one that reads alike (a failure in "rejected" red, a success in "approved" green).
import type { ReactNode } from "react";
import type { KycStatus, OperationStatus } from "../api";
import { OPERATION_STATUS_LABELS, STATUS_LABELS } from "../format";

export function Badge({ tone, children }: { tone: KycStatus; children: ReactNode }) {
  return <span className={`badge status-${tone}`}>{children}</span>;
}

/** A KYC application's status, in words. */
export function StatusBadge({ status }: { status: KycStatus }) {
  return <Badge tone={status}>{STATUS_LABELS[status]}</Badge>;
}

const OPERATION_TONES: Record<OperationStatus, KycStatus> = {
  awaiting_approval: "in_review",
  pending: "submitted",
  signed: "submitted",
  submitted: "submitted",
  confirmed: "approved",
  failed: "rejected",
  rejected: "expired",
};

/** A token operation's status, in words. */
export function OperationStatusBadge({ status }: { status: OperationStatus }) {
  return <Badge tone={OPERATION_TONES[status]}>{OPERATION_STATUS_LABELS[status]}</Badge>;
}

/** Whether a token's holders may transfer it; nothing for a token that cannot be paused. */
export function TokenStateBadge({ paused }: { paused: boolean | null }) {
  if (paused === null) return null;
  return paused ? <Badge tone="rejected">Paused</Badge> : <Badge tone="approved">Active</Badge>;
}
