// kill -9 of a sender between the relay's acceptance and the commit: the claim rolls back with the
// dead connection, the next sender sends again with the same Message-ID, and the row ends `sent`.
// SMTP cannot be part of the transaction; the Message-ID is what lets a receiver keep one copy.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { eventually } from "../../../test/eventually";
import { createTestKit } from "../../../test/kit";
import { startLocalSmtp } from "../../dev/smtp";
import { queueMails } from "./outbox";
import { mailMessages } from "./schema";
import { sendDueMail } from "./sender";

const smtp = await startLocalSmtp();
const kit = await createTestKit({ env: { SMTP_URL: smtp.url } });
afterAll(() => smtp.stop());

const src = join(import.meta.dir, "../..");
// A sender that dies the hard way right after the relay said 250.
const child = `
import { loadConfig, requireResolved } from "${join(src, "config.ts")}";
import { createDatabase } from "${join(src, "infra/db.ts")}";
import { createLogger } from "${join(src, "infra/log.ts")}";
import { sendDueMail } from "${join(src, "domains/mail/sender.ts")}";
const config = requireResolved(loadConfig(process.env));
const log = createLogger(config);
const { db } = createDatabase(config, log);
await sendDueMail({ config, db, log }, { afterSend: () => process.kill(process.pid, "SIGKILL") });
`;

test("a sender killed with SIGKILL after the relay accepted: one more send, same Message-ID, then sent", async () => {
  const to = "crash@example.com";
  await queueMails(kit.deps.db, [
    {
      to,
      template: "kyc.approved",
      locale: "en",
      data: { applicationId: "a-9", expiresAt: "2027-12-05T00:00:00Z" },
      dedupeKey: "crash:1",
    },
  ]);
  const sender = Bun.spawn(["bun", "-e", child], { env: { ...process.env, ...kit.env }, stderr: "pipe" });
  await sender.exited;
  expect(sender.signalCode).toBe("SIGKILL");
  expect(smtp.received.filter((m) => m.to.includes(to))).toHaveLength(1);

  const [after] = await kit.deps.db.select().from(mailMessages).where(eq(mailMessages.dedupeKey, "crash:1"));
  expect(after).toMatchObject({ status: "pending", attempts: 0 }); // the claim died with its connection
  // Its row lock goes when Postgres has seen the connection close and ended that backend: on a
  // loaded machine a moment later (until then SKIP LOCKED passes the row, as it should).
  await eventually(
    "the killed sender's backend gone",
    async () => {
      const { rows } = await kit.deps.db.execute<{ n: number }>(sql`
      select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
       where c.relname = 'mail_messages' and l.pid <> pg_backend_pid()
         and l.database = (select oid from pg_database where datname = current_database())`);
      return rows[0]?.n === 0;
    },
    10_000,
  );

  expect((await sendDueMail(kit.deps)).sent).toBe(1);
  const copies = smtp.received.filter((m) => m.to.includes(to));
  expect(copies).toHaveLength(2);
  expect(new Set(copies.map((m) => m.messageId))).toEqual(new Set([`<crash/1@kit.localhost>`]));
  const [row] = await kit.deps.db.select().from(mailMessages).where(eq(mailMessages.dedupeKey, "crash:1"));
  expect(row).toMatchObject({ status: "sent", attempts: 1 });
  // Nothing more to send: a third run finds the row done.
  expect((await sendDueMail(kit.deps)).sent).toBe(0);
}, 30_000);
