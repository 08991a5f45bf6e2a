// The retention duty: how long a KYC record must be kept before it may be erased (docs/kyc.md,
// "Retention and erasure"). The relationship is the user's, not one application's: it is active
// while any of their applications is submitted, in review, awaiting a second approval, with changes
// requested or approved, or while a freeze case of theirs is not lifted; otherwise it ended when
// the last of their applications was rejected, expired or was revoked. Every submitted application
// of the user is kept until `retentionKycYearsAfterEnd` years after that end. A draft was never
// submitted, so nothing obliges Kit to keep it: it may be erased at once (and is, by the retention
// job, after `retentionDraftDays` untouched). Kit has no account closure (an application outlives
// its account), and a ban does not end the relationship: the record of why is what must be kept.
import { sql } from "drizzle-orm";
import type { Database, Transaction } from "../../infra/db";
import { getSystemSettings, type SettingsDeps } from "../settings/service";
import { CLOSED_STATUSES } from "./contract-values";

export interface RetentionPolicy {
  /** Years a submitted application is kept after the user's relationship ended. */
  kycYearsAfterEnd: number;
  /** Days an untouched draft is kept. */
  draftDays: number;
}

export async function retentionPolicy(deps: SettingsDeps): Promise<RetentionPolicy> {
  const settings = await getSystemSettings(deps);
  return { kycYearsAfterEnd: settings.retentionKycYearsAfterEnd, draftDays: settings.retentionDraftDays };
}

/** `at` plus whole years (UTC calendar: 29 February lands on 1 March). */
function addYears(at: Date, years: number): Date {
  const later = new Date(at);
  later.setUTCFullYear(later.getUTCFullYear() + years);
  return later;
}

export type RelationshipState =
  /** No submitted application that is not erased: nothing to keep. */
  { kind: "none" } | { kind: "active" } | { kind: "ended"; endedAt: Date };

const closedList = sql.raw(CLOSED_STATUSES.map((s) => `'${s}'`).join(", "));

/** Where the user's relationship stands (see the file's comment). */
export async function relationshipOf(db: Database | Transaction, userId: string): Promise<RelationshipState> {
  const { rows } = await db.execute<{ submitted: number; active: boolean; ended_at: Date | string | null }>(sql`
    select
      (select count(*)::int from kyc_applications
        where user_id = ${userId} and erased_at is null and status <> 'draft') as submitted,
      exists (select 1 from kyc_applications
        where user_id = ${userId} and erased_at is null and status not in ('draft', ${closedList}))
      or exists (select 1 from kyc_freezes where user_id = ${userId} and lifted_at is null) as active,
      (select max(h.at) from kyc_status_history h join kyc_applications a on a.id = h.application_id
        where a.user_id = ${userId} and h.to_status in (${closedList})) as ended_at`);
  const row = rows[0];
  if (!row || row.submitted === 0) return { kind: "none" };
  if (row.active || row.ended_at === null) return { kind: "active" };
  return { kind: "ended", endedAt: new Date(row.ended_at) };
}

/**
 * When the user's submitted applications may be erased, or null when they may be now. For an
 * active relationship, the earliest it could be: had it ended today.
 */
export function earliestErasure(state: RelationshipState, policy: RetentionPolicy, now = new Date()): Date | null {
  if (state.kind === "none") return null;
  const earliest = addYears(state.kind === "active" ? now : state.endedAt, policy.kycYearsAfterEnd);
  return earliest <= now ? null : earliest;
}

/** In words, for the refusal a caller reads: why erasure must wait, and until when at the earliest. */
export function retentionDutyMessage(state: RelationshipState, policy: RetentionPolicy, earliest: Date): string {
  const day = earliest.toISOString().slice(0, 10);
  const years = `${policy.kycYearsAfterEnd} year${policy.kycYearsAfterEnd === 1 ? "" : "s"}`;
  return state.kind === "ended"
    ? `KYC records must be kept ${years} after the relationship ended (${state.endedAt.toISOString().slice(0, 10)}): erasure becomes possible on ${day}.`
    : `The relationship is still active (an application open or approved, or a freeze case in force), and KYC records must be kept ${years} after it ends: erasure becomes possible on ${day} at the earliest.`;
}
