// The console in a real browser against a real Kit: an investor (through @kit/client) submits an
// application with two documents uploaded to their presigned URLs; reviewer A signs in, finds it,
// opens both documents and approves with a reason; the investor's event stream sees `approved`;
// reviewer B's queue, open all along, updates without a reload. Any browser console error fails.
// Screenshots of each step: kit/console/e2e/screenshots/ (git-ignored).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { user } from "../../api/src/domains/auth/schema";
import {
  applyWithDocuments,
  CHROMIUM,
  type ConsoleKit,
  type ConsoleUser,
  signInOnConsole,
  startConsoleKit,
} from "./harness";

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping the console e2e: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)("console, end to end in Chromium", () => {
  let kit: ConsoleKit;
  let reviewerA: ConsoleUser;
  let reviewerB: ConsoleUser;
  let investor: ConsoleUser;

  beforeAll(async () => {
    kit = await startConsoleKit();
    [reviewerA, reviewerB, investor] = await Promise.all([
      kit.createUser("kyc_reviewer", "Rita Reviewer"),
      kit.createUser("kyc_reviewer", "Ben Second"),
      kit.createUser("investor", "Grace Hopper"),
    ]);
  }, 60_000);

  afterAll(async () => {
    await kit?.stop();
  }, 30_000);

  test("a signed-in investor sees a clear 'not allowed' page", async () => {
    const { context, page, errors } = await kit.openPage();
    await signInOnConsole(page, kit.url, investor);
    await page.getByRole("heading", { name: "Not allowed" }).waitFor();
    expect(await page.textContent("main")).toContain("KYC reviewers, issuers and administrators");
    await kit.screenshot(page, "00-not-allowed");
    await context.close();
    expect(errors).toEqual([]);
  });

  test("submit, review in the console, approve; the investor and a second reviewer see it live", async () => {
    // Reviewer B opens the queue first and keeps it open.
    const b = await kit.openPage();
    await b.page.goto(`${kit.url}/console/`);
    await kit.screenshot(b.page, "01-sign-in");
    await signInOnConsole(b.page, kit.url, reviewerB);
    await b.page.getByRole("heading", { name: "KYC queue" }).waitFor();
    await b.page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    await b.page.getByText("No application matches these filters.").waitFor();
    await kit.screenshot(b.page, "02-queue-empty-reviewer-b");

    // The investor applies through @kit/client: draft, two real uploads, submit.
    const client = await kit.clientFor(investor);
    await applyWithDocuments(client, { firstName: "Grace", lastName: "Hopper", nationalIdNumber: "X1234567" });
    const events = await client.rpc.kyc.events();
    const statuses: string[] = [];
    const approved = (async () => {
      for await (const event of events) {
        if ("onchain" in event) continue; // the wallets' on-chain snapshots: not a status
        statuses.push(event.status);
        if (event.status === "approved") return event;
      }
      throw new Error(`the investor's stream ended without approved: ${statuses.join(", ")}`);
    })();
    const submitted = await client.rpc.kyc.application.submit();
    expect(submitted.status).toBe("submitted");

    // B's open queue shows the new application without a reload.
    await b.page.getByRole("link", { name: "Grace Hopper" }).waitFor({ timeout: 10_000 });
    await kit.screenshot(b.page, "03-queue-live-new-submission-reviewer-b");

    // Reviewer A signs in, finds the application by name, opens it.
    const a = await kit.openPage();
    await signInOnConsole(a.page, kit.url, reviewerA);
    await a.page.getByLabel("Name").fill("Hopper");
    await a.page.getByRole("button", { name: "Search" }).click();
    await a.page.waitForURL(/q=Hopper/);
    await a.page.getByRole("link", { name: "Grace Hopper" }).click();
    await a.page.getByRole("heading", { name: "Grace Hopper" }).waitFor();
    expect(await a.page.textContent("main")).toContain("X1234567");
    await kit.screenshot(a.page, "04-application");

    // Claim, then look at both documents inline.
    await a.page.getByRole("button", { name: "Claim for review" }).click();
    await a.page.getByText("Claimed: it is yours to decide.").waitFor();
    await a.page.getByRole("button", { name: "Preview passport" }).click();
    const image = a.page.getByRole("img", { name: "Passport: passport.png" });
    await image.waitFor();
    await a.page.waitForFunction(
      () => (document.querySelector(".preview img") as HTMLImageElement | null)?.naturalWidth === 480,
    );
    await a.page.getByRole("button", { name: "Preview proof of address" }).click();
    await a.page.locator('iframe[title="Proof of address: electricity-bill.pdf"]').waitFor();
    expect(await a.page.getByRole("alert").count()).toBe(0);
    await kit.screenshot(a.page, "05-documents-previewed");

    // An internal note is required to reject: the form says so before anything is sent.
    await a.page.getByLabel("Reject").check();
    await a.page.getByRole("button", { name: "Reject" }).click();
    await a.page.getByText("An internal note is required to reject").waitFor();

    await a.page.getByLabel("Approve").check();
    await a.page.getByLabel(/Internal note/).fill("Passport and proof of address match; checks clear.");
    await a.page.getByLabel(/Message to the applicant/).fill("Welcome to Kit.");
    await a.page.getByRole("button", { name: "Approve" }).click();
    await a.page.getByText("Approved.", { exact: true }).waitFor();
    await a.page.locator(".application-header .badge", { hasText: "Approved" }).waitFor();
    await a.page.getByText("Passport and proof of address match; checks clear.").first().waitFor();
    await kit.screenshot(a.page, "06-approved");

    // The investor's stream received the decision.
    const event = await Promise.race([
      approved,
      Bun.sleep(10_000).then(() => {
        throw new Error(`no approved event within 10 s; saw ${statuses.join(", ")}`);
      }),
    ]);
    expect(event.status).toBe("approved");
    expect(statuses).toEqual(["draft", "submitted", "in_review", "approved"]);

    // B's queue (open work) dropped the decided application, live, and said why.
    await b.page.getByText(/Queue updated: an application was approved by another reviewer/).waitFor();
    await b.page.getByRole("link", { name: "Grace Hopper" }).waitFor({ state: "detached" });
    await kit.screenshot(b.page, "07-queue-live-after-decision-reviewer-b");

    // And under "Approved" it is there, with no reload of the page since sign-in.
    await b.page.getByLabel("Status").selectOption("approved");
    await b.page.getByRole("link", { name: "Grace Hopper" }).waitFor();
    await kit.screenshot(b.page, "08-queue-approved-filter-reviewer-b");

    await a.context.close();
    await b.context.close();
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  }, 60_000);

  test("an admin bans with a reason, lifts the ban, and ends a user's sessions", async () => {
    const [admin, target] = await Promise.all([
      kit.createUser("admin", "Ada Admin"),
      kit.createUser("investor", "Eve Example"),
    ]);
    const signedOut = async (client: Awaited<ReturnType<ConsoleKit["clientFor"]>>) => {
      const refused = await client.rpc.me.get().then(
        () => null,
        (error: unknown) => error as { code?: string },
      );
      return refused?.code;
    };
    const before = await kit.clientFor(target);
    expect((await before.rpc.me.get()).user.email).toBe(target.email);

    const { context, page, errors } = await kit.openPage();
    await signInOnConsole(page, kit.url, admin);
    await page.goto(`${kit.url}/console/users`);
    await page.getByLabel("E-mail or name").fill(target.email);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("button", { name: `Ban ${target.email}`, exact: true }).click();
    // The reason is required: nothing is sent without one.
    await page.getByRole("button", { name: "Ban user", exact: true }).click();
    expect(await page.getByText(/^Banned/).count()).toBe(0);
    await page.getByLabel("Reason").fill("Documents found to be forged");
    await page.getByRole("button", { name: "Ban user", exact: true }).click();
    await page.getByText("Banned: Documents found to be forged").waitFor();
    await page.getByText("Banned; their sessions are ended.").waitFor();
    await kit.screenshot(page, "11-user-banned");
    expect(await signedOut(before)).toBe("UNAUTHORIZED");

    await page.getByRole("button", { name: `Lift the ban on ${target.email}`, exact: true }).click();
    await page.getByText("Ban lifted.").waitFor();
    const after = await kit.clientFor(target);
    expect((await after.rpc.me.get()).user.email).toBe(target.email);

    await page.getByRole("button", { name: `End the sessions of ${target.email}`, exact: true }).click();
    await page.getByText("Ended 1 session.").waitFor();
    expect(await signedOut(after)).toBe("UNAUTHORIZED");
    await kit.screenshot(page, "12-user-sessions-ended");

    // Each of these is in the audit trail, with the admin as the actor.
    await page.getByRole("link", { name: "Audit" }).click();
    await page.getByRole("heading", { name: "Audit trail" }).waitFor();
    await page.getByLabel("Action").selectOption("user.banned");
    await page.getByLabel("Subject type").fill("user");
    await page.getByLabel("Subject id").fill(target.id);
    await page.getByRole("button", { name: "Filter" }).click();
    // Filtered, the lift and the session revocation leave the list; the ban stays, by the admin.
    await page.getByRole("row").filter({ hasText: "Sessions ended" }).waitFor({ state: "detached" });
    expect(await page.getByRole("row").filter({ hasText: "Ban lifted" }).count()).toBe(0);
    await page.getByRole("row").filter({ hasText: "User banned" }).filter({ hasText: admin.id }).waitFor();
    await kit.screenshot(page, "12b-audit-trail");

    await context.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("the users page pages newest first by cursor, forwards and back", async () => {
    const admin = await kit.createUser("admin", "Paula Pager");
    const tag = `pager${Date.now()}`;
    const start = Date.now() - 60_000;
    // 26 users: one more than a page. Written directly (a password each would only slow this down).
    await kit.deps.db.insert(user).values(
      Array.from({ length: 26 }, (_, i) => ({
        id: crypto.randomUUID(),
        name: `${tag} ${String(i).padStart(2, "0")}`,
        email: `${tag}-${i}@example.com`,
        role: "investor",
        createdAt: new Date(start + i * 1_000),
        updatedAt: new Date(start + i * 1_000),
      })),
    );
    const { context, page, errors } = await kit.openPage();
    await signInOnConsole(page, kit.url, admin);
    await page.goto(`${kit.url}/console/users`);
    await page.getByLabel("E-mail or name").fill(tag);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByText("Users 1–25").waitFor();
    // Newest first: the last one written heads the first page.
    await page.getByRole("cell", { name: `${tag}-25@example.com`, exact: true }).waitFor();
    expect(await page.getByRole("cell", { name: `${tag}-0@example.com`, exact: true }).count()).toBe(0);
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText("Users 26–26 of 26").waitFor();
    await page.getByRole("cell", { name: `${tag}-0@example.com`, exact: true }).waitFor();
    expect(await page.getByRole("button", { name: "Next →" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "← Previous" }).click();
    await page.getByText("Users 1–25").waitFor();
    await kit.screenshot(page, "13-users-paged");
    await context.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("erasure requests: an admin approves one (its draft erased) and refuses another with a reason", async () => {
    const [admin, leaving, staying] = await Promise.all([
      kit.createUser("admin", "Erin Eraser"),
      kit.createUser("investor", "Lea Leaving"),
      kit.createUser("investor", "Stan Staying"),
    ]);
    const leavingClient = await kit.clientFor(leaving);
    const draft = await leavingClient.rpc.kyc.application.save({ firstName: "Lea", lastName: "Leaving" });
    const toApprove = await leavingClient.rpc.kyc.erasure.request();
    const toRefuse = await (await kit.clientFor(staying)).rpc.kyc.erasure.request();

    const { context, page, errors } = await kit.openPage();
    await signInOnConsole(page, kit.url, admin);
    await page.getByRole("link", { name: "Erasures" }).click();
    await page.getByRole("heading", { name: "Erasure requests" }).waitFor();
    const approveRow = page.getByRole("row").filter({ hasText: toApprove.userId });
    const refuseRow = page.getByRole("row").filter({ hasText: toRefuse.userId });
    await approveRow.getByText("now").waitFor();
    await kit.screenshot(page, "20-erasure-requests");

    // Refusing needs a reason, said before anything is sent.
    await refuseRow.getByRole("button", { name: "Refuse" }).click();
    await page.getByText("A reason is required to refuse; the user reads it.").waitFor();
    await refuseRow.getByLabel("Reason (to refuse; the user reads it)").fill("Your account is under investigation.");
    await refuseRow.getByRole("button", { name: "Refuse" }).click();
    await page.getByText("Refused the erasure request.").waitFor();
    await refuseRow.waitFor({ state: "detached" });

    await approveRow.getByRole("button", { name: "Approve and erase" }).click();
    await page.getByText("Approved: 1 application erased.").waitFor();
    await approveRow.waitFor({ state: "detached" });
    expect(await leavingClient.rpc.kyc.erasure.get()).toMatchObject({
      status: "approved",
      decidedBy: admin.id,
      erasedApplications: [draft.id],
    });
    expect(await leavingClient.rpc.kyc.application.get()).toBeNull();

    await page.getByLabel("Status").selectOption("refused");
    await page.getByRole("row").filter({ hasText: "Your account is under investigation." }).waitFor();
    await kit.screenshot(page, "21-erasure-refused");
    await context.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("a revocation for a sanctions hit shows the freeze; an admin lifts it with a reason", async () => {
    const [admin, applicant] = await Promise.all([
      kit.createUser("admin", "Ada Lifter"),
      kit.createUser("investor", "Sam Sanctioned"),
    ]);
    const client = await kit.clientFor(applicant);
    await applyWithDocuments(client, { firstName: "Sam", lastName: "Sanctioned", nationalIdNumber: "S7777777" });
    const { id } = await client.rpc.kyc.application.submit();
    const reviewer = await kit.clientFor(reviewerB);
    await reviewer.rpc.kyc.review.claim({ applicationId: id });
    await reviewer.rpc.kyc.review.decide({ applicationId: id, decision: "approve" });

    const b = await kit.openPage();
    await signInOnConsole(b.page, kit.url, reviewerB);
    await b.page.goto(`${kit.url}/console/applications/${id}`);
    await b.page.getByLabel("Why").selectOption("sanctions");
    await b.page.getByLabel(/Internal note/).fill("Name on a sanctions list");
    await b.page.getByRole("button", { name: "Revoke approval" }).click();
    await b.page.getByText("Approval revoked; the applicant's wallets are being frozen.").waitFor();
    await b.page.getByRole("heading", { name: "Freeze" }).waitFor();
    await b.page.getByText(/^Sanctions, since/).waitFor();
    // A reviewer sees the freeze but may not lift it.
    expect(await b.page.getByRole("button", { name: "Lift freeze" }).count()).toBe(0);
    await kit.screenshot(b.page, "14-revoked-sanctions-frozen");

    const a = await kit.openPage();
    await signInOnConsole(a.page, kit.url, admin);
    await a.page.goto(`${kit.url}/console/applications/${id}`);
    await a.page.getByLabel("Reason to lift (required)").fill("Not the listed person: different date of birth");
    await a.page.getByRole("button", { name: "Lift freeze" }).click();
    await a.page.getByText("Freeze lifted; Kit is unfreezing the wallets.").waitFor();
    await a.page.getByText("Not the listed person: different date of birth").waitFor();
    await kit.screenshot(a.page, "15-freeze-lifted");
    await a.context.close();
    await b.context.close();
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  }, 60_000);

  test("a high risk needs two approvals; the second reviewer rejects as final with labels; an admin lifts the block", async () => {
    const [admin, applicant] = await Promise.all([
      kit.createUser("admin", "Ada Unblocker"),
      kit.createUser("investor", "Mallory Ring"),
    ]);
    const client = await kit.clientFor(applicant);
    await applyWithDocuments(client, { firstName: "Mallory", lastName: "Ring", nationalIdNumber: "M1234567" });
    const { id } = await client.rpc.kyc.application.submit();
    await (await kit.clientFor(reviewerA)).rpc.kyc.review.claim({ applicationId: id });

    // Sign-ins are limited per address (10 a minute): these pages come from addresses of their own.
    const openPageFrom = async (address: string) => {
      const opened = await kit.openPage();
      await opened.context.setExtraHTTPHeaders({ "x-forwarded-for": address });
      return opened;
    };

    // Reviewer A rates the risk high and approves: the approval waits for a second reviewer.
    const a = await openPageFrom("10.88.0.1");
    await signInOnConsole(a.page, kit.url, reviewerA);
    await a.page.goto(`${kit.url}/console/applications/${id}`);
    // Per-document feedback: the proof of address is rejected on its own, with what to fix.
    const bill = a.page.locator("li.document", { hasText: "electricity-bill.pdf" });
    await bill.getByText("Reject this document").click();
    await bill.getByLabel("Label").selectOption("document_unreadable");
    await bill.getByLabel(/What the applicant should fix/).fill("The bill is cut off; upload the whole page.");
    await bill.getByRole("button", { name: "Send feedback on electricity-bill.pdf" }).click();
    await a.page.getByText("electricity-bill.pdf rejected; ask for changes").waitFor();
    await a.page.getByText("Rejected: Document unreadable").waitFor();
    const documents = await client.rpc.kyc.documents.list();
    expect(documents.map((d) => d.feedback?.message ?? null)).toEqual([
      null,
      "The bill is cut off; upload the whole page.",
    ]);
    await a.page.getByLabel("Risk level").selectOption("high");
    await a.page.getByLabel(/Why \(required; reviewers only\)/).fill("Adverse media about the employer");
    await a.page.getByRole("button", { name: "Set risk" }).click();
    await a.page.getByText("Risk set to high.").waitFor();
    await a.page.getByLabel("Approve").check();
    await a.page.getByLabel(/Internal note/).fill("Documents consistent");
    await a.page.getByRole("button", { name: "Approve" }).click();
    await a.page.getByText("Approved; a second reviewer must confirm it.").waitFor();
    await a.page.locator(".application-header .badge", { hasText: "Awaiting second approval" }).waitFor();
    await a.page.getByText("You gave the first approval").waitFor();
    await kit.screenshot(a.page, "16-awaiting-second-approval");

    // Reviewer B rejects it, final, with two labels and both texts.
    const b = await openPageFrom("10.88.0.2");
    await signInOnConsole(b.page, kit.url, reviewerB);
    await b.page.goto(`${kit.url}/console/applications/${id}`);
    await b.page.getByText("Another reviewer approved this application").waitFor();
    await b.page.getByLabel("Reject").check();
    await b.page.getByLabel("Suspected fraud").check();
    await b.page.getByLabel("Adverse media").check();
    await b.page.getByLabel(/^Final/).check();
    await b.page.getByLabel(/Internal note/).fill("Linked to a known fraud ring");
    await b.page.getByLabel(/Message to the applicant/).fill("We cannot offer you an account.");
    await b.page.getByRole("button", { name: "Reject" }).click();
    await b.page.getByText("Rejected (final).").waitFor();
    await b.page.getByText("Final rejection: the applicant may not start a new application.").waitFor();
    await b.page.getByText("Labels: Suspected fraud, Adverse media").waitFor();
    await kit.screenshot(b.page, "17-rejected-final");

    // The applicant reads the message, never the note, and may not start again.
    const own = await client.rpc.kyc.application.get();
    expect(own?.messageToApplicant).toBe("We cannot offer you an account.");
    expect(JSON.stringify(own)).not.toContain("fraud ring");
    expect(await client.rpc.kyc.application.save({ firstName: "Mallory" }).catch((e: Error) => e.message)).toContain(
      "contact support",
    );

    const c = await openPageFrom("10.88.0.3");
    await signInOnConsole(c.page, kit.url, admin);
    await c.page.goto(`${kit.url}/console/applications/${id}`);
    await c.page.getByLabel("Reason to let them apply again (required)").fill("Cleared by the compliance officer");
    await c.page.getByRole("button", { name: "Lift the block" }).click();
    await c.page.getByText("Block lifted: the applicant may apply again.").waitFor();
    expect((await client.rpc.kyc.application.save({ firstName: "Mallory" })).status).toBe("draft");
    await kit.screenshot(c.page, "18-block-lifted");

    for (const page of [a, b, c]) {
      await page.context.close();
      expect(page.errors).toEqual([]);
    }
  }, 90_000);

  test("the four-eyes rule and a lost race are explained in words", async () => {
    // Reviewer A applies too (staff pass KYC like anyone), so the console must not let A review it.
    const own = await kit.clientFor(reviewerA);
    await applyWithDocuments(own, { firstName: "Rita", lastName: "Reviewer", nationalIdNumber: "R7654321" });
    const ownApplication = await own.rpc.kyc.application.submit();

    // Refusals are HTTP errors, which Chromium logs; those two statuses are expected here, nothing else.
    const expected = /status of (403|409)/;
    const a = await kit.openPage();
    await signInOnConsole(a.page, kit.url, reviewerA);
    await a.page.goto(`${kit.url}/console/applications/${ownApplication.id}`);
    await a.page.getByRole("alert").filter({ hasText: "Not allowed: This is your own KYC application" }).waitFor();
    await kit.screenshot(a.page, "09-four-eyes");

    // B opens a submitted application with its live stream held back (a stale page), A claims it,
    // then B tries to claim: the refusal says why, and the page shows the application as it now is.
    const investor2 = await kit.createUser("investor", "Alan Turing");
    const client = await kit.clientFor(investor2);
    await applyWithDocuments(client, { firstName: "Alan", lastName: "Turing", nationalIdNumber: "T1912" });
    const application = await client.rpc.kyc.application.submit();
    const b = await kit.openPage();
    await b.page.route("**/rpc/kyc/review/events*", () => {});
    await signInOnConsole(b.page, kit.url, reviewerB);
    await b.page.goto(`${kit.url}/console/applications/${application.id}`);
    await b.page.getByRole("button", { name: "Claim for review" }).waitFor();
    await (await kit.clientFor(reviewerA)).rpc.kyc.review.claim({ applicationId: application.id });
    await b.page.getByRole("button", { name: "Claim for review" }).click();
    await b.page
      .getByRole("alert")
      .filter({ hasText: "Someone else changed this first: The application is already claimed by another reviewer" })
      .waitFor();
    await b.page.getByText("Another reviewer has claimed this application").waitFor();
    await kit.screenshot(b.page, "10-conflict");

    await a.context.close();
    await b.context.close();
    expect(a.errors.filter((e) => !expected.test(e))).toEqual([]);
    expect(b.errors.filter((e) => !expected.test(e))).toEqual([]);
  }, 60_000);
});
