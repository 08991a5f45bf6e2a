// The dev outbox's routes: present only with the local stack's mail store, admins only, listing
// what the embedded SMTP server received (stored as JSON beside the .eml).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callApi } from "../../test/api";
import { createTestKit } from "../../test/kit";
import { createUser } from "../../test/users";
import { createApp } from "../app";
import { startLocalSmtp } from "../dev/smtp";
import { queueMails } from "../domains/mail/outbox";
import { sendDueMail } from "../domains/mail/sender";

const directory = await mkdtemp(join(tmpdir(), "kit-mail-"));
const smtp = await startLocalSmtp({ directory });
const kit = await createTestKit({ env: { SMTP_URL: smtp.url } });
afterAll(async () => {
  await smtp.stop();
  await rm(directory, { recursive: true, force: true });
});

const withStore = (env: "development" | "production") =>
  createApp({ ...kit.deps, config: { ...kit.config, env, mail: { ...kit.config.mail, devStoreDir: directory } } });

describe("GET /api/dev/mail", () => {
  test("lists what the embedded server stored, newest first, to admins only", async () => {
    await queueMails(kit.deps.db, [
      {
        to: "ada@example.com",
        template: "kyc.submitted",
        locale: "en",
        data: { applicationId: "a-1" },
        dedupeKey: "dev-mail:1",
      },
    ]);
    await sendDueMail(kit.deps);
    await smtp.waitFor((m) => m.to.includes("ada@example.com"));
    expect((await readdir(directory)).filter((f) => f.endsWith(".eml"))).toHaveLength(1);

    const app = withStore("development");
    const admin = await createUser(kit, "admin");
    const list = await callApi(app, admin, "GET", "/dev/mail");
    expect(list.status).toBe(200);
    expect(list.body.messages).toHaveLength(1);
    expect(list.body.messages[0]).toMatchObject({
      to: ["ada@example.com"],
      subject: "Your KYC application was submitted",
    });
    const one = await callApi(app, admin, "GET", `/dev/mail/${list.body.messages[0].id}`);
    expect(one.body.text).toContain("a-1");
    expect((await callApi(app, admin, "GET", "/dev/mail/unknown")).status).toBe(404);

    expect((await callApi(app, await createUser(kit, "kyc_reviewer"), "GET", "/dev/mail")).status).toBe(403);
    expect((await callApi(app, undefined, "GET", "/dev/mail")).status).toBe(401);
  });

  test("absent without the local stack's store, and in production", async () => {
    const admin = await createUser(kit, "admin");
    expect((await callApi(kit.app, admin, "GET", "/dev/mail")).status).toBe(404);
    expect((await callApi(withStore("production"), admin, "GET", "/dev/mail")).status).toBe(404);
  });
});
