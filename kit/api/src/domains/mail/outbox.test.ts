// The mail outbox against real Postgres and a real SMTP server in-process: queuing in the caller's
// transaction, sending, retries after a refusal, giving up on a permanent one, a crash between the
// relay's acceptance and the commit, and several senders sharing the queue.
import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { eq, inArray, sql } from "drizzle-orm";
import { createTestKit } from "../../../test/kit";
import { CLOSED_PORT } from "../../dev/ports";
import { startLocalSmtp } from "../../dev/smtp";
import { createMetrics } from "../../infra/metrics";
import type { NotificationEvent } from "../../notification-catalogue";
import { mailJobs } from "./jobs";
import { mailMetrics } from "./metrics";
import { queueNotificationMails } from "./outbox";
import { mailMessages } from "./schema";
import { messageIdFor, sendDueMail } from "./sender";

/** 451 for every message offered while `refusing` holds that code. */
let refusing: number | undefined;
const smtp = await startLocalSmtp({ refuse: () => refusing });
const kit = await createTestKit({ env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: "1", MAIL_MAX_ATTEMPTS: "3" } });
afterAll(() => smtp.stop());
const { db } = kit.deps;

function event<T extends NotificationEvent["type"]>(type: T, data: NotificationEvent<T>["data"]): NotificationEvent<T> {
  return { id: randomUUID(), type, occurredAt: new Date(), recipients: [], data };
}

const recipient = (locale = "en") => {
  const userId = randomUUID().replaceAll("-", "");
  return { userId, email: `${userId.slice(0, 8)}@example.com`, locale };
};

async function rowsOf(dedupePrefix: string) {
  return db
    .select()
    .from(mailMessages)
    .where(sql`${mailMessages.dedupeKey} like ${`${dedupePrefix}%`}`);
}

/** Makes every pending retry due now (the backoff is real; tests need not wait for it). */
const dueNow = () =>
  db.update(mailMessages).set({ nextAttemptAt: sql`now()` }).where(eq(mailMessages.status, "pending"));

describe("queueNotificationMails", () => {
  test("queues one mail per recipient in the caller's transaction, once per event and user", async () => {
    const e = event("kyc.approved", { applicationId: randomUUID(), expiresAt: "2027-12-05T00:00:00Z" });
    const [a, b] = [recipient("en"), recipient("de-AT")];
    await db.transaction((tx) => queueNotificationMails(tx, e, [a, b]));
    // Redelivered (the dispatcher retried after its commit was lost): nothing new.
    await db.transaction((tx) => queueNotificationMails(tx, e, [a, b]));
    const rows = await rowsOf(e.id);
    expect(rows.map((r) => r.dedupeKey).toSorted()).toEqual([`${e.id}:${a.userId}`, `${e.id}:${b.userId}`].toSorted());
    const german = rows.find((r) => r.toAddress === b.email);
    expect(german?.locale).toBe("de");
    expect(german?.subject).toBe("Ihr KYC-Antrag wurde genehmigt");
    expect(rows.every((r) => r.status === "pending" && r.attempts === 0)).toBe(true);
  });

  test("a rolled-back transaction queues nothing", async () => {
    const e = event("kyc.submitted", { applicationId: randomUUID() });
    await db
      .transaction(async (tx) => {
        await queueNotificationMails(tx, e, [recipient()]);
        throw new Error("the change that caused the event failed");
      })
      .catch(() => {});
    expect(await rowsOf(e.id)).toEqual([]);
  });
});

describe("sendDueMail", () => {
  test("sends in the reader's language with the dedupe key as Message-ID, escaping hostile values in HTML", async () => {
    const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"`;
    const e = event("kyc.rejected", { applicationId: randomUUID(), message: hostile });
    const reader = recipient("de");
    await db.transaction((tx) => queueNotificationMails(tx, e, [reader]));
    expect((await sendDueMail(kit.deps)).sent).toBeGreaterThanOrEqual(1);

    const mail = await smtp.waitFor((m) => m.to.includes(reader.email));
    expect(mail.subject).toBe("Ihr KYC-Antrag wurde abgelehnt");
    expect(mail.messageId).toBe(messageIdFor(`${e.id}:${reader.userId}`, kit.config.mail.from));
    expect(mail.text).toContain(hostile);
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp;",
    );

    const [row] = await rowsOf(e.id);
    expect(row?.status).toBe("sent");
    expect(row?.attempts).toBe(1);
    expect(row?.sentAt).not.toBeNull();
    expect(row?.data).toBeNull(); // what the event said does not stay at rest
  });

  test("a 451 is recorded and retried with backoff; the retry delivers", async () => {
    const e = event("token_operation.failed", {
      operationId: randomUUID(),
      token: "0x0000000000000000000000000000000000000001",
      tokenSymbol: "BOND",
      kind: "mint",
      reason: "execution reverted",
    });
    const reader = recipient();
    await db.transaction((tx) => queueNotificationMails(tx, e, [reader]));
    refusing = 451;
    try {
      expect(await sendDueMail(kit.deps)).toMatchObject({ sent: 0, retrying: 1 });
    } finally {
      refusing = undefined;
    }
    const [failed] = await rowsOf(e.id);
    expect(failed).toMatchObject({ status: "pending", attempts: 1 });
    expect(failed?.lastError).toStartWith("SMTP 451");
    expect(failed?.nextAttemptAt.getTime()).toBeGreaterThan((failed?.updatedAt.getTime() ?? 0) - 1);

    await dueNow();
    expect((await sendDueMail(kit.deps)).sent).toBeGreaterThanOrEqual(1);
    const [sent] = await rowsOf(e.id);
    expect(sent).toMatchObject({ status: "sent", attempts: 2 });
    expect(sent?.lastError).toStartWith("SMTP 451"); // the failure stays on record
    expect(smtp.received.filter((m) => m.to.includes(reader.email))).toHaveLength(1);
  });

  test("a 5xx refusal fails the message at once; the last try fails it too", async () => {
    const permanent = event("kyc.submitted", { applicationId: randomUUID() });
    await db.transaction((tx) => queueNotificationMails(tx, permanent, [recipient()]));
    refusing = 550;
    try {
      expect(await sendDueMail(kit.deps)).toMatchObject({ failed: 1 });
    } finally {
      refusing = undefined;
    }
    const [row] = await rowsOf(permanent.id);
    expect(row).toMatchObject({ status: "failed", attempts: 1, data: null });
    expect(row?.lastError).toStartWith("SMTP 550");

    const transient = event("kyc.submitted", { applicationId: randomUUID() });
    await db.transaction((tx) => queueNotificationMails(tx, transient, [recipient()]));
    refusing = 421;
    try {
      for (let i = 0; i < 3; i++) {
        await dueNow();
        await sendDueMail(kit.deps);
      }
    } finally {
      refusing = undefined;
    }
    const [exhausted] = await rowsOf(transient.id);
    expect(exhausted).toMatchObject({ status: "failed", attempts: 3 }); // MAIL_MAX_ATTEMPTS=3
  });

  test("a crash between the relay's acceptance and the commit resends with the same Message-ID", async () => {
    const e = event("wallet.eligible", { wallet: "0x0000000000000000000000000000000000000002", chainId: 31337 });
    const reader = recipient();
    await db.transaction((tx) => queueNotificationMails(tx, e, [reader]));
    await expect(
      sendDueMail(kit.deps, {
        afterSend: () => {
          throw new Error("worker killed");
        },
      }),
    ).rejects.toThrow("worker killed");
    const [after] = await rowsOf(e.id);
    expect(after).toMatchObject({ status: "pending", attempts: 0 }); // the claim rolled back

    await sendDueMail(kit.deps);
    const copies = smtp.received.filter((m) => m.to.includes(reader.email));
    // The relay got it twice (SMTP cannot be part of the transaction); a receiver keeps one.
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((m) => m.messageId)).size).toBe(1);
    const [row] = await rowsOf(e.id);
    expect(row).toMatchObject({ status: "sent", attempts: 1 });
  });

  test("senders running side by side send each message once (SKIP LOCKED)", async () => {
    const e = event("kyc.queue_digest", { waiting: 3, oldestSubmittedAt: null });
    const readers = Array.from({ length: 12 }, () => recipient());
    await db.transaction((tx) => queueNotificationMails(tx, e, readers));
    await Promise.all([sendDueMail(kit.deps), sendDueMail(kit.deps), sendDueMail(kit.deps)]);
    const rows = await db
      .select()
      .from(mailMessages)
      .where(
        inArray(
          mailMessages.dedupeKey,
          readers.map((r) => `${e.id}:${r.userId}`),
        ),
      );
    expect(rows.every((r) => r.status === "sent" && r.attempts === 1)).toBe(true);
    for (const reader of readers) expect(smtp.received.filter((m) => m.to.includes(reader.email))).toHaveLength(1);
  });

  test("an unreachable relay costs one try per run, recorded; the rest wait untouched", async () => {
    const e = event("kyc.submitted", { applicationId: randomUUID() });
    await db.transaction((tx) => queueNotificationMails(tx, e, [recipient(), recipient(), recipient()]));
    const closed = `smtp://127.0.0.1:${CLOSED_PORT}`;
    const config = { ...kit.config, mail: { ...kit.config.mail, smtpUrl: closed } };
    expect(await sendDueMail({ ...kit.deps, config })).toMatchObject({ sent: 0, retrying: 1 });
    const refused = await db.select().from(mailMessages).where(sql`${mailMessages.lastError} like '%ECONNREFUSED%'`);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: "pending", attempts: 1 });
    await dueNow();
    expect((await sendDueMail(kit.deps)).sent).toBeGreaterThanOrEqual(3); // the relay is back
  });

  test("without SMTP_URL, mail stays queued", async () => {
    const e = event("kyc.submitted", { applicationId: randomUUID() });
    await db.transaction((tx) => queueNotificationMails(tx, e, [recipient()]));
    const config = { ...kit.config, mail: { ...kit.config.mail, smtpUrl: undefined } };
    const outcome = await sendDueMail({ ...kit.deps, config });
    expect(outcome.sent).toBe(0);
    expect(outcome.pending).toBeGreaterThanOrEqual(1);
    expect((await rowsOf(e.id))[0]?.status).toBe("pending");
  });
});

describe("mail.send and /metrics", () => {
  test("the job sends what is due and counts each try; the gauges read the outbox", async () => {
    const metrics = createMetrics();
    const registry = metrics.registry;
    mailMetrics(registry, db);
    const e = event("kyc.submitted", { applicationId: randomUUID() });
    await db.transaction((tx) => queueNotificationMails(tx, e, [recipient()]));
    const before = await registry.getSingleMetricAsString("kit_mail_messages");
    expect(before).toMatch(/kit_mail_messages\{status="pending"\} [1-9]/);

    const [job] = mailJobs(kit.config);
    // Also what the test before left pending (it had no SMTP_URL).
    const outcome = (await job?.run(kit.deps, {}, { id: "1", attempt: 1, attempts: 1, metrics })) as { sent: number };
    expect(outcome.sent).toBeGreaterThanOrEqual(1);
    expect(await registry.getSingleMetricAsString("kit_mail_attempts_total")).toContain(
      `kit_mail_attempts_total{outcome="sent"} ${outcome.sent}`,
    );
    expect(await registry.getSingleMetricAsString("kit_mail_messages")).toContain(
      'kit_mail_messages{status="pending"} 0',
    );
    expect(await registry.getSingleMetricAsString("kit_mail_oldest_pending_seconds")).toContain(
      "kit_mail_oldest_pending_seconds 0",
    );
  });
});
