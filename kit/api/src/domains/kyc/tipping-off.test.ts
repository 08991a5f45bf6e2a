// No tipping off: in a realistic flow (changes requested, resubmitted, rejected, a new application;
// another applicant approved, then revoked), every answer the applicant gets — their application,
// documents, inbox, status stream, the notification payloads and the e-mails a real SMTP server got —
// is searched for the reviewers' internal notes, and none is found. The reviewers see both texts.
import { afterAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createSubmittedApplication } from "../../../test/kyc";
import { readServerSentEvents } from "../../../test/sse";
import { createUser, type TestUser } from "../../../test/users";
import { startLocalSmtp } from "../../dev/smtp";
import { queueNotificationMails } from "../mail/outbox";
import { sendDueMail } from "../mail/sender";
import { dispatchNotifications } from "../notifications/dispatch";
import { inAppFanOut } from "../notifications/inbox";
import { notificationEvents } from "../notifications/schema";

const smtp = await startLocalSmtp();
const kit = await createTestKit({ env: { SMTP_URL: smtp.url } });
const [reviewer, secondReviewer, alice, bob] = await Promise.all([
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "investor"),
  createUser(kit, "investor"),
]);

const NOTES = [
  "Face does not match the passport photo; possible impersonation",
  "Sanctions hit: name on the OFAC SDN list",
  "Adverse media: fraud investigation reported",
] as const;
const MESSAGES = [
  "Please upload a sharper photo of your passport.",
  "We cannot offer you an account.",
  "Your verification is no longer valid.",
] as const;

/** Everything the applicants were answered, as sent. */
const applicantAnswers: string[] = [];
const controllers: AbortController[] = [];
afterAll(async () => {
  for (const controller of controllers) controller.abort();
  await smtp.stop();
});

async function asApplicant(who: TestUser, method: string, path: string, body?: unknown) {
  const answer = await callApi(kit.app, who, method, path, body);
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(500);
  applicantAnswers.push(JSON.stringify(answer.body));
  return answer;
}

async function asReviewer(who: TestUser, method: string, path: string, body?: unknown) {
  const answer = await callApi(kit.app, who, method, path, body);
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(200);
  return answer;
}

async function openStream(who: TestUser) {
  const controller = new AbortController();
  controllers.push(controller);
  const response = await kit.request("/api/kyc/events", { headers: { cookie: who.cookie }, signal: controller.signal });
  expect(response.status).toBe(200);
  return readServerSentEvents(response.body ?? new ReadableStream(), 2_000);
}

/** Every event until the stream stays quiet for a moment. */
async function drain(events: ReturnType<typeof readServerSentEvents>): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (let i = 0; i < 50; i++) {
    const event = await events.next(700).catch(() => "quiet" as const);
    if (event === "quiet" || event === "end") break;
    seen.push(event.data);
  }
  return seen;
}

/** The applicant's own views, read after each step. */
async function readEverything(who: TestUser) {
  await asApplicant(who, "GET", "/kyc/application");
  await asApplicant(who, "GET", "/kyc/documents");
  await asApplicant(who, "GET", "/notifications");
}

describe("the applicant never sees an internal note", () => {
  test("application, documents, inbox, status stream and notification payloads carry only the message", async () => {
    const first = await createSubmittedApplication(kit, alice);
    const aliceEvents = await openStream(alice);
    await asReviewer(reviewer, "POST", `/kyc/review/${first.id}/claim`);
    await asReviewer(reviewer, "POST", `/kyc/review/${first.id}/decision`, {
      decision: "request_changes",
      internalNote: NOTES[0],
      messageToApplicant: MESSAGES[0],
    });
    await readEverything(alice);
    const own = await asApplicant(alice, "GET", "/kyc/application");
    expect(own.body).toMatchObject({ status: "changes_requested", messageToApplicant: MESSAGES[0] });
    await asApplicant(alice, "PUT", "/kyc/application", { ...own.body.personalData, version: own.body.version });
    await asApplicant(alice, "POST", "/kyc/application/submit", {});

    await asReviewer(secondReviewer, "POST", `/kyc/review/${first.id}/claim`);
    await asReviewer(secondReviewer, "POST", `/kyc/review/${first.id}/decision`, {
      decision: "reject",
      internalNote: NOTES[1],
      messageToApplicant: MESSAGES[1],
      labels: ["sanctions_pep_match"],
    });
    await readEverything(alice);
    // A retry rejection: a new draft may start; it starts clean.
    await asApplicant(alice, "PUT", "/kyc/application", { firstName: "Alice" });

    const second = await createSubmittedApplication(kit, bob);
    const bobEvents = await openStream(bob);
    await asReviewer(reviewer, "POST", `/kyc/review/${second.id}/claim`);
    await asReviewer(reviewer, "POST", `/kyc/review/${second.id}/decision`, {
      decision: "approve",
      internalNote: "Checks clear",
    });
    await readEverything(bob);
    await asReviewer(secondReviewer, "POST", `/kyc/review/${second.id}/revoke`, {
      internalNote: NOTES[2],
      messageToApplicant: MESSAGES[2],
      category: "other",
    });
    await readEverything(bob);

    await dispatchNotifications(kit.deps, { in_app: inAppFanOut, email: queueNotificationMails });
    // The e-mails themselves, as a real SMTP server received them (text and HTML).
    await sendDueMail(kit.deps);
    const mails = smtp.received.filter((m) => m.to.includes(alice.email) || m.to.includes(bob.email));
    expect(mails.length).toBeGreaterThanOrEqual(3);
    for (const mail of mails) applicantAnswers.push(JSON.stringify(mail));
    await readEverything(alice);
    await readEverything(bob);
    for (const events of [aliceEvents, bobEvents]) {
      for (const event of await drain(events)) applicantAnswers.push(JSON.stringify(event));
    }
    // What the applicants' e-mails are rendered from: the payloads of the events they receive.
    const payloads = await kit.deps.db
      .select({ data: notificationEvents.data })
      .from(notificationEvents)
      .where(sql`${notificationEvents.recipients} && array[${alice.id}, ${bob.id}]::text[]`);
    expect(payloads.length).toBeGreaterThanOrEqual(4);
    for (const { data } of payloads) applicantAnswers.push(JSON.stringify(data));

    const everything = applicantAnswers.join("\n");
    for (const note of NOTES) expect(everything).not.toContain(note);
    // The search looks at real answers: the messages are there, in the inbox and the payloads.
    for (const message of MESSAGES) expect(everything).toContain(message);
    expect(everything).toContain('"status":"changes_requested"');

    // The reviewers see both texts: in the detail and in the history.
    const detail = await asReviewer(reviewer, "GET", `/kyc/review/${first.id}`);
    expect(detail.body.decision).toMatchObject({ internalNote: NOTES[1], messageToApplicant: MESSAGES[1] });
    const notes = detail.body.history.map((h: { internalNote: string | null }) => h.internalNote);
    expect(notes).toContain(NOTES[0]);
    expect(notes).toContain(NOTES[1]);
  }, 30_000);
});
