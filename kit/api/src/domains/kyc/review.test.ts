// The reviewer workflow through HTTP: reading, claiming, deciding, revoking, document downloads,
// the queue; the four-eyes rule; concurrent reviewers; and the expiry job.
import { beforeAll, describe, expect, test } from "bun:test";
import { and, desc, eq, sql } from "drizzle-orm";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import {
  createApplicant,
  createDraftApplication,
  createSubmittedApplication,
  moveApplication,
} from "../../../test/kyc";
import { createUser, type TestUser } from "../../../test/users";
import { KitError } from "../../errors";
import { consumeRateLimit } from "../../infra/rate-limiter";
import { KYC_STATUSES, type KycStatus } from "./contract-values";
import { changeStatus } from "./lifecycle";
import { expireApprovals, inStatusTransaction } from "./review";
import { kycApplications, kycDocumentAccess, kycDocuments, kycStatusHistory } from "./schema";

const kit = await createTestKit({ env: { TRUST_PROXY_HOPS: "1" } });
const { db } = kit.deps;
// Sign-ins are limited to 10 a minute per address: only users who call get a session;
// applicants who never call are plain rows (createApplicant).
const [reviewer, otherReviewer, admin, investor] = await Promise.all([
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "admin"),
  createUser(kit, "investor"),
]);

type Answer = ApiAnswer;

function call(
  who: TestUser | undefined,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<Answer> {
  return callApi(kit.app, who, method, path, body, extraHeaders);
}

const review = (who: TestUser, id: string) => call(who, "GET", `/kyc/review/${id}`);
const claim = (who: TestUser, id: string) => call(who, "POST", `/kyc/review/${id}/claim`);
const decide = (who: TestUser, id: string, body: { decision: string; [field: string]: unknown }) =>
  call(who, "POST", `/kyc/review/${id}/decision`, body);
const revoke = (who: TestUser, id: string, reason = "sanctions list match") =>
  call(who, "POST", `/kyc/review/${id}/revoke`, { reason });
const documentUrl = (who: TestUser, documentId: string, headers?: Record<string, string>) =>
  call(who, "GET", `/kyc/review/documents/${documentId}/url`, undefined, headers);

async function row(id: string) {
  const [found] = await db.select().from(kycApplications).where(eq(kycApplications.id, id));
  if (!found) throw new Error(`no application ${id}`);
  return found;
}

async function history(id: string) {
  return db.select().from(kycStatusHistory).where(eq(kycStatusHistory.applicationId, id)).orderBy(kycStatusHistory.id);
}

/** The application and its history, to show an action changed nothing. */
async function snapshot(id: string) {
  return { row: await row(id), history: await history(id) };
}

function expectError(answer: Answer, status: number, code: string, message?: string) {
  expect({ status: answer.status, code: answer.body.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  if (message) expect(answer.body.message).toContain(message);
}

async function submitted(overrides: Parameters<typeof createSubmittedApplication>[2] = {}) {
  return createSubmittedApplication(kit, await createApplicant(kit), overrides);
}

async function inReview(by: TestUser = reviewer) {
  const app = await submitted();
  expect((await claim(by, app.id)).status).toBe(200);
  return app;
}

/** What each decision needs besides the internal note. */
const TEXTS: Record<string, Record<string, unknown>> = {
  approve: {},
  reject: { labels: ["other"] },
  request_changes: { messageToApplicant: "Please change something." },
};

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe("reading an application", () => {
  test("a submitted application with its applicant, decrypted personal data, documents and history", async () => {
    const applicant = await createApplicant(kit, "Ada Lovelace");
    const app = await createSubmittedApplication(kit, applicant, {
      nationalIdNumber: "X-99",
      dateOfBirth: "1990-02-03",
    });
    const answer = await review(reviewer, app.id);
    expect(answer.status).toBe(200);
    expect(answer.body.applicant).toEqual({ id: applicant.id, name: "Ada Lovelace", email: applicant.email });
    expect(answer.body.reviewerId).toBeNull();
    expect(answer.body.application).toMatchObject({
      id: app.id,
      status: "submitted",
      version: app.row.version,
      missing: [],
    });
    expect(answer.body.application.personalData).toMatchObject({ nationalIdNumber: "X-99", dateOfBirth: "1990-02-03" });
    expect(answer.body.documents.map((d: { id: string; status: string }) => [d.id, d.status])).toEqual(
      app.documents.map((d) => [d.id, "confirmed"]),
    );
    expect(answer.body.history.map((h: { toStatus: string }) => h.toStatus)).toEqual(["draft", "submitted"]);
    expect(answer.body.history[1]).toMatchObject({ fromStatus: "draft", actorId: applicant.id, reason: null });
  });

  test("a document being deleted is left out", async () => {
    const app = await submitted();
    const [gone, kept] = app.documents;
    await db
      .update(kycDocuments)
      .set({ deletingAt: new Date() })
      .where(eq(kycDocuments.id, gone?.id ?? ""));
    const answer = await review(reviewer, app.id);
    expect(answer.body.documents.map((d: { id: string }) => d.id)).toEqual([kept?.id]);
    expectError(await documentUrl(reviewer, gone?.id ?? ""), 404, "NOT_FOUND");
  });

  test("drafts and unknown ids are NOT_FOUND alike; investors are FORBIDDEN; a malformed id is a 400", async () => {
    const draft = await createDraftApplication(kit, await createApplicant(kit));
    const unknown = crypto.randomUUID();
    const forDraft = await review(reviewer, draft.id);
    const forUnknown = await review(reviewer, unknown);
    expectError(forDraft, 404, "NOT_FOUND");
    expectError(forUnknown, 404, "NOT_FOUND");
    expect(forDraft.body.message.replace(draft.id, "")).toBe(forUnknown.body.message.replace(unknown, ""));
    expectError(await documentUrl(reviewer, draft.documents[0]?.id ?? ""), 404, "NOT_FOUND");
    expectError(await claim(reviewer, draft.id), 404, "NOT_FOUND");

    const app = await submitted();
    expectError(await review(investor, app.id), 403, "FORBIDDEN");
    expectError(await claim(investor, app.id), 403, "FORBIDDEN");
    expectError(await decide(investor, app.id, { decision: "approve" }), 403, "FORBIDDEN");
    expectError(await documentUrl(investor, app.documents[0]?.id ?? ""), 403, "FORBIDDEN");
    expectError(await review(reviewer, "not-a-uuid"), 400, "BAD_REQUEST");
    expect((await call(undefined, "GET", `/kyc/review/${app.id}`)).status).toBe(401);
  });
});

describe("claiming", () => {
  test("submitted → in_review, assigned to the caller; claiming again is a no-op; others get CONFLICT", async () => {
    const app = await submitted();
    const claimed = await claim(reviewer, app.id);
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ id: app.id, status: "in_review", version: app.row.version + 1 });
    const after = await row(app.id);
    expect(after.reviewerId).toBe(reviewer.id);
    expect(after.claimedAt?.getTime()).toBeGreaterThan(Date.now() - MINUTE);
    expect((await history(app.id)).at(-1)).toMatchObject({
      fromStatus: "submitted",
      toStatus: "in_review",
      actorId: reviewer.id,
    });

    const before = await snapshot(app.id);
    const again = await claim(reviewer, app.id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(claimed.body);
    expectError(await claim(otherReviewer, app.id), 409, "CONFLICT", "already claimed by another reviewer");
    expectError(await claim(admin, app.id), 409, "CONFLICT", "already claimed by another reviewer");
    expect(await snapshot(app.id)).toEqual(before);
    expect((await review(otherReviewer, app.id)).body.reviewerId).toBe(reviewer.id);
  });

  test("two reviewers claiming at once: exactly one wins", async () => {
    for (let round = 0; round < 5; round++) {
      const app = await submitted();
      const answers = await Promise.all([claim(reviewer, app.id), claim(otherReviewer, app.id)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const winner = answers[0]?.status === 200 ? reviewer : otherReviewer;
      const loser = answers.find((a) => a.status === 409);
      expect(loser?.body.message).toContain("already claimed by another reviewer");
      expect((await row(app.id)).reviewerId).toBe(winner.id);
      expect((await history(app.id)).filter((h) => h.toStatus === "in_review")).toHaveLength(1);
    }
  });
});

describe("deciding", () => {
  test("approve: expires after the kycValidityDays system setting; the decision is on record", async () => {
    const changed = await call(admin, "PATCH", "/settings/system", { kycValidityDays: 30 });
    expect(changed.status).toBe(200);
    try {
      const app = await inReview();
      const started = Date.now();
      const approved = await decide(reviewer, app.id, { decision: "approve" });
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      expect(approved.body).toMatchObject({ status: "approved", decisionReason: null });
      const expiresAt = Date.parse(approved.body.expiresAt);
      const decidedAt = Date.parse(approved.body.decidedAt);
      expect(decidedAt).toBeGreaterThanOrEqual(started - 1_000);
      expect(expiresAt - decidedAt).toBe(30 * DAY);
      expect((await history(app.id)).at(-1)).toMatchObject({
        fromStatus: "in_review",
        toStatus: "approved",
        actorId: reviewer.id,
        reason: null,
      });
    } finally {
      await call(admin, "PATCH", "/settings/system", { kycValidityDays: 365 });
    }
    const app = await inReview();
    const approved = await decide(reviewer, app.id, {
      decision: "approve",
      internalNote: "all documents consistent",
      messageToApplicant: "Welcome aboard",
    });
    expect(Date.parse(approved.body.expiresAt) - Date.parse(approved.body.decidedAt)).toBe(365 * DAY);
    expect(approved.body).toMatchObject({ messageToApplicant: "Welcome aboard", decisionReason: "Welcome aboard" });
  });

  test("reject needs an internal note, request changes also a message; the applicant's answer has the message only", async () => {
    const app = await inReview();
    const noReason = await decide(reviewer, app.id, { decision: "reject" });
    expectError(noReason, 400, "BAD_REQUEST", "an internal note is required to reject");
    const both = await decide(reviewer, app.id, { decision: "reject", reason: "a", internalNote: "b" });
    expectError(both, 400, "BAD_REQUEST", "send internalNote only");
    // The older `reason` is the internal note: it no longer reaches the applicant.
    const rejected = await decide(reviewer, app.id, {
      decision: "reject",
      reason: "document forged",
      labels: ["suspected_fraud"],
    });
    expect(rejected.body).toMatchObject({ status: "rejected", decisionReason: null, messageToApplicant: null });
    expect(JSON.stringify(rejected.body)).not.toContain("document forged");
    expect((await history(app.id)).at(-1)).toMatchObject({
      toStatus: "rejected",
      reason: "document forged",
      messageToApplicant: null,
    });
    const detail = await review(reviewer, app.id);
    expect(detail.body.decision).toMatchObject({ internalNote: "document forged", messageToApplicant: null });
    expect(detail.body.history.at(-1)).toMatchObject({ internalNote: "document forged", reason: "document forged" });

    const other = await inReview();
    const noMessage = await decide(reviewer, other.id, { decision: "request_changes", internalNote: "blurred" });
    expectError(noMessage, 400, "BAD_REQUEST", "a message to the applicant is required to request changes");
    const changes = await decide(reviewer, other.id, {
      decision: "request_changes",
      internalNote: "face not visible: possible mask",
      messageToApplicant: "Your passport photo is blurred; please upload a sharper one.",
    });
    expect(changes.status).toBe(200);
    // Editable again: the applicant sees what is missing, nothing is missing yet.
    expect(changes.body).toMatchObject({
      status: "changes_requested",
      messageToApplicant: "Your passport photo is blurred; please upload a sharper one.",
      missing: [],
    });
    expect(JSON.stringify(changes.body)).not.toContain("possible mask");
  });

  test("request changes: the applicant can edit and resubmit", async () => {
    const applicant = await createUser(kit, "investor");
    const app = await createSubmittedApplication(kit, applicant);
    await claim(reviewer, app.id);
    await decide(reviewer, app.id, {
      decision: "request_changes",
      internalNote: "utility bill older than 3 months",
      messageToApplicant: "address is outdated",
    });
    const own = await call(applicant, "GET", "/kyc/application");
    expect(own.body).toMatchObject({
      id: app.id,
      status: "changes_requested",
      messageToApplicant: "address is outdated",
    });
    const saved = await call(applicant, "PUT", "/kyc/application", {
      ...own.body.personalData,
      address: { line1: "2 rue de Rivoli", city: "Paris", postalCode: "75004", country: "FR" },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.personalData.address.line1).toBe("2 rue de Rivoli");
    const resubmitted = await call(applicant, "POST", "/kyc/application/submit", {});
    expect(resubmitted.status, JSON.stringify(resubmitted.body)).toBe(200);
    expect(resubmitted.body.status).toBe("submitted");
    // Back in the queue: another reviewer may take it this time.
    expect((await claim(otherReviewer, app.id)).status).toBe(200);
  });

  test("only the assigned reviewer decides, or an admin (recorded as the actor)", async () => {
    const app = await inReview(reviewer);
    const before = await snapshot(app.id);
    expectError(
      await decide(otherReviewer, app.id, { decision: "approve" }),
      403,
      "FORBIDDEN",
      "claimed by another reviewer",
    );
    expect(await snapshot(app.id)).toEqual(before);
    const overridden = await decide(admin, app.id, {
      decision: "reject",
      reason: "supervisor: sanctions hit",
      labels: ["sanctions_pep_match"],
    });
    expect(overridden.status).toBe(200);
    expect((await history(app.id)).at(-1)).toMatchObject({ toStatus: "rejected", actorId: admin.id });

    const unclaimed = await submitted();
    expectError(await decide(reviewer, unclaimed.id, { decision: "approve" }), 409, "CONFLICT", "claim it first");
    expectError(await decide(admin, unclaimed.id, { decision: "approve" }), 409, "CONFLICT", "claim it first");
  });

  test("a decision based on a stale version is a CONFLICT; the current version is accepted", async () => {
    const app = await inReview();
    const { version } = await row(app.id);
    const before = await snapshot(app.id);
    expectError(
      await decide(reviewer, app.id, { decision: "approve", version: version - 1 }),
      409,
      "CONFLICT",
      `is at version ${version}`,
    );
    expect(await snapshot(app.id)).toEqual(before);
    expect((await decide(reviewer, app.id, { decision: "approve", version })).status).toBe(200);
  });

  test("concurrent decisions: exactly one wins, the other gets CONFLICT; history has one row for it", async () => {
    const pairs: [TestUser, string, TestUser, string][] = [
      [reviewer, "approve", admin, "reject"],
      [reviewer, "reject", reviewer, "approve"],
      [reviewer, "request_changes", admin, "approve"],
      [reviewer, "approve", reviewer, "approve"],
    ];
    for (const [first, firstDecision, second, secondDecision] of pairs) {
      for (let round = 0; round < 3; round++) {
        const app = await inReview(reviewer);
        const answers = await Promise.all([
          decide(first, app.id, { decision: firstDecision, ...TEXTS[firstDecision], reason: "first" }),
          decide(second, app.id, { decision: secondDecision, ...TEXTS[secondDecision], reason: "second" }),
        ]);
        expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
        const won = answers.find((a) => a.status === 200);
        expect((await row(app.id)).status).toBe(won?.body.status);
        const decisions = (await history(app.id)).filter((h) => h.fromStatus === "in_review");
        expect(decisions).toHaveLength(1);
        expect(decisions[0]?.toStatus).toBe(won?.body.status);
      }
    }
  });
});

describe("after commit", () => {
  test("a status change the database refuses (check_violation) is a CONFLICT, not a 500", async () => {
    const { id } = await createDraftApplication(kit, await createApplicant(kit));
    const error = await inStatusTransaction(kit.deps, (tx) =>
      tx.execute(sql`update kyc_applications set status = 'approved' where id = ${id}`),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KitError);
    expect((error as KitError).code).toBe("CONFLICT");
    expect((await row(id)).status).toBe("draft");
  });
});

describe("revoking", () => {
  test("approved → revoked with the reason; anything else is a CONFLICT", async () => {
    const app = await inReview();
    expectError(await revoke(otherReviewer, app.id), 409, "CONFLICT", "only an approved application can be revoked");
    await decide(reviewer, app.id, { decision: "approve" });
    // Any reviewer with the decide permission may revoke, not only the one who approved.
    const revoked = await revoke(otherReviewer, app.id, "forged utility bill found");
    expect(revoked.status).toBe(200);
    // The older `reason` is the internal note: the applicant's answer does not carry it.
    expect(revoked.body).toMatchObject({ status: "revoked", decisionReason: null, messageToApplicant: null });
    expect((await history(app.id)).at(-1)).toMatchObject({
      fromStatus: "approved",
      toStatus: "revoked",
      actorId: otherReviewer.id,
      reason: "forged utility bill found",
    });
    expectError(await revoke(otherReviewer, app.id), 409, "CONFLICT", "is revoked");
    expectError(await call(otherReviewer, "POST", `/kyc/review/${app.id}/revoke`, {}), 400, "BAD_REQUEST");
  });
});

describe("every illegal transition is refused", () => {
  type Action = "claim" | "approve" | "reject" | "request_changes" | "revoke";
  const ACTIONS: Record<Action, { to: KycStatus; run: (id: string) => Promise<Answer> }> = {
    claim: { to: "in_review", run: (id) => claim(otherReviewer, id) },
    approve: { to: "approved", run: (id) => decide(reviewer, id, { decision: "approve" }) },
    reject: {
      to: "rejected",
      run: (id) => decide(reviewer, id, { decision: "reject", reason: "r", labels: ["other"] }),
    },
    request_changes: {
      to: "changes_requested",
      run: (id) => decide(reviewer, id, { decision: "request_changes", reason: "r", messageToApplicant: "m" }),
    },
    revoke: { to: "revoked", run: (id) => revoke(reviewer, id) },
  };
  // A decision is also an edge from approval_pending (the second of two approvals: two-person.test.ts).
  const EDGES: Record<Action, KycStatus[]> = {
    claim: ["submitted"],
    approve: ["in_review", "approval_pending"],
    reject: ["in_review", "approval_pending"],
    request_changes: ["in_review", "approval_pending"],
    revoke: ["approved"],
  };

  test("for each status, each reviewer action that is not an edge: CONFLICT (drafts: NOT_FOUND), nothing changed", async () => {
    let refused = 0;
    for (const status of KYC_STATUSES) {
      for (const [action, { run }] of Object.entries(ACTIONS) as [Action, (typeof ACTIONS)[Action]][]) {
        if (EDGES[action].includes(status)) continue;
        const { id } = await createDraftApplication(kit, await createApplicant(kit));
        await moveApplication(kit, id, status, { actorId: reviewer.id, reviewerId: reviewer.id });
        const before = await snapshot(id);
        const answer = await run(id);
        // Drafts are the applicant's alone: to a reviewer they do not exist.
        if (status === "draft") expectError(answer, 404, "NOT_FOUND");
        else expectError(answer, 409, "CONFLICT");
        expect({ status, action, same: Bun.deepEquals(await snapshot(id), before) }).toEqual({
          status,
          action,
          same: true,
        });
        refused += 1;
      }
    }
    expect(refused).toBe(KYC_STATUSES.length * 5 - 8);
  });

  test("submit from a status other than draft or changes requested is refused (CONFLICT), nothing changed", async () => {
    for (const status of KYC_STATUSES.filter((s) => s !== "draft" && s !== "changes_requested")) {
      const { id } = await createDraftApplication(kit, await createApplicant(kit));
      await moveApplication(kit, id, status, { actorId: reviewer.id, reviewerId: reviewer.id });
      const before = await snapshot(id);
      const error = await db
        .transaction(async (tx) => changeStatus(tx, await row(id), "submitted", { actorId: null }))
        .catch((e: unknown) => e as { code?: string });
      expect({ status, code: (error as { code?: string }).code }).toEqual({ status, code: "CONFLICT" });
      expect(await snapshot(id)).toEqual(before);
    }
  });
});

describe("four eyes", () => {
  test("a reviewer never reads, claims, decides, revokes or downloads their own application; another can", async () => {
    const self = await createUser(kit, "kyc_reviewer");
    const own = await createSubmittedApplication(kit, self);
    const before = await snapshot(own.id);
    for (const answer of [
      await review(self, own.id),
      await claim(self, own.id),
      await decide(self, own.id, { decision: "approve" }),
      await revoke(self, own.id),
      await documentUrl(self, own.documents[0]?.id ?? ""),
    ]) {
      expectError(answer, 403, "FORBIDDEN", "your own KYC application");
    }
    expect(await snapshot(own.id)).toEqual(before);

    expect((await review(otherReviewer, own.id)).status).toBe(200);
    expect((await documentUrl(otherReviewer, own.documents[0]?.id ?? "")).status).toBe(200);
    expect((await claim(otherReviewer, own.id)).status).toBe(200);
    // Even in review by someone else, the owner cannot decide it.
    expectError(await decide(self, own.id, { decision: "approve" }), 403, "FORBIDDEN", "your own");
    expect((await decide(otherReviewer, own.id, { decision: "approve" })).status).toBe(200);
    expectError(await revoke(self, own.id), 403, "FORBIDDEN", "your own");
  });

  test("an admin's supervisor override does not reach their own application", async () => {
    const app = await createSubmittedApplication(kit, admin);
    await claim(reviewer, app.id);
    expectError(await decide(admin, app.id, { decision: "approve" }), 403, "FORBIDDEN", "your own");
    expect((await row(app.id)).status).toBe("in_review");
  });
});

describe("documents", () => {
  test("a download URL is logged with the reviewer and address, and serves the bytes as an attachment", async () => {
    const app = await submitted();
    const document = app.documents[0];
    if (!document) throw new Error("fixture has no document");
    const answer = await documentUrl(otherReviewer, document.id, {
      "x-forwarded-for": "203.0.113.7",
      "user-agent": "review-test",
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(Date.parse(answer.body.expiresAt) - Date.now()).toBeGreaterThan(14 * MINUTE);
    expect(Date.parse(answer.body.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * MINUTE);
    const access = await db
      .select()
      .from(kycDocumentAccess)
      .where(and(eq(kycDocumentAccess.documentId, document.id), eq(kycDocumentAccess.userId, otherReviewer.id)));
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ applicationId: app.id, ipAddress: "203.0.113.7", userAgent: "review-test" });

    const url = new URL(answer.body.url);
    expect(url.pathname.startsWith("/api/kyc/document-downloads/")).toBe(true);
    const download = await kit.request(url.pathname);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(new Uint8Array(app.bytes.get(document.id) ?? []));
    expect(download.headers.get("content-disposition")).toContain("attachment");
  });

  test("an unconfirmed document is PRECONDITION_FAILED; an unknown one NOT_FOUND", async () => {
    const app = await submitted();
    const document = app.documents[1];
    await db
      .update(kycDocuments)
      .set({ confirmedAt: null })
      .where(eq(kycDocuments.id, document?.id ?? ""));
    expectError(await documentUrl(reviewer, document?.id ?? ""), 412, "PRECONDITION_FAILED", "never confirmed");
    expectError(await documentUrl(reviewer, crypto.randomUUID()), 404, "NOT_FOUND");
    const logged = await db
      .select()
      .from(kycDocumentAccess)
      .where(eq(kycDocumentAccess.applicationId, app.id))
      .orderBy(desc(kycDocumentAccess.id));
    expect(logged).toEqual([]);
  });
});

describe("application views", () => {
  const views = (applicationId: string) =>
    db
      .select()
      .from(kycDocumentAccess)
      .where(and(eq(kycDocumentAccess.applicationId, applicationId), eq(kycDocumentAccess.kind, "application_view")))
      .orderBy(kycDocumentAccess.id);
  const from = { "x-forwarded-for": "203.0.113.9", "user-agent": "review-console/2" };

  test("each reviewer read of an application is logged: who, which application, when, from where", async () => {
    const app = await submitted();
    const before = new Date();
    const viewed = await call(otherReviewer, "GET", `/kyc/review/${app.id}`, undefined, from);
    expect(viewed.status, JSON.stringify(viewed.body)).toBe(200);
    expect(viewed.body.application.personalData.nationalIdNumber).toBe("AB 123456");
    const [view, ...more] = await views(app.id);
    expect(more).toEqual([]);
    expect(view).toMatchObject({
      kind: "application_view",
      applicationId: app.id,
      documentId: null,
      userId: otherReviewer.id,
      ipAddress: "203.0.113.9",
      userAgent: "review-console/2",
    });
    expect(view?.at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);

    // Every answer that carries the decrypted record counts: claiming (again), deciding.
    expect((await call(reviewer, "POST", `/kyc/review/${app.id}/claim`, undefined, from)).status).toBe(200);
    expect((await claim(reviewer, app.id)).status).toBe(200);
    expect((await decide(reviewer, app.id, { decision: "approve" })).status).toBe(200);
    expect((await views(app.id)).map((v) => v.userId)).toEqual([
      otherReviewer.id,
      reviewer.id,
      reviewer.id,
      reviewer.id,
    ]);
  });

  test("a refused read is not logged: a draft, one's own application, a refused change", async () => {
    const draft = await createDraftApplication(kit, await createApplicant(kit));
    expectError(await review(reviewer, draft.id), 404, "NOT_FOUND");
    const self = await createUser(kit, "kyc_reviewer");
    const own = await createSubmittedApplication(kit, self);
    expectError(await review(self, own.id), 403, "FORBIDDEN");
    const app = await submitted();
    expectError(await decide(reviewer, app.id, { decision: "approve" }), 409, "CONFLICT");
    for (const id of [draft.id, own.id, app.id]) expect(await views(id)).toEqual([]);
  });

  test("one reviewer reads at most 120 applications a minute (get and claim together); refusals are counted by rule", async () => {
    const rule = kit.deps.rateLimitRules["kyc.application-reads"];
    expect(rule).toMatchObject({ limit: 120, windowSeconds: 60 });
    const reader = await createUser(kit, "kyc_reviewer");
    const app = await submitted();
    const first = await kit.request(`/api/kyc/review/${app.id}`, { headers: { cookie: reader.cookie } });
    expect(first.status).toBe(200);
    expect([first.headers.get("ratelimit-limit"), first.headers.get("ratelimit-remaining")]).toEqual(["120", "119"]);
    // The rest of this minute's budget, spent as 119 more reads would spend it.
    for (let i = 1; i < rule.limit; i++) await consumeRateLimit(kit.deps.redis, rule, `user:${reader.id}`);

    expectError(await review(reader, app.id), 429, "TOO_MANY_REQUESTS", "retry in");
    expectError(await claim(reader, app.id), 429, "TOO_MANY_REQUESTS");
    expect((await row(app.id)).status).toBe("submitted");
    expect((await views(app.id)).filter((v) => v.userId === reader.id)).toHaveLength(1);
    // Other reviewers, and the reader's other calls, are not held back.
    expect((await review(otherReviewer, app.id)).status).toBe(200);
    expect((await call(reader, "GET", "/kyc/review")).status).toBe(200);

    const metrics = await (await kit.request("/metrics")).text();
    expect(metrics).toContain('kit_rate_limited_total{rule="kyc.application-reads"} 2');
    expect(metrics).toContain('kit_rate_limited_total{rule="kyc.document-urls"} 0');
  });
});

describe("expiry", () => {
  test("approvals past their expiry become expired (no actor); current ones stay", async () => {
    const due = await submitted();
    const current = await submitted();
    await moveApplication(kit, due.id, "approved", {
      actorId: reviewer.id,
      reviewerId: reviewer.id,
      expiresAt: new Date(Date.now() - MINUTE),
    });
    await moveApplication(kit, current.id, "approved", { actorId: reviewer.id, reviewerId: reviewer.id });

    const { expired } = await expireApprovals(kit.deps);
    expect(expired).toBeGreaterThanOrEqual(1);
    expect((await row(due.id)).status).toBe("expired");
    expect((await history(due.id)).at(-1)).toMatchObject({
      fromStatus: "approved",
      toStatus: "expired",
      actorId: null,
      reason: "validity ended",
    });
    expect((await row(current.id)).status).toBe("approved");
    expect(await expireApprovals(kit.deps)).toEqual({ expired: 0 });
    expectError(await revoke(reviewer, due.id), 409, "CONFLICT", "is expired");
  });

  test("a backlog larger than a batch is expired whole, once, by two workers at the same time", async () => {
    // 1,001 approvals due (two full batches and one row), made in SQL along the graph's edges.
    const count = 1_001;
    await db.execute(sql`insert into "user" (id, name, email, role, created_at, updated_at)
      select 'bulk-' || g, 'Bulk ' || g, 'bulk-' || g || '@example.com', 'investor', now(), now()
      from generate_series(1, ${count}) g`);
    await db.execute(
      sql`insert into kyc_applications (user_id) select 'bulk-' || g from generate_series(1, ${count}) g`,
    );
    for (const step of [
      sql`status = 'submitted', submitted_at = now()`,
      sql`status = 'in_review'`,
      sql`status = 'approved', decided_at = now() - interval '2 days', expires_at = now() - interval '1 day'`,
    ]) {
      await db.execute(sql`update kyc_applications set ${step} where user_id like 'bulk-%'`);
    }
    const [first, second] = await Promise.all([expireApprovals(kit.deps), expireApprovals(kit.deps)]);
    expect((first?.expired ?? 0) + (second?.expired ?? 0)).toBe(count);
    const { rows } = await db.execute<{ expired: number; histories: number }>(sql`
      select count(*)::int as expired,
        (select count(*)::int from kyc_status_history h join kyc_applications a on a.id = h.application_id
          where a.user_id like 'bulk-%' and h.to_status = 'expired' and h.actor_id is null) as histories
      from kyc_applications where user_id like 'bulk-%' and status = 'expired'`);
    expect(rows[0]).toEqual({ expired: count, histories: count });
  });
});

describe("queue", () => {
  // Every call names this window: the queue then holds only this block's applications.
  const base = new Date("2001-03-01T09:00:00.000Z");
  const at = (minutes: number) => new Date(base.getTime() + minutes * MINUTE);
  const window = { submittedFrom: at(-1).toISOString(), submittedTo: at(60).toISOString() };
  const ids: Record<string, string> = {};

  const queue = (who: TestUser, params: Record<string, string | number | boolean> = {}) =>
    call(
      who,
      "GET",
      `/kyc/review?${new URLSearchParams(
        Object.entries({ ...window, ...params }).map(([k, v]) => [k, String(v)]),
      ).toString()}`,
    );
  const names = (answer: Answer) => answer.body.items.map((i: { lastName: string }) => i.lastName);

  beforeAll(async () => {
    const specs: [string, number, string, KycStatus, TestUser?][] = [
      ["Zulu", 0, "DE", "submitted"],
      ["Yankee", 1, "FR", "in_review", reviewer],
      ["100%_Real", 2, "FR", "submitted"],
      ["100xyReal", 3, "DE", "in_review", otherReviewer],
      // Same instant as the next one: the id breaks the tie, and the cursor must too.
      ["Whiskey", 4, "FR", "submitted"],
      ["Victor", 4, "FR", "in_review", reviewer],
      ["Uniform", 5, "DE", "submitted"],
      ["Tango", 6, "FR", "approved", reviewer],
    ];
    for (const [lastName, minute, country, status, by] of specs) {
      const app = await submitted({
        lastName,
        firstName: "Queue",
        countryOfResidence: country,
        submittedAt: at(minute),
      });
      if (status !== "submitted") await moveApplication(kit, app.id, status, { actorId: by?.id, reviewerId: by?.id });
      ids[lastName] = app.id;
    }
  });

  test("open work (submitted and in review), oldest first; ties broken by id", async () => {
    const answer = await queue(reviewer);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const tie = [ids.Whiskey, ids.Victor].sort() as string[];
    const byId = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]));
    expect(names(answer)).toEqual([
      "Zulu",
      "Yankee",
      "100%_Real",
      "100xyReal",
      byId[tie[0] ?? ""],
      byId[tie[1] ?? ""],
      "Uniform",
    ]);
    expect(answer.body.nextCursor).toBeNull();
    expect(answer.body.items[1]).toMatchObject({
      id: ids.Yankee,
      status: "in_review",
      firstName: "Queue",
      countryOfResidence: "FR",
      reviewerId: reviewer.id,
      submittedAt: at(1).toISOString(),
    });
  });

  test("filters: status, country, assigned to me, submitted range, name search", async () => {
    expect(names(await queue(reviewer, { status: "approved" }))).toEqual(["Tango"]);
    expect(names(await queue(reviewer, { status: "in_review" }))).toEqual(
      expect.arrayContaining(["Yankee", "100xyReal", "Victor"]),
    );
    expect(names(await queue(reviewer, { status: "in_review" }))).toHaveLength(3);
    expect(names(await queue(reviewer, { country: "de" }))).toEqual(["Zulu", "100xyReal", "Uniform"]);
    expect(names(await queue(reviewer, { assignedToMe: true }))).toEqual(["Yankee", "Victor"]);
    expect(names(await queue(otherReviewer, { assignedToMe: true }))).toEqual(["100xyReal"]);
    expect(names(await queue(reviewer, { assignedToMe: true, status: "approved" }))).toEqual(["Tango"]);
    // From inclusive, to exclusive.
    expect(
      names(await queue(reviewer, { submittedFrom: at(2).toISOString(), submittedTo: at(4).toISOString() })),
    ).toEqual(["100%_Real", "100xyReal"]);
    // Case-insensitive; % and _ are literal characters, not patterns.
    expect(names(await queue(reviewer, { q: "ZULU" }))).toEqual(["Zulu"]);
    expect(names(await queue(reviewer, { q: "queue zu" }))).toEqual(["Zulu"]);
    expect(names(await queue(reviewer, { q: "0%_r" }))).toEqual(["100%_Real"]);
    expect(names(await queue(reviewer, { q: "100_" }))).toEqual([]);
    expect(names(await queue(reviewer, { q: "xyreal" }))).toEqual(["100xyReal"]);
  });

  test("cursor pagination: pages of 3 cover the queue with no duplicates or gaps", async () => {
    const all = (await queue(reviewer, { limit: 100 })).body.items.map((i: { id: string }) => i.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Answer = await queue(reviewer, { limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((i: { id: string }) => i.id));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(7);
  });

  test("a tampered cursor is a 400; investors are FORBIDDEN; bad filters are 400", async () => {
    const first = await queue(reviewer, { limit: 2 });
    const cursor: string = first.body.nextCursor;
    const decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    const tampered = Buffer.from(JSON.stringify([decoded[0], "'; drop table kyc_applications; --"])).toString(
      "base64url",
    );
    for (const bad of [tampered, `${cursor}x`, "bm90IGpzb24", "e30"]) {
      const answer = await queue(reviewer, { cursor: bad });
      expectError(answer, 400, "BAD_REQUEST", "cursor");
    }
    expectError(await queue(investor), 403, "FORBIDDEN");
    expectError(await queue(reviewer, { status: "draft" }), 400, "BAD_REQUEST");
    expectError(await queue(reviewer, { limit: 0 }), 400, "BAD_REQUEST");
    expectError(await queue(reviewer, { q: "ab" }), 400, "BAD_REQUEST");
  });
});
