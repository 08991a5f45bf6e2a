// The staff's way back in, in a real browser: "Forgot your password?" on the sign-in page, the mail
// received by a real SMTP server, its link opened in the browser, a new password set there; the
// session open elsewhere before the reset has ended, and the new password signs in.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { startLocalSmtp } from "../../api/src/dev/smtp";
import { sendDueMail } from "../../api/src/domains/mail/sender";
import { CHROMIUM, type ConsoleKit, type ConsoleUser, signInOnConsole, startConsoleKit } from "./harness";

const hasChromium = existsSync(CHROMIUM);

describe.skipIf(!hasChromium)("console: password reset, end to end in Chromium", () => {
  let smtp: Awaited<ReturnType<typeof startLocalSmtp>>;
  let kit: ConsoleKit;
  let reviewer: ConsoleUser;

  beforeAll(async () => {
    smtp = await startLocalSmtp();
    kit = await startConsoleKit({ env: { SMTP_URL: smtp.url } });
    reviewer = await kit.createUser("kyc_reviewer", "Rita Reset");
  }, 60_000);

  afterAll(async () => {
    await kit?.stop();
    await smtp?.stop();
  }, 30_000);

  test("ask for a link, follow it from the mail, set a new password; the old session ends", async () => {
    const before = await kit.openPage();
    await signInOnConsole(before.page, kit.url, reviewer);

    const { context, page, errors } = await kit.openPage();
    await page.goto(`${kit.url}/console/`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("E-mail").fill(reviewer.email);
    await page.getByRole("button", { name: "Send me a reset link" }).click();
    await page.getByText("a link to choose a new password is on its way").waitFor();
    await kit.screenshot(page, "reset-01-requested");

    await sendDueMail(kit.deps); // the worker's run
    const mail = await smtp.waitFor((m) => m.to.includes(reviewer.email));
    expect(mail.subject).toBe("Reset your Kit password");
    const link = mail.text.match(/https?:\/\/\S+\/api\/auth\/reset-password\/\S+/)?.[0];
    expect(link).toBeDefined();

    await page.goto(link as string);
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/console/reset-password");
    const newPassword = "a fresh long e2e password";
    await page.getByLabel("New password").fill(newPassword);
    await page.getByLabel("The same again").fill(newPassword);
    await page.getByRole("button", { name: "Set the new password" }).click();
    await page.getByText("every session of your account has ended").waitFor();
    await kit.screenshot(page, "reset-02-done");

    await before.page.reload();
    await before.page.getByRole("button", { name: "Sign in" }).waitFor();
    await before.context.close();

    await signInOnConsole(page, kit.url, { ...reviewer, password: newPassword });
    await context.close();
    expect(errors).toEqual([]);
    expect(before.errors).toEqual([]);
  }, 60_000);
});
