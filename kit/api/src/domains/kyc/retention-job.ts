// Job kyc.apply-retention: the retention policy applied (retention.ts). Drafts untouched for
// `retentionDraftDays`, and every submitted application of a user whose relationship ended more than
// `retentionKycYearsAfterEnd` years ago, are erased with Kit as the actor. One application per
// transaction, picked with SKIP LOCKED: two workers running it at once share the backlog instead of
// erasing one row twice, and an application a reviewer or an approval holds is left for the next
// run. At most RETENTION_BATCH per run; the next run goes on where this one stopped (an erased row
// is no longer a candidate).
import { sql } from "drizzle-orm";
import type { Transaction } from "../../infra/db";
import { SYSTEM_ACTOR } from "../audit/record";
import type { SettingsDeps } from "../settings/service";
import { CLOSED_STATUSES } from "./contract-values";
import type { KycDocumentDeps } from "./documents";
import { deleteErasedObjects, type ErasureReason, eraseApplicationIn } from "./erasure";
import { type RetentionPolicy, retentionPolicy } from "./retention";

/** Applications erased per run at most, whatever the backlog. */
const RETENTION_BATCH = 200;

const closedList = sql.raw(CLOSED_STATUSES.map((s) => `'${s}'`).join(", "));

/** The next application the policy says to erase that nobody holds, locked; undefined when none. */
async function nextDue(
  tx: Transaction,
  policy: RetentionPolicy,
): Promise<{ id: string; reason: ErasureReason } | undefined> {
  const { rows } = await tx.execute<{ id: string; reason: ErasureReason }>(sql`
    select a.id, case when a.status = 'draft' then 'draft_retention' else 'record_retention' end as reason
    from kyc_applications a
    where a.erased_at is null
      and (
        (a.status = 'draft' and a.updated_at < now() - make_interval(days => ${policy.draftDays}))
        or (
          a.status in (${closedList})
          and not exists (select 1 from kyc_applications b
            where b.user_id = a.user_id and b.erased_at is null and b.status not in ('draft', ${closedList}))
          and not exists (select 1 from kyc_freezes f where f.user_id = a.user_id and f.lifted_at is null)
          and (select max(h.at) from kyc_status_history h join kyc_applications c on c.id = h.application_id
                where c.user_id = a.user_id and h.to_status in (${closedList}))
              < now() - make_interval(years => ${policy.kycYearsAfterEnd})
        )
      )
    order by a.updated_at, a.id
    limit 1
    for update of a skip locked`);
  return rows[0];
}

export async function applyRetention(
  deps: KycDocumentDeps & SettingsDeps,
  options: { batch?: number } = {},
): Promise<{ erased: number; drafts: number; records: number; objectsPending: number }> {
  const policy = await retentionPolicy(deps);
  const batch = options.batch ?? RETENTION_BATCH;
  const counts = { erased: 0, drafts: 0, records: 0, objectsPending: 0 };
  while (counts.erased < batch) {
    const erased = await deps.db.transaction(async (tx) => {
      const due = await nextDue(tx, policy);
      if (!due) return undefined;
      const done = await eraseApplicationIn(tx, {
        applicationId: due.id,
        actor: SYSTEM_ACTOR,
        reason: due.reason,
        policy,
      });
      return { done, reason: due.reason };
    });
    if (!erased) break;
    counts.erased++;
    if (erased.reason === "draft_retention") counts.drafts++;
    else counts.records++;
    counts.objectsPending += await deleteErasedObjects(deps, [erased.done]);
  }
  if (counts.erased > 0) deps.log.info(counts, "retention policy applied: kyc applications erased");
  return counts;
}
