// A state in a coloured pill. The colours are the KYC statuses' (styles.css `.status-*`); other
// states borrow the one that reads alike (a failure in "rejected" red, a success in "approved" green).
import type { ReactNode } from "react";
import type { KycStatus } from "../api";
import { STATUS_LABELS } from "../format";

export function Badge({ tone, children }: { tone: KycStatus; children: ReactNode }) {
  return <span className={`badge status-${tone}`}>{children}</span>;
}

/** A KYC application's status, in words. */
export function StatusBadge({ status }: { status: KycStatus }) {
  return <Badge tone={status}>{STATUS_LABELS[status]}</Badge>;
}
