// Two-person approval through HTTP: with kycApprovalsRequired = 2 (or a high risk), the first
// approval makes the application approval_pending — nothing told, nothing on chain —; a different
// reviewer (not the applicant, not the first approver) makes it approved. Three reviewers racing
// on the second approval: exactly one wins.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, sql } from "drizzle-orm";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createSubmittedApplication } from "../../../test/kyc";
import { createUser, type TestUser } from "../../../test/users";
import { notificationEvents } from "../notifications/schema";
import { kycApplications, kycStatusHistory } from "./schema";

const kit = await createTestKit();
const { db } = kit.deps;
const [first, second, third, fourth, admin] = await Promise.all([
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "admin"),
]);

const call = (who: TestUser, method: string, path: string, body?: unknown) => callApi(kit.app, who, method, path, body);
const approve = (who: TestUser, id: string, extra: Record<string, unknown> = {}) =>
  call(who, "POST", `/kyc/review/${id}/decision`, { decision: "approve", ...extra });
const setApprovals = (n: number) => call(admin, "PATCH", "/settings/system", { kycApprovalsRequired: n });

function expectError(answer: ApiAnswer, status: number, code: string, message?: string) {
  expect({ status: answer.status, code: answer.body?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  if (message) expect(answer.body.message).toContain(message);
}

async function inReview(by: TestUser = first) {
  const application = await createSubmittedApplication(kit, await createApplicant(kit));
  expect((await call(by, "POST", `/kyc/review/${application.id}/claim`)).status).toBe(200);
  return application.id;
}

const approvedEvents = (id: string) =>
  db
    .select()
    .from(notificationEvents)
    .where(and(eq(notificationEvents.type, "kyc.approved"), sql`${notificationEvents.data}->>'applicationId' = ${id}`));

const historyOf = (id: string) =>
  db.select().from(kycStatusHistory).where(eq(kycStatusHistory.applicationId, id)).orderBy(kycStatusHistory.id);

describe("two approvals required by the system setting", () => {
  beforeAll(async () => {
    expect((await setApprovals(2)).status).toBe(200);
  });
  afterAll(async () => {
    await setApprovals(1);
  });

  test("the first approval waits for a second reviewer; the first approver may not give it", async () => {
    const id = await inReview();
    const pending = await approve(first, id, { internalNote: "Documents consistent" });
    expect(pending.status, JSON.stringify(pending.body)).toBe(200);
    expect(pending.body).toMatchObject({ status: "approval_pending", expiresAt: null, decidedAt: null });
    // Nothing told, nothing on chain yet.
    expect(await approvedEvents(id)).toEqual([]);
    const detail = await call(second, "GET", `/kyc/review/${id}`);
    expect(detail.body.approval).toMatchObject({ required: 2, firstApproverId: first.id });
    expectError(await approve(first, id), 403, "FORBIDDEN", "a different reviewer must give the second");
    expectError(await approve(admin, id, { version: 1 }), 409, "CONFLICT", "version");

    const approved = await approve(second, id, { internalNote: "Second look: agree" });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.status).toBe("approved");
    expect(approved.body.expiresAt).toBeString();
    expect((await approvedEvents(id)).map((e) => e.recipients.length)).toEqual([1]);
    expect((await historyOf(id)).slice(-2).map((h) => [h.fromStatus, h.toStatus, h.actorId])).toEqual([
      ["in_review", "approval_pending", first.id],
      ["approval_pending", "approved", second.id],
    ]);
  });

  test("the open queue lists applications awaiting a second approval", async () => {
    const id = await inReview();
    await approve(first, id);
    const queue = await call(second, "GET", "/kyc/review?limit=100");
    expect(queue.body.items.find((item: { id: string }) => item.id === id)?.status).toBe("approval_pending");
  });

  test("three reviewers giving the second approval at once: exactly one wins", async () => {
    for (let round = 0; round < 3; round++) {
      const id = await inReview();
      expect((await approve(first, id)).body.status).toBe("approval_pending");
      const answers = await Promise.all([approve(second, id), approve(third, id), approve(fourth, id)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
      for (const lost of answers.filter((a) => a.status === 409)) expect(lost.body.message).toContain("approved");
      const finals = (await historyOf(id)).filter((h) => h.toStatus === "approved");
      expect(finals).toHaveLength(1);
      const winner = answers.findIndex((a) => a.status === 200);
      expect(finals[0]?.actorId).toBe([second, third, fourth][winner]?.id);
      expect(await approvedEvents(id)).toHaveLength(1);
    }
  });

  test("the second reviewer may reject instead", async () => {
    const id = await inReview();
    await approve(first, id);
    const rejected = await call(second, "POST", `/kyc/review/${id}/decision`, {
      decision: "reject",
      internalNote: "Address does not exist",
      labels: ["data_mismatch"],
    });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body.status).toBe("rejected");
    expect(await approvedEvents(id)).toEqual([]);
  });
});

describe("a high risk always needs two approvals", () => {
  test("with the setting at 1, a high-risk approval waits for a second reviewer; a low-risk one does not", async () => {
    const high = await inReview();
    expect((await call(first, "POST", `/kyc/review/${high}/risk`, { level: "high", reason: "PEP" })).status).toBe(200);
    expect((await approve(first, high)).body.status).toBe("approval_pending");
    expect((await approve(second, high)).body.status).toBe("approved");

    const low = await inReview();
    expect((await call(first, "POST", `/kyc/review/${low}/risk`, { level: "low", reason: "Salary" })).status).toBe(200);
    expect((await approve(first, low)).body.status).toBe("approved");
    const [row] = await db.select().from(kycApplications).where(eq(kycApplications.id, low));
    expect(row?.approvalsRequired).toBe(1);
  });

  test("the setting takes 1 or 2 only", async () => {
    expect((await setApprovals(3)).status).toBe(400);
    expect((await setApprovals(0)).status).toBe(400);
  });
});
