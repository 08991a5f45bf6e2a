// Erasure: a user asks, an admin approves where no retention duty forbids it, and afterwards no
// answer (the applicant's, the reviewer's view, the queue, the dossier) carries the personal data,
// while the pseudonymous history (statuses, dates, labels, actors) remains; the objects are gone,
// also when the store was down at the time (the clean-up job finishes). Races have one winner.
import { describe, expect, test } from "bun:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { eq, sql } from "drizzle-orm";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import {
  createApplicant,
  createDraftApplication,
  createSubmittedApplication,
  moveApplication,
} from "../../../test/kyc";
import { createUser, type TestUser } from "../../../test/users";
import { createStorage } from "../../infra/storage";
import { SYSTEM_ACTOR } from "../audit/record";
import { auditEvents } from "../audit/schema";
import { queueNotificationMails } from "../mail/outbox";
import { mailMessages } from "../mail/schema";
import { dispatchNotifications } from "../notifications/dispatch";
import { inAppFanOut } from "../notifications/inbox";
import { notificationEvents } from "../notifications/schema";
import { cleanUpDocuments } from "./document-removal";
import { eraseApplication } from "./erasure";
import { kycApplications, kycDocuments, kycStatusHistory } from "./schema";

// One proxy hop trusted: each test user signs in from an address of its own (test/users.ts).
const kit = await createTestKit({ env: { TRUST_PROXY_HOPS: "1" } });
const [reviewer, admin, secondAdmin] = await Promise.all([
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "admin"),
  createUser(kit, "admin"),
]);
const call = (who: TestUser, method: string, path: string, body?: unknown) => callApi(kit.app, who, method, path, body);

function expectError(answer: ApiAnswer, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.code).toBe(code);
}

const PII = {
  firstName: "Zebulon",
  lastName: "Quartermaine",
  nationalIdNumber: "ZQ 998877",
  address: { line1: "42 Erasure Lane", city: "Forgetville", postalCode: "99999", country: "FR" },
};
const NOTE = "Internal: Zebulon Quartermaine matched a watch list";
const MESSAGE = "Dear Zebulon, we cannot offer you an account.";
/** Strings that must not appear in any answer after erasure. */
const SECRETS = ["Zebulon", "Quartermaine", "ZQ 998877", "Erasure Lane", "Forgetville"];

function expectNoPii(answer: unknown): void {
  const text = JSON.stringify(answer);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
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

/** As the database owner (triggers off): moves an application's past back in time. */
async function backdate(applicationId: string, years: number): Promise<void> {
  await kit.deps.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    await tx.execute(
      sql`update kyc_status_history set at = at - make_interval(years => ${years}) where application_id = ${applicationId}`,
    );
    await tx.execute(
      sql`update kyc_applications set updated_at = updated_at - make_interval(years => ${years}) where id = ${applicationId}`,
    );
  });
}

/** An application of `applicant` rejected by the reviewer through the API, with a note, a message and labels. */
async function rejectedApplication(applicant: { id: string }, final = false) {
  const application = await createSubmittedApplication(kit, applicant, PII);
  expect((await call(reviewer, "POST", `/kyc/review/${application.id}/claim`)).status).toBe(200);
  const decided = await call(reviewer, "POST", `/kyc/review/${application.id}/decision`, {
    decision: "reject",
    internalNote: NOTE,
    messageToApplicant: MESSAGE,
    labels: ["sanctions_pep_match"],
    final,
  });
  expect(decided.status, JSON.stringify(decided.body)).toBe(200);
  return application;
}

describe("erasure requests", () => {
  test("asking twice returns the one open request; an admin approves; a draft is erased at once", async () => {
    const alice = await createUser(kit, "investor");
    const draft = await createDraftApplication(kit, alice, PII);
    const first = await call(alice, "POST", "/me/erasure");
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ userId: alice.id, status: "open", decidedAt: null });
    const again = await call(alice, "POST", "/me/erasure");
    expect(again.body.id).toBe(first.body.id);
    expect((await call(alice, "GET", "/me/erasure")).body.id).toBe(first.body.id);

    // Investors do not decide; admins see it, with nothing in the way (a draft only).
    expectError(await call(reviewer, "GET", "/kyc/erasure-requests"), 403, "FORBIDDEN");
    const listed = await call(admin, "GET", "/kyc/erasure-requests?limit=100");
    expect(listed.status).toBe(200);
    expect(listed.body.items.find((r: { id: string }) => r.id === first.body.id)).toMatchObject({
      status: "open",
      earliestErasureAt: null,
    });

    const approved = await call(admin, "POST", `/kyc/erasure-requests/${first.body.id}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ status: "approved", decidedBy: admin.id, erasedApplications: [draft.id] });
    // Gone for the applicant, who may start afresh (the erased draft no longer holds the open slot).
    expect((await call(alice, "GET", "/kyc/application")).body).toBeNull();
    expect((await call(alice, "GET", "/kyc/documents")).body).toEqual([]);
    const fresh = await call(alice, "PUT", "/kyc/application", { firstName: "New" });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(fresh.body.id).not.toBe(draft.id);
    for (const document of draft.documents) expect(await objectExists(document.bucketKey)).toBe(false);
    const [row] = await kit.deps.db.select().from(kycApplications).where(eq(kycApplications.id, draft.id));
    expect(row?.erasedAt).toBeInstanceOf(Date);
    expect(row?.firstName).toBeNull();
    expect(row?.nationalIdEncrypted).toBeNull();
    // Decided: nothing more to do with it.
    expectError(await call(secondAdmin, "POST", `/kyc/erasure-requests/${first.body.id}/approve`), 409, "CONFLICT");
    expectError(await call(alice, "DELETE", "/me/erasure"), 404, "NOT_FOUND");
  });

  test("a retention duty refuses the approval with the earliest date; the admin refuses with a reason", async () => {
    const bob = await createUser(kit, "investor");
    await rejectedApplication(bob);
    const request = (await call(bob, "POST", "/me/erasure")).body;
    const fiveYears = new Date();
    fiveYears.setUTCFullYear(fiveYears.getUTCFullYear() + 5);
    const day = fiveYears.toISOString().slice(0, 10);

    const refused = await call(admin, "POST", `/kyc/erasure-requests/${request.id}/approve`);
    expectError(refused, 412, "PRECONDITION_FAILED");
    expect(refused.body.message).toContain(`erasure becomes possible on ${day}`);
    const listed = await call(admin, "GET", "/kyc/erasure-requests?limit=100");
    const item = listed.body.items.find((r: { id: string }) => r.id === request.id);
    expect(item.earliestErasureAt.slice(0, 10)).toBe(day);

    expectError(await call(admin, "POST", `/kyc/erasure-requests/${request.id}/refuse`, {}), 400, "BAD_REQUEST");
    const decided = await call(admin, "POST", `/kyc/erasure-requests/${request.id}/refuse`, {
      reason: `AML records are kept until ${day}.`,
    });
    expect(decided.body).toMatchObject({ status: "refused", refusalReason: `AML records are kept until ${day}.` });
    expect((await call(bob, "GET", "/me/erasure")).body.status).toBe("refused");
  });

  test("an active relationship (approved) is refused too; nobody decides their own request", async () => {
    const carol = await createUser(kit, "investor");
    const application = await createSubmittedApplication(kit, carol, PII);
    await moveApplication(kit, application.id, "approved", { actorId: reviewer.id });
    const request = (await call(carol, "POST", "/me/erasure")).body;
    const refused = await call(admin, "POST", `/kyc/erasure-requests/${request.id}/approve`);
    expectError(refused, 412, "PRECONDITION_FAILED");
    expect(refused.body.message).toContain("still active");

    const own = (await call(admin, "POST", "/me/erasure")).body;
    expectError(await call(admin, "POST", `/kyc/erasure-requests/${own.id}/approve`), 403, "FORBIDDEN");
    expectError(
      await call(admin, "POST", `/kyc/erasure-requests/${own.id}/refuse`, { reason: "no" }),
      403,
      "FORBIDDEN",
    );
    expectError(await call(admin, "POST", `/kyc/erasure-requests/${crypto.randomUUID()}/approve`), 404, "NOT_FOUND");
  });

  test("after a relationship ended more than the kept years ago: erased; no answer carries the PII; the pseudonymous history remains", async () => {
    const dave = await createUser(kit, "investor");
    const application = await rejectedApplication(dave);
    // The rejection's notification reached dave's inbox, message and all.
    await dispatchNotifications(kit.deps, { in_app: inAppFanOut, email: queueNotificationMails });
    expect(JSON.stringify((await call(dave, "GET", "/notifications?limit=100")).body)).toContain(MESSAGE);
    await backdate(application.id, 6);
    const request = (await call(dave, "POST", "/me/erasure")).body;
    const approved = await call(admin, "POST", `/kyc/erasure-requests/${request.id}/approve`);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.erasedApplications).toEqual([application.id]);

    const review = await call(reviewer, "GET", `/kyc/review/${application.id}`);
    expect(review.status).toBe(200);
    expectNoPii(review.body);
    expect(review.body.erasedAt).not.toBeNull();
    expect(review.body.applicant).toEqual({ id: dave.id, name: null, email: null });
    expect(review.body.documents).toEqual([]);
    expect(review.body.decision).toMatchObject({ internalNote: null, labels: ["sanctions_pep_match"] });
    // The pseudonymous history: every status, who and when, the labels; no note, no message.
    expect(review.body.history.map((h: { toStatus: string }) => h.toStatus)).toEqual([
      "draft",
      "submitted",
      "in_review",
      "rejected",
    ]);
    const rejection = review.body.history.at(-1);
    expect(rejection).toMatchObject({
      actorId: reviewer.id,
      labels: ["sanctions_pep_match"],
      internalNote: null,
      messageToApplicant: null,
    });
    const queue = await call(reviewer, "GET", "/kyc/review?status=rejected&limit=100");
    const listed = queue.body.items.find((i: { id: string }) => i.id === application.id);
    expect(listed).toMatchObject({ status: "rejected", firstName: null, lastName: null, countryOfResidence: null });
    expectError(await call(reviewer, "GET", `/kyc/review/${application.id}/dossier`), 404, "NOT_FOUND");
    for (const path of ["/kyc/application", "/kyc/documents", "/notifications?limit=100", "/me/erasure"]) {
      const answer = await call(dave, "GET", path);
      expect(answer.status, path).toBe(200);
      expectNoPii(answer.body);
      expect(JSON.stringify(answer.body)).not.toContain(MESSAGE);
    }
    for (const document of application.documents) expect(await objectExists(document.bucketKey)).toBe(false);
    const events = await kit.deps.db
      .select({ data: notificationEvents.data })
      .from(notificationEvents)
      .where(sql`${notificationEvents.data}->>'applicationId' = ${application.id}`);
    const mails = await kit.deps.db
      .select({ data: mailMessages.data })
      .from(mailMessages)
      .where(sql`${mailMessages.data}->>'applicationId' = ${application.id}`);
    expect(events.length).toBeGreaterThan(0);
    expect(mails.length).toBeGreaterThan(0);
    for (const row of [...events, ...mails]) {
      expectNoPii(row);
      expect(JSON.stringify(row)).not.toContain(MESSAGE);
    }

    // The audit trail says what happened, PII-free.
    const audit = await kit.deps.db
      .select({ action: auditEvents.action, before: auditEvents.before, after: auditEvents.after })
      .from(auditEvents)
      .where(sql`${auditEvents.subjectId} in (${application.id}, ${request.id})`);
    expect(audit.map((a) => a.action).sort()).toEqual([
      "kyc.application_erased",
      "kyc.erasure_decided",
      "kyc.erasure_requested",
    ]);
    expectNoPii(audit);

    // Erased is final: the database refuses any change, and the history's rows of others stay append-only.
    const attempt = (run: () => PromiseLike<unknown>) => Promise.resolve().then(run);
    await expect(
      attempt(() =>
        kit.deps.db.update(kycApplications).set({ firstName: "Back" }).where(eq(kycApplications.id, application.id)),
      ),
    ).rejects.toThrow();
    const other = await createSubmittedApplication(kit, await createApplicant(kit));
    await expect(
      attempt(() =>
        kit.deps.db.update(kycStatusHistory).set({ reason: null }).where(eq(kycStatusHistory.applicationId, other.id)),
      ),
    ).rejects.toThrow();
  });

  test("two admins approving at once, and an approval racing a withdrawal: one winner each time", async () => {
    for (let round = 0; round < 3; round++) {
      const user = await createUser(kit, "investor");
      await createDraftApplication(kit, user);
      const request = (await call(user, "POST", "/me/erasure")).body;
      const race =
        round === 0
          ? [
              call(admin, "POST", `/kyc/erasure-requests/${request.id}/approve`),
              call(secondAdmin, "POST", `/kyc/erasure-requests/${request.id}/approve`),
            ]
          : [call(admin, "POST", `/kyc/erasure-requests/${request.id}/approve`), call(user, "DELETE", "/me/erasure")];
      const answers = await Promise.all(race);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses[0]).toBe(200);
      expect([404, 409]).toContain(statuses[1] as number);
      const final = (await call(user, "GET", "/me/erasure")).body.status;
      expect(["approved", "withdrawn"]).toContain(final);
      const erased = await kit.deps.db
        .select({ id: auditEvents.id })
        .from(auditEvents)
        .where(sql`${auditEvents.action} = 'kyc.erasure_decided' and ${auditEvents.subjectId} = ${request.id}`);
      expect(erased.length).toBe(1);
    }
  });
});

describe("eraseApplication", () => {
  test("with the object store down, the row is erased and its deletions queued; the clean-up job finishes them", async () => {
    const erin = await createUser(kit, "investor");
    const draft = await createDraftApplication(kit, erin, PII);
    const storeDown = createStorage({ s3: { ...kit.config.s3, endpoint: "http://127.0.0.1:9" } });
    const result = await eraseApplication(
      { ...kit.deps, storage: storeDown },
      { applicationId: draft.id, actor: SYSTEM_ACTOR, reason: "draft_retention" },
    );
    expect(result).toMatchObject({ documents: 2, objectsPending: 2 });
    for (const document of draft.documents) expect(await objectExists(document.bucketKey)).toBe(true);
    const queued = await kit.deps.db.select().from(kycDocuments).where(eq(kycDocuments.applicationId, draft.id));
    expect(queued.every((d) => d.deletingAt !== null && d.fileName === "[erased]")).toBe(true);
    expectNoPii((await call(erin, "GET", "/kyc/documents")).body);

    await cleanUpDocuments(kit.deps);
    for (const document of draft.documents) expect(await objectExists(document.bucketKey)).toBe(false);
    expect(await kit.deps.db.select().from(kycDocuments).where(eq(kycDocuments.applicationId, draft.id))).toEqual([]);
  });

  test("a final rejection's block outlives erasure; an admin may still lift it (its reason is not kept)", async () => {
    const gina = await createUser(kit, "investor");
    const application = await rejectedApplication(gina, true);
    await backdate(application.id, 6);
    await eraseApplication(kit.deps, {
      applicationId: application.id,
      actor: SYSTEM_ACTOR,
      reason: "record_retention",
    });
    expectError(await call(gina, "PUT", "/kyc/application", { firstName: "Again" }), 403, "FORBIDDEN");
    const lifted = await call(admin, "POST", `/kyc/review/${application.id}/lift-block`, {
      reason: "Gina Quartermaine may apply again",
    });
    expect(lifted.status, JSON.stringify(lifted.body)).toBe(200);
    expect(lifted.body.decision.blockLifted).toMatchObject({ by: admin.id, reason: "[erased]" });
    expect((await call(gina, "PUT", "/kyc/application", { firstName: "Again" })).status).toBe(200);
  });

  test("bad states answer typed errors: unknown, already erased, still under a duty", async () => {
    const frank = await createApplicant(kit);
    const open = await createSubmittedApplication(kit, frank);
    const erase = (applicationId: string) =>
      eraseApplication(kit.deps, { applicationId, actor: SYSTEM_ACTOR, reason: "user_request" });
    await expect(erase(crypto.randomUUID())).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(erase(open.id)).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
    const draft = await createDraftApplication(kit, await createApplicant(kit));
    await erase(draft.id);
    await expect(erase(draft.id)).rejects.toMatchObject({ code: "CONFLICT" });
  });
});
