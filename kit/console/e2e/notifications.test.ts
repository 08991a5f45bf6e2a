// The console's inbox in Chromium against a real Kit: a reviewer's unread count in the header, the
// notifications page, marking one read and all read, and a new notification arriving live (the
// dispatcher runs in-process here, on the same database and Redis prefix as the api process).
// Screenshots: kit/console/e2e/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dispatchNotifications } from "../../api/src/domains/notifications/dispatch";
import { inAppFanOut } from "../../api/src/domains/notifications/inbox";
import { recordNotification } from "../../api/src/domains/notifications/record";
import { CHROMIUM, type ConsoleKit, type ConsoleUser, signInOnConsole, startConsoleKit } from "./harness";

const hasChromium = existsSync(CHROMIUM);

describe.skipIf(!hasChromium)("the console's notifications, in Chromium", () => {
  let kit: ConsoleKit;
  let reviewer: ConsoleUser;

  beforeAll(async () => {
    kit = await startConsoleKit();
    reviewer = await kit.createUser("kyc_reviewer", "Nora Notified");
  }, 60_000);

  afterAll(async () => {
    await kit?.stop();
  }, 30_000);

  async function notify(waiting: number): Promise<void> {
    await kit.deps.db.transaction((tx) =>
      recordNotification(
        tx,
        "kyc.queue_digest",
        { recipients: [reviewer.id] },
        { waiting, oldestSubmittedAt: "2026-12-01T09:00:00.000Z" },
      ),
    );
    await dispatchNotifications(kit.deps, { in_app: inAppFanOut });
  }

  test("unread count in the header, mark one and all read, a new one arrives live", async () => {
    await notify(3);
    await notify(5);
    const { context, page, errors } = await kit.openPage();
    await signInOnConsole(page, kit.url, reviewer);
    const nav = page.getByRole("navigation", { name: "Sections" });
    const unread = (text: string) => page.getByRole("paragraph").filter({ hasText: text }).waitFor();
    await nav.getByRole("link", { name: "Notifications 2 unread" }).click();
    await page.getByRole("heading", { name: "Notifications" }).waitFor();
    await unread("2 unread");
    await page.getByText("5 KYC applications").waitFor();
    expect(await page.locator("table.notifications tbody tr").count()).toBe(2);
    await kit.screenshot(page, "40-notifications");

    await page.getByRole("button", { name: "Mark read" }).first().click();
    await unread("1 unread");
    await nav.getByRole("link", { name: "Notifications 1 unread" }).waitFor();

    // Arrives without a reload: the count and the first page follow the stream.
    await notify(8);
    await page.getByText("8 KYC applications").waitFor();
    await unread("2 unread");

    await page.getByLabel("Unread only").check();
    // The one read before leaves the list once the filtered page has loaded.
    await page.getByText("5 KYC applications").waitFor({ state: "detached" });
    await page.locator("table.notifications tbody tr").nth(1).waitFor();
    expect(await page.locator("table.notifications tbody tr").count()).toBe(2);
    await page.getByRole("button", { name: "Mark all read" }).click();
    await page.getByText("Marked 2 read.").waitFor();
    await unread("0 unread");
    await page.getByText("Nothing unread.").waitFor();
    expect(await nav.getByRole("link", { name: "Notifications" }).textContent()).toBe("Notifications");
    await kit.screenshot(page, "41-notifications-all-read");
    await context.close();
    expect(errors).toEqual([]);
  }, 60_000);
});
