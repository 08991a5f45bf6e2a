// Rejection labels and final vs. retry, through HTTP: labels from the fixed list (required to
// reject, never shown to the applicant); a retry rejection lets the applicant start again, a final
// one refuses new applications until an admin lifts the block with a reason (audited).
import { describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createSubmittedApplication } from "../../../test/kyc";
import { createUser, type TestUser } from "../../../test/users";
import { auditEvents } from "../audit/schema";
import { kycStatusHistory } from "./schema";

const kit = await createTestKit();
const [reviewer, admin] = await Promise.all([createUser(kit, "kyc_reviewer"), createUser(kit, "admin")]);

const call = (who: TestUser, method: string, path: string, body?: unknown) => callApi(kit.app, who, method, path, body);

function expectError(answer: ApiAnswer, status: number, code: string, message?: string) {
  expect({ status: answer.status, code: answer.body?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  if (message) expect(answer.body.message).toContain(message);
}

/** An applicant (who can sign in) with an application claimed by `reviewer`. */
async function inReview() {
  const applicant = await createUser(kit, "investor");
  const application = await createSubmittedApplication(kit, applicant);
  expect((await call(reviewer, "POST", `/kyc/review/${application.id}/claim`)).status).toBe(200);
  return { applicant, id: application.id };
}

const decide = (id: string, body: Record<string, unknown>) =>
  call(reviewer, "POST", `/kyc/review/${id}/decision`, { internalNote: "checked", ...body });

describe("rejection labels", () => {
  test("required to reject, from the fixed list, each once; none on an approval; final only on a rejection", async () => {
    const { id } = await inReview();
    expectError(await decide(id, { decision: "reject" }), 400, "BAD_REQUEST", "at least one label is required");
    expectError(await decide(id, { decision: "reject", labels: [] }), 400, "BAD_REQUEST", "at least one label");
    expectError(await decide(id, { decision: "reject", labels: ["bad_vibes"] }), 400, "BAD_REQUEST", "expected one of");
    const twice = await decide(id, { decision: "reject", labels: ["underage", "underage"] });
    expectError(twice, 400, "BAD_REQUEST", "list each label once");
    expectError(await decide(id, { decision: "approve", labels: ["other"] }), 400, "BAD_REQUEST", "no labels");
    const finalChanges = await decide(id, { decision: "request_changes", messageToApplicant: "m", final: true });
    expectError(finalChanges, 400, "BAD_REQUEST", "rejection only");
  });

  test("labels and final are on record for reviewers, and the applicant sees neither", async () => {
    const { applicant, id } = await inReview();
    const rejected = await decide(id, {
      decision: "reject",
      labels: ["sanctions_pep_match", "data_mismatch"],
      final: true,
      internalNote: "PEP: close associate of a listed person",
    });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    const detail = await call(reviewer, "GET", `/kyc/review/${id}`);
    expect(detail.body.decision).toMatchObject({
      labels: ["sanctions_pep_match", "data_mismatch"],
      final: true,
      blockLifted: null,
    });
    expect(detail.body.history.at(-1)).toMatchObject({
      toStatus: "rejected",
      labels: ["sanctions_pep_match", "data_mismatch"],
      final: true,
    });
    const own = await call(applicant, "GET", "/kyc/application");
    expect(own.body.status).toBe("rejected");
    expect(JSON.stringify(own.body)).not.toContain("sanctions_pep_match");
    expect(JSON.stringify(rejected.body)).not.toContain("sanctions_pep_match");
  });
});

describe("final vs. retry", () => {
  test("after a retry rejection (the default) the applicant starts a new application", async () => {
    const { applicant, id } = await inReview();
    expect((await decide(id, { decision: "reject", labels: ["document_expired"] })).status).toBe(200);
    const [last] = await kit.deps.db
      .select({ final: kycStatusHistory.final })
      .from(kycStatusHistory)
      .where(and(eq(kycStatusHistory.applicationId, id), eq(kycStatusHistory.toStatus, "rejected")));
    expect(last?.final).toBe(false);
    const fresh = await call(applicant, "PUT", "/kyc/application", { firstName: "Ada" });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(fresh.body.id).not.toBe(id);
    // Nothing to lift on a retry rejection.
    const lift = await call(admin, "POST", `/kyc/review/${id}/lift-block`, { reason: "x" });
    expectError(lift, 409, "CONFLICT", "not rejected as final");
  });

  test("a final rejection blocks new applications until an admin lifts it with a reason, once, audited", async () => {
    const { applicant, id } = await inReview();
    expect((await decide(id, { decision: "reject", labels: ["suspected_fraud"], final: true })).status).toBe(200);
    expectError(
      await call(applicant, "PUT", "/kyc/application", { firstName: "Ada" }),
      403,
      "FORBIDDEN",
      "contact support",
    );
    expect((await call(applicant, "GET", "/kyc/application")).body.id).toBe(id);

    // Reviewers may not lift it; a reason is required; then an admin lifts it.
    expect((await call(reviewer, "POST", `/kyc/review/${id}/lift-block`, { reason: "x" })).status).toBe(403);
    expectError(await call(admin, "POST", `/kyc/review/${id}/lift-block`, {}), 400, "BAD_REQUEST");
    const lifted = await call(admin, "POST", `/kyc/review/${id}/lift-block`, {
      reason: "Fraud suspicion cleared by the compliance officer",
    });
    expect(lifted.status, JSON.stringify(lifted.body)).toBe(200);
    expect(lifted.body.decision.blockLifted).toMatchObject({
      by: admin.id,
      reason: "Fraud suspicion cleared by the compliance officer",
    });
    const audit = await kit.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "kyc.rejection_block_lifted"), eq(auditEvents.subjectId, id)));
    expect(audit.map((e) => [e.actorId, e.subjectType, e.after])).toEqual([
      [admin.id, "kyc_application", { blockLifted: true }],
    ]);
    expectError(
      await call(admin, "POST", `/kyc/review/${id}/lift-block`, { reason: "again" }),
      409,
      "CONFLICT",
      "already lifted",
    );

    const fresh = await call(applicant, "PUT", "/kyc/application", { firstName: "Ada" });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(fresh.body.id).not.toBe(id);
  });

  test("an unknown or draft application is NOT_FOUND; nobody lifts the block on their own", async () => {
    expectError(
      await call(admin, "POST", `/kyc/review/${crypto.randomUUID()}/lift-block`, { reason: "x" }),
      404,
      "NOT_FOUND",
    );
    const application = await createSubmittedApplication(kit, admin);
    expectError(
      await call(admin, "POST", `/kyc/review/${application.id}/lift-block`, { reason: "x" }),
      403,
      "FORBIDDEN",
      "your own",
    );
  });
});
