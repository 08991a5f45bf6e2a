// What the database itself guarantees about KYC records, whatever code path writes them: the status
// graph, drafts as the only start, no change of owner, versions that always move, and an audit
// trail (history, document access) that can only grow. Plus the service-level guard in front of it.
import { describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createDraftApplication, moveApplication } from "../../../test/kyc";
import { KitError } from "../../errors";
import { KYC_STATUSES, type KycStatus } from "./contract-values";
import { changeStatus, TRANSITIONS } from "./lifecycle";
import { kycApplications, kycDocumentAccess, kycStatusHistory } from "./schema";

const kit = await createTestKit();
const { pool, db } = kit.deps;
/** The actor of the fixture changes (no session needed at this level). */
const reviewer = await createApplicant(kit, "Reviewer");

/** One application in each status, each of its own applicant (one open application per user). */
const byStatus = Object.fromEntries(
  await Promise.all(
    KYC_STATUSES.map(async (status) => {
      const applicant = await createApplicant(kit);
      const { id } = await createDraftApplication(kit, applicant);
      await moveApplication(kit, id, status, { actorId: reviewer.id });
      return [status, id] as const;
    }),
  ),
) as Record<KycStatus, string>;

/** The Postgres error a raw statement fails with (the test fails if it succeeds). */
async function refusal(text: string, values: unknown[] = []): Promise<{ code: string; message: string }> {
  try {
    await pool.query(text, values);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`expected the database to refuse: ${text} ${JSON.stringify(values)}`);
}

async function snapshot(id: string) {
  const [row] = await db.select().from(kycApplications).where(eq(kycApplications.id, id));
  const history = await db.select().from(kycStatusHistory).where(eq(kycStatusHistory.applicationId, id));
  return { row, historyRows: history.length };
}

describe("status graph in the database", () => {
  test("every status change outside the graph is refused by a raw UPDATE, and changes nothing", async () => {
    let refused = 0;
    for (const from of KYC_STATUSES) {
      const before = await snapshot(byStatus[from]);
      for (const to of KYC_STATUSES) {
        if (to === from || TRANSITIONS[from].includes(to)) continue;
        // expires_at and decided_at set too, so `approved` fails on the graph, not on its own CHECK.
        const error = await refusal(
          "update kyc_applications set status = $2, decided_at = now(), expires_at = now() + interval '1 day' where id = $1",
          [byStatus[from], to],
        );
        expect({ from, to, code: error.code }).toEqual({ from, to, code: "23514" });
        expect(error.message).toBe(`illegal KYC status transition: ${from} -> ${to}`);
        refused += 1;
      }
      expect(await snapshot(byStatus[from])).toEqual(before);
    }
    const edges = Object.values(TRANSITIONS).reduce((n, list) => n + list.length, 0);
    expect(refused).toBe(KYC_STATUSES.length * (KYC_STATUSES.length - 1) - edges);
  });

  test("every edge of the graph is accepted by the database (rolled back)", async () => {
    for (const from of KYC_STATUSES) {
      for (const to of TRANSITIONS[from]) {
        const client = await pool.connect();
        try {
          await client.query("begin");
          const { rowCount } = await client.query(
            // approval_pending names its first approver (kyc_applications_pending_check): any other user.
            `update kyc_applications set status = $2, decided_at = now(), expires_at = now() + interval '1 day',
               first_approver_id = case when $2 = 'approval_pending'
                 then (select id from "user" where id <> kyc_applications.user_id limit 1) else first_approver_id end
             where id = $1`,
            [byStatus[from], to],
          );
          expect({ from, to, rowCount }).toEqual({ from, to, rowCount: 1 });
        } finally {
          await client.query("rollback");
          client.release();
        }
      }
    }
  });

  test("an application starts as a draft: an INSERT in any other status is refused", async () => {
    const applicant = await createApplicant(kit);
    for (const status of KYC_STATUSES.filter((s) => s !== "draft")) {
      const error = await refusal(
        "insert into kyc_applications (user_id, status, decided_at, expires_at) values ($1, $2, now(), now())",
        [applicant.id, status],
      );
      expect({ status, code: error.code, message: error.message }).toEqual({
        status,
        code: "23514",
        message: `a KYC application starts as a draft, not ${status}`,
      });
    }
    const [row] = await db.select().from(kycApplications).where(eq(kycApplications.userId, applicant.id));
    expect(row).toBeUndefined();
    // A status outside the list is refused too (by the trigger first, the CHECK behind it).
    expect((await refusal("update kyc_applications set status = 'lost' where id = $1", [byStatus.draft])).code).toBe(
      "23514",
    );
  });

  test("an application never changes owner", async () => {
    const someoneElse = await createApplicant(kit);
    const before = await snapshot(byStatus.approved);
    const error = await refusal("update kyc_applications set user_id = $2 where id = $1", [
      byStatus.approved,
      someoneElse.id,
    ]);
    expect(error).toMatchObject({ code: "23514", message: "a KYC application cannot change owner" });
    expect(await snapshot(byStatus.approved)).toEqual(before);
  });

  test("every update bumps the version and updated_at, even one that tries to set them", async () => {
    const id = byStatus.draft;
    const [before] = await db.select().from(kycApplications).where(eq(kycApplications.id, id));
    await pool.query(
      "update kyc_applications set first_name = 'Grace', version = 1, updated_at = '2000-01-01' where id = $1",
      [id],
    );
    const [after] = await db.select().from(kycApplications).where(eq(kycApplications.id, id));
    expect(after?.version).toBe((before?.version ?? 0) + 1);
    expect(after?.updatedAt.getTime()).toBeGreaterThan(before?.updatedAt.getTime() ?? 0);
    expect(after?.firstName).toBe("Grace");
  });
});

describe("audit trail in the database", () => {
  test("status history: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const id = byStatus.revoked;
    const before = await db.select().from(kycStatusHistory).where(eq(kycStatusHistory.applicationId, id));
    expect(before.map((h) => h.toStatus)).toEqual(["draft", "submitted", "in_review", "approved", "revoked"]);
    for (const statement of [
      "update kyc_status_history set reason = 'edited' where application_id = $1",
      "update kyc_status_history set to_status = 'approved' where application_id = $1",
      "delete from kyc_status_history where application_id = $1",
    ]) {
      const error = await refusal(statement, [id]);
      expect(error.code).toBe("42501");
      expect(error.message).toContain("kyc_status_history is append-only");
    }
    expect((await refusal("truncate kyc_status_history")).code).toBe("42501");
    expect(await db.select().from(kycStatusHistory).where(eq(kycStatusHistory.applicationId, id))).toEqual(before);
  });

  test("document access log: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const id = byStatus.submitted;
    const [access] = await db
      .insert(kycDocumentAccess)
      .values({ documentId: crypto.randomUUID(), applicationId: id, userId: reviewer.id, ipAddress: "192.0.2.1" })
      .returning();
    for (const statement of [
      "update kyc_document_access set ip_address = '198.51.100.1' where id = $1",
      "update kyc_document_access set user_id = user_id where id = $1",
      "delete from kyc_document_access where id = $1",
    ]) {
      const error = await refusal(statement, [access?.id]);
      expect(error.code).toBe("42501");
      expect(error.message).toContain("kyc_document_access is append-only");
    }
    expect((await refusal("truncate kyc_document_access")).code).toBe("42501");
    const [after] = await db
      .select()
      .from(kycDocumentAccess)
      .where(eq(kycDocumentAccess.id, access?.id ?? 0));
    expect(after).toEqual(access);
  });
});

describe("changeStatus", () => {
  test("refuses an edge outside the graph with CONFLICT before the database sees it (submit included)", async () => {
    for (const from of KYC_STATUSES) {
      const before = await snapshot(byStatus[from]);
      for (const to of KYC_STATUSES.filter((s) => !TRANSITIONS[from].includes(s))) {
        const error = await db
          .transaction(async (tx) => {
            const [row] = await tx.select().from(kycApplications).where(eq(kycApplications.id, byStatus[from]));
            if (!row) throw new Error("fixture row missing");
            return changeStatus(tx, row, to, { actorId: reviewer.id });
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KitError);
        expect({ from, to, code: (error as KitError).code }).toEqual({ from, to, code: "CONFLICT" });
      }
      expect(await snapshot(byStatus[from])).toEqual(before);
    }
  });

  test("a stale read (status or version moved) is a CONFLICT and writes no history", async () => {
    const applicant = await createApplicant(kit);
    const { id, row } = await createDraftApplication(kit, applicant);
    await db.update(kycApplications).set({ firstName: "Changed" }).where(eq(kycApplications.id, id));
    const before = await snapshot(id);
    const error = await db
      .transaction((tx) => changeStatus(tx, row, "submitted", { actorId: applicant.id }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KitError);
    expect((error as KitError).code).toBe("CONFLICT");
    expect((error as KitError).message).toContain("changed while you were acting on it");
    expect(await snapshot(id)).toEqual(before);
    const [{ count } = { count: -1 }] = await db
      .select({ count: sql<number>`count(*)::int` })
      .from(kycStatusHistory)
      .where(eq(kycStatusHistory.applicationId, id));
    expect(count).toBe(1);
  });
});
