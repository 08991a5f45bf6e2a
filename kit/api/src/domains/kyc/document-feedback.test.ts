// Per-document feedback through HTTP: a reviewer rejects one document with a label and a message;
// the applicant sees it on that document only, `submit` waits for its replacement, and replacing it
// (remove, upload, confirm) leaves the other documents as they were.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createSubmittedApplication } from "../../../test/kyc";
import { createUser, type TestUser } from "../../../test/users";

const kit = await createTestKit();
const [reviewer, otherReviewer] = await Promise.all([createUser(kit, "kyc_reviewer"), createUser(kit, "kyc_reviewer")]);

const call = (who: TestUser, method: string, path: string, body?: unknown) => callApi(kit.app, who, method, path, body);
const rejectDocument = (who: TestUser, documentId: string, body: Record<string, unknown>) =>
  call(who, "POST", `/kyc/review/documents/${documentId}/reject`, body);

function expectError(answer: ApiAnswer, status: number, code: string, message?: string) {
  expect({ status: answer.status, code: answer.body?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  if (message) expect(answer.body.message).toContain(message);
}

/** Upload a new PDF through the API: declare, PUT to the presigned URL, confirm. */
async function uploadPassport(applicant: TestUser): Promise<string> {
  const bytes = new TextEncoder().encode("%PDF-1.4 a new, valid passport\n");
  const started = await call(applicant, "POST", "/kyc/documents", {
    type: "passport",
    fileName: "new-passport.pdf",
    contentType: "application/pdf",
    size: bytes.byteLength,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const put = await fetch(started.body.uploadUrl, { method: "PUT", headers: started.body.headers, body: bytes });
  expect(put.status).toBe(200);
  const confirmed = await call(applicant, "POST", `/kyc/documents/${started.body.documentId}/confirm`);
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  return started.body.documentId;
}

describe("per-document feedback", () => {
  test("one document rejected, replaced by the applicant; the other stays; submit waits for it", async () => {
    const applicant = await createUser(kit, "investor");
    const application = await createSubmittedApplication(kit, applicant);
    const [passport, proof] = application.documents;
    if (!passport || !proof) throw new Error("expected two documents");
    expectError(
      await rejectDocument(reviewer, passport.id, { label: "document_expired" }),
      409,
      "CONFLICT",
      "claim it first",
    );
    expect((await call(reviewer, "POST", `/kyc/review/${application.id}/claim`)).status).toBe(200);

    expectError(await rejectDocument(reviewer, passport.id, { label: "sanctions_pep_match" }), 400, "BAD_REQUEST");
    expectError(await rejectDocument(otherReviewer, passport.id, { label: "document_expired" }), 403, "FORBIDDEN");
    expect((await rejectDocument(applicant, passport.id, { label: "document_expired" })).status).toBe(403);
    expectError(await rejectDocument(reviewer, crypto.randomUUID(), { label: "other" }), 404, "NOT_FOUND");
    const rejected = await rejectDocument(reviewer, passport.id, {
      label: "document_expired",
      messageToApplicant: "Your passport expired in 2024; upload a valid one.",
    });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body.feedback).toMatchObject({
      label: "document_expired",
      message: "Your passport expired in 2024; upload a valid one.",
    });
    const review = await call(reviewer, "GET", `/kyc/review/${application.id}`);
    expect(review.body.documents.map((d: { feedback: unknown }) => d.feedback === null)).toEqual([false, true]);

    const changes = await call(reviewer, "POST", `/kyc/review/${application.id}/decision`, {
      decision: "request_changes",
      internalNote: "Passport expired",
      messageToApplicant: "Please replace your passport.",
    });
    expect(changes.status, JSON.stringify(changes.body)).toBe(200);

    // The applicant sees the feedback on that document only, and what submit still needs.
    const documents = await call(applicant, "GET", "/kyc/documents");
    expect(
      documents.body.map((d: { id: string; feedback: { label: string } | null }) => [d.id, d.feedback?.label]),
    ).toEqual([
      [passport.id, "document_expired"],
      [proof.id, undefined],
    ]);
    const own = await call(applicant, "GET", "/kyc/application");
    expect(own.body.missing).toEqual(["a replacement for the rejected passport passport.pdf (remove it)"]);
    expectError(
      await call(applicant, "POST", "/kyc/application/submit", {}),
      412,
      "PRECONDITION_FAILED",
      "a replacement for the rejected passport",
    );

    // Replace just that one.
    expect((await call(applicant, "DELETE", `/kyc/documents/${passport.id}`)).status).toBe(200);
    const replacement = await uploadPassport(applicant);
    const after = await call(applicant, "GET", "/kyc/documents");
    expect(after.body.map((d: { id: string; feedback: unknown }) => [d.id, d.feedback])).toEqual([
      [proof.id, null],
      [replacement, null],
    ]);
    const submitted = await call(applicant, "POST", "/kyc/application/submit", {});
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    expect(submitted.body.status).toBe("submitted");
  });
});
