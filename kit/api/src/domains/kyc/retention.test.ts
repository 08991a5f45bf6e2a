// The retention policy: its settings (validated, audited) and the job that applies it. Drafts
// untouched past `retentionDraftDays` and the records of relationships that ended more than
// `retentionKycYearsAfterEnd` years ago are erased by Kit; nothing else is. Two runs at once erase
// each application once; a bounded run leaves the rest to the next.
import { describe, expect, test } from "bun:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { and, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import {
  createApplicant,
  createDraftApplication,
  createSubmittedApplication,
  moveApplication,
} from "../../../test/kyc";
import { createUser } from "../../../test/users";
import { auditEvents } from "../audit/schema";
import { applyRetention } from "./retention-job";
import { kycApplications } from "./schema";

const kit = await createTestKit();
const admin = await createUser(kit, "admin");

/** As the database owner (triggers off): moves an application's past back in time. */
async function backdate(applicationId: string, interval: string): Promise<void> {
  await kit.deps.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    await tx.execute(
      sql`update kyc_status_history set at = at - ${interval}::interval where application_id = ${applicationId}`,
    );
    await tx.execute(
      sql`update kyc_applications set updated_at = updated_at - ${interval}::interval where id = ${applicationId}`,
    );
  });
}

async function erasedOf(ids: string[]): Promise<string[]> {
  const rows = await kit.deps.db
    .select({ id: kycApplications.id })
    .from(kycApplications)
    .where(and(inArray(kycApplications.id, ids), isNotNull(kycApplications.erasedAt)));
  return rows.map((r) => r.id).sort();
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await kit.deps.storage.client.send(
      new HeadObjectCommand({ Bucket: kit.deps.storage.buckets.kycDocuments, Key: key }),
    );
    return true;
  } catch {
    return false;
  }
}

describe("retention settings", () => {
  test("defaults 5 years and 90 days; validated; a change is audited", async () => {
    const before = await callApi(kit.app, admin, "GET", "/settings/system");
    expect(before.body).toMatchObject({ retentionKycYearsAfterEnd: 5, retentionDraftDays: 90 });
    for (const bad of [{ retentionDraftDays: 0 }, { retentionKycYearsAfterEnd: 31 }, { retentionDraftDays: 1.5 }]) {
      const refused = await callApi(kit.app, admin, "PATCH", "/settings/system", bad);
      expect(refused.status, JSON.stringify(bad)).toBe(400);
    }
    const changed = await callApi(kit.app, admin, "PATCH", "/settings/system", { retentionDraftDays: 30 });
    expect(changed.body.retentionDraftDays).toBe(30);
    const [audit] = await kit.deps.db
      .select({ before: auditEvents.before, after: auditEvents.after })
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "system_settings.changed"), eq(auditEvents.subjectId, "retentionDraftDays")));
    expect(audit).toEqual({ before: { retentionDraftDays: null }, after: { retentionDraftDays: 30 } });
    await callApi(kit.app, admin, "PATCH", "/settings/system", { retentionDraftDays: 90 });
  });
});

describe("kyc.apply-retention", () => {
  test("erases stale drafts and ended records past the kept years, and nothing else; two runs at once erase each once", async () => {
    const due: string[] = [];
    const kept: string[] = [];
    const bucketKeys: string[] = [];
    for (let i = 0; i < 6; i++) {
      // A draft untouched for 91 days: due.
      const staleDraft = await createDraftApplication(kit, await createApplicant(kit));
      await backdate(staleDraft.id, "91 days");
      due.push(staleDraft.id);
      bucketKeys.push(...staleDraft.documents.map((d) => d.bucketKey));
      // A user rejected, then expired on a second application, the last 6 years ago: both due.
      const ended = await createApplicant(kit);
      const first = await createSubmittedApplication(kit, ended);
      await moveApplication(kit, first.id, "rejected");
      const second = await createSubmittedApplication(kit, ended);
      await moveApplication(kit, second.id, "expired");
      await backdate(first.id, "7 years");
      await backdate(second.id, "6 years");
      due.push(first.id, second.id);
    }
    // Kept: a fresh draft; a rejection 4 years ago; an old rejection whose user is approved now; an
    // old revocation whose freeze is not lifted.
    kept.push((await createDraftApplication(kit, await createApplicant(kit))).id);
    const recent = await createSubmittedApplication(kit, await createApplicant(kit));
    await moveApplication(kit, recent.id, "rejected");
    await backdate(recent.id, "4 years");
    kept.push(recent.id);
    const returning = await createApplicant(kit);
    const old = await createSubmittedApplication(kit, returning);
    await moveApplication(kit, old.id, "rejected");
    await backdate(old.id, "8 years");
    const current = await createSubmittedApplication(kit, returning);
    await moveApplication(kit, current.id, "approved");
    kept.push(old.id, current.id);
    const frozen = await createApplicant(kit);
    const revoked = await createSubmittedApplication(kit, frozen);
    await moveApplication(kit, revoked.id, "revoked");
    await kit.deps.db.execute(
      sql`insert into kyc_freezes (application_id, user_id, category, frozen_by) values (${revoked.id}, ${frozen.id}, 'sanctions', ${admin.id})`,
    );
    await backdate(revoked.id, "9 years");
    kept.push(revoked.id);

    // Bounded: a run of 5 erases 5 and stops.
    const bounded = await applyRetention(kit.deps, { batch: 5 });
    expect(bounded.erased).toBe(5);
    // Two runs at once share the rest.
    const [a, b] = await Promise.all([applyRetention(kit.deps), applyRetention(kit.deps)]);
    expect(5 + a.erased + b.erased).toBe(due.length);
    expect(a.drafts + b.drafts + bounded.drafts).toBe(6);
    expect(await erasedOf(due)).toEqual([...due].sort());
    expect(await erasedOf(kept)).toEqual([]);
    const audits = await kit.deps.db
      .select({ subjectId: auditEvents.subjectId, actorKind: auditEvents.actorKind })
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "kyc.application_erased"), inArray(auditEvents.subjectId, due)));
    expect(audits.length).toBe(due.length);
    expect(new Set(audits.map((x) => x.subjectId)).size).toBe(due.length);
    expect(audits.every((x) => x.actorKind === "system")).toBe(true);
    for (const key of bucketKeys) expect(await objectExists(key)).toBe(false);
    // Nothing left: the next run erases nothing.
    expect((await applyRetention(kit.deps)).erased).toBe(0);
  });
});
