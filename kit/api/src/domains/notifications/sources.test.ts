// Where events come from, against real Postgres: the scheduled ones record each notice once however
// often they run (approval expiry at 30 and 7 days, the reviewers' daily digest, one FX staleness
// episode), and the token operations and eligibility record theirs with the change.
import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createSubmittedApplication, moveApplication } from "../../../test/kyc";
import { createUser } from "../../../test/users";
import type { NotificationEventType } from "../../notification-catalogue";
import { fxRatesLatest } from "../exchange-rates/schema";
import { checkStaleness } from "../exchange-rates/staleness";
import { failRegistration, recordExpiryNotices, recordQueueDigest } from "../kyc/notices";
import { kycOnchainRegistrations } from "../kyc/schema";
import { recordAwaitingApprovalNotice } from "../operations/notices";
import { tokenGrants, tokenOperations } from "../operations/schema";
import { transition } from "../operations/store";
import { notificationEvents } from "./schema";

const kit = await createTestKit();
const { db } = kit.deps;
const DAY = 24 * 60 * 60 * 1000;
const [admin, reviewer] = await Promise.all([createUser(kit, "admin"), createUser(kit, "kyc_reviewer")]);

const eventsOf = (type: NotificationEventType) =>
  db.select().from(notificationEvents).where(eq(notificationEvents.type, type)).orderBy(notificationEvents.occurredAt);

describe("scheduled notices", () => {
  test("an approval is told once at 30 days and once at 7, however often the job runs", async () => {
    const applicant = await createApplicant(kit);
    const application = await createSubmittedApplication(kit, applicant);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 20 * DAY);
    await moveApplication(kit, application.id, "approved", { reviewerId: reviewer.id, expiresAt });
    expect(await recordExpiryNotices(kit.deps, now)).toEqual({ recorded: 1 });
    expect(await recordExpiryNotices(kit.deps, now)).toEqual({ recorded: 0 });
    const later = new Date(now.getTime() + 14 * DAY);
    expect(await recordExpiryNotices(kit.deps, later)).toEqual({ recorded: 1 });
    expect(await recordExpiryNotices(kit.deps, later)).toEqual({ recorded: 0 });
    const events = await eventsOf("kyc.approval_expiring");
    expect(events.map((e) => [e.recipients, e.data])).toEqual([
      [[applicant.id], { applicationId: application.id, expiresAt: expiresAt.toISOString(), daysLeft: 30 }],
      [[applicant.id], { applicationId: application.id, expiresAt: expiresAt.toISOString(), daysLeft: 7 }],
    ]);
    // Past its end there is nothing left to announce.
    expect(await recordExpiryNotices(kit.deps, new Date(now.getTime() + 21 * DAY))).toEqual({ recorded: 0 });
  });

  test("the reviewers' digest: once a day while applications wait, to reviewers only", async () => {
    const today = new Date("2026-12-05T08:00:00Z");
    expect(await recordQueueDigest(kit.deps, today)).toEqual({ waiting: 0 });
    expect(await eventsOf("kyc.queue_digest")).toEqual([]);
    const submittedAt = new Date("2026-12-04T10:00:00Z");
    await createSubmittedApplication(kit, await createApplicant(kit), { submittedAt });
    await createSubmittedApplication(kit, await createApplicant(kit));
    expect(await recordQueueDigest(kit.deps, today)).toEqual({ waiting: 2 });
    expect(await recordQueueDigest(kit.deps, new Date("2026-12-05T20:00:00Z"))).toEqual({ waiting: 2 });
    expect(await recordQueueDigest(kit.deps, new Date("2026-12-06T08:00:00Z"))).toEqual({ waiting: 2 });
    const events = await eventsOf("kyc.queue_digest");
    expect(events.length).toBe(2);
    expect(events[0]?.recipients).toEqual([reviewer.id]);
    expect(events[0]?.data).toEqual({ waiting: 2, oldestSubmittedAt: submittedAt.toISOString() });
  });

  test("stale exchange rates: admins hear once per episode, not once per check", async () => {
    const now = new Date();
    const quote = (quoteCode: string, expiresAt: Date) => ({
      base: "EUR",
      quote: quoteCode,
      provider: "ecb",
      rate: "1.1",
      effectiveAt: now,
      fetchedAt: now,
      expiresAt,
    });
    await db.insert(fxRatesLatest).values([quote("USD", new Date(now.getTime() + DAY)), quote("CHF", now)]);
    const at = (ms: number) => new Date(now.getTime() + ms);
    expect(await checkStaleness(kit.deps, at(1_000))).toEqual({ stale: 1, episode: "opened" });
    expect(await checkStaleness(kit.deps, at(2_000))).toEqual({ stale: 1, episode: "open" });
    expect(await checkStaleness(kit.deps, at(3_000))).toEqual({ stale: 1, episode: "open" });
    await db
      .update(fxRatesLatest)
      .set({ expiresAt: at(DAY) })
      .where(eq(fxRatesLatest.quote, "CHF"));
    expect(await checkStaleness(kit.deps, at(4_000))).toEqual({ stale: 0, episode: "closed" });
    expect(await checkStaleness(kit.deps, at(5_000))).toEqual({ stale: 0, episode: "none" });
    // A second episode is a second notice.
    expect(await checkStaleness(kit.deps, at(2 * DAY))).toEqual({ stale: 2, episode: "opened" });
    const events = await eventsOf("exchange_rates.stale");
    expect(events.map((e) => [e.recipients, (e.data as { pairs: string[] }).pairs])).toEqual([
      [[admin.id], ["EUR/CHF"]],
      [[admin.id], ["EUR/CHF", "EUR/USD"]],
    ]);
  });
});

describe("recorded with the change", () => {
  const token = `0x${"ab".repeat(20)}`;

  async function operation(requestedBy: string, status: "submitted" | "awaiting_approval") {
    const [row] = await db
      .insert(tokenOperations)
      .values({
        chainId: kit.config.chain.id,
        token,
        kind: "mint",
        parameters: { recipients: [] },
        requestedBy,
        requestHash: randomUUID(),
        status,
        txHash: `0x${"cd".repeat(32)}`,
      })
      .returning();
    if (!row) throw new Error("no operation");
    return row;
  }

  test("an operation settling tells its requester once, a reorg and a second confirmation notwithstanding", async () => {
    const issuer = await createUser(kit, "issuer");
    const op = await operation(issuer.id, "submitted");
    expect(await transition(db, op.id, { from: "submitted", to: "confirmed" })).toBe(true);
    expect(await transition(db, op.id, { from: "confirmed", to: "submitted", reason: "a reorg" })).toBe(true);
    expect(await transition(db, op.id, { from: "submitted", to: "confirmed" })).toBe(true);
    const events = await eventsOf("token_operation.confirmed");
    expect(events.map((e) => [e.recipients, e.data])).toEqual([
      [[issuer.id], { operationId: op.id, token, tokenSymbol: "", kind: "mint", txHash: `0x${"cd".repeat(32)}` }],
    ]);
    // A move that does not happen (another got there first) records nothing.
    const failed = await operation(issuer.id, "submitted");
    expect(await transition(db, failed.id, { from: "signed", to: "failed" })).toBe(false);
    expect(await transition(db, failed.id, { from: "submitted", to: "failed", set: { error: "reverted" } })).toBe(true);
    expect((await eventsOf("token_operation.failed")).map((e) => e.data)).toEqual([
      { operationId: failed.id, token, tokenSymbol: "", kind: "mint", reason: "reverted" },
    ]);
  });

  test("awaiting approval: every issuer granted on the token but the requester", async () => {
    const [requester, second, third] = await Promise.all([
      createUser(kit, "issuer"),
      createUser(kit, "issuer"),
      createUser(kit, "issuer"),
    ]);
    await db
      .insert(tokenGrants)
      .values([requester, second, third].map((u) => ({ chainId: kit.config.chain.id, token, userId: u.id })));
    const op = await operation(requester.id, "awaiting_approval");
    await db.transaction((tx) => recordAwaitingApprovalNotice(tx, op));
    const [event] = await eventsOf("token_operation.awaiting_approval");
    expect(event?.recipients.toSorted()).toEqual([second.id, third.id].toSorted());
    expect(event?.data).toMatchObject({ operationId: op.id, requestedBy: requester.id });
  });

  test("a registration given up on tells its owner once", async () => {
    const applicant = await createApplicant(kit);
    const application = await createSubmittedApplication(kit, applicant);
    const [row] = await db
      .insert(kycOnchainRegistrations)
      .values({
        applicationId: application.id,
        userId: applicant.id,
        wallet: `0x${"ef".repeat(20)}`,
        chainId: kit.config.chain.id,
        country: 250,
      })
      .returning();
    await failRegistration(db, row?.id as string, { error: "the chain said no" });
    await failRegistration(db, row?.id as string, { error: "the chain said no again" });
    const events = await db
      .select()
      .from(notificationEvents)
      .where(
        and(
          eq(notificationEvents.type, "wallet.eligibility_failed"),
          sql`${notificationEvents.recipients} @> array[${applicant.id}]::text[]`,
        ),
      );
    expect(events.map((e) => e.data)).toEqual([
      { wallet: `0x${"ef".repeat(20)}`, chainId: kit.config.chain.id, reason: "the chain said no" },
    ]);
    const [after] = await db
      .select()
      .from(kycOnchainRegistrations)
      .where(eq(kycOnchainRegistrations.id, row?.id ?? ""));
    expect(after).toMatchObject({ status: "failed", error: "the chain said no again" });
  });
});
