import { afterAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createUser, type TestUser } from "../../../test/users";
import { createApp } from "../../app";
import { freePort } from "../../dev/ports";
import { createRedis } from "../../infra/redis";
import { NOTIFICATION_CATALOGUE, NOTIFICATION_EVENT_TYPES } from "../../notification-catalogue";
import { auditEvents } from "../audit/schema";
import { notificationSettings, systemSettings, userSettings } from "./schema";
import { getSystemSettings, getUserSettings } from "./service";

const kit = await createTestKit();
const [alice, bob, carol, admin] = await Promise.all([
  createUser(kit, "investor"),
  createUser(kit, "investor"),
  createUser(kit, "issuer"),
  createUser(kit, "admin"),
]);

type Answer = ApiAnswer;

function call(who: TestUser | undefined, method: string, path: string, body?: unknown, app = kit.app): Promise<Answer> {
  return callApi(app, who, method, path, body);
}

type Switches = Record<string, { in_app: boolean; email: boolean }>;
/** The catalogue's defaults, with some switches changed. */
const switches = (overrides: Record<string, Partial<{ in_app: boolean; email: boolean }>> = {}): Switches =>
  Object.fromEntries(
    NOTIFICATION_EVENT_TYPES.map((type) => [type, { ...NOTIFICATION_CATALOGUE[type].defaults, ...overrides[type] }]),
  );

const DEFAULT_SETTINGS = {
  locale: "en",
  timezone: "UTC",
  currency: "EUR",
  theme: "system",
  signInAlerts: true,
  updatedAt: null,
};

/** Expects a typed 400 whose issues name `field`. */
function expectFieldError(answer: Answer, field: string) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  expect(answer.body.code).toBe("BAD_REQUEST");
  expect(answer.body.data.issues.map((i: { path: string }) => i.path)).toContain(field);
  expect(answer.body.message).toContain(field);
}

describe("user settings", () => {
  test("a user who never saved gets the defaults (currency: the system's base currency)", async () => {
    expect(await call(alice, "GET", "/settings")).toEqual({ status: 200, body: DEFAULT_SETTINGS });
    expect(await call(alice, "GET", "/settings/notifications")).toEqual({
      status: 200,
      body: { events: switches(), updatedAt: null },
    });
    expect(await kit.client.settings.get().catch((e) => e.code)).toBe("UNAUTHORIZED");
  });

  test("an update is stored in canonical form, read back, and a partial update keeps the rest", async () => {
    const saved = await call(alice, "PATCH", "/settings", {
      locale: "EN-gb",
      timezone: "europe/paris",
      currency: "usd",
      theme: "dark",
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ locale: "en-GB", timezone: "Europe/Paris", currency: "USD", theme: "dark" });
    expect(Date.parse(saved.body.updatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await call(alice, "GET", "/settings")).body).toEqual(saved.body);

    const partial = await call(alice, "PATCH", "/settings", { theme: "light", timezone: "UTC" });
    expect(partial.body).toMatchObject({ locale: "en-GB", timezone: "UTC", currency: "USD", theme: "light" });
    const [row] = await kit.deps.db.select().from(userSettings).where(eq(userSettings.userId, alice.id));
    expect(row).toMatchObject({ locale: "en-GB", timezone: "UTC", currency: "USD", theme: "light" });
    // An empty patch changes nothing.
    expect((await call(alice, "PATCH", "/settings", {})).body).toEqual(partial.body);
    // Sign-in alerts are on until switched off.
    expect(partial.body.signInAlerts).toBe(true);
    const quiet = await call(alice, "PATCH", "/settings", { signInAlerts: false });
    expect(quiet.body).toMatchObject({ signInAlerts: false, theme: "light" });
    expect((await call(alice, "GET", "/settings")).body.signInAlerts).toBe(false);
  });

  test("invalid values are a typed 400 naming the field, and change nothing", async () => {
    const before = (await call(alice, "GET", "/settings")).body;
    expectFieldError(await call(alice, "PATCH", "/settings", { locale: "en_US" }), "locale");
    expectFieldError(await call(alice, "PATCH", "/settings", { locale: "" }), "locale");
    expectFieldError(await call(alice, "PATCH", "/settings", { timezone: "Mars/Olympus_Mons" }), "timezone");
    expectFieldError(await call(alice, "PATCH", "/settings", { timezone: "+01:00" }), "timezone");
    expectFieldError(await call(alice, "PATCH", "/settings", { currency: "EURO" }), "currency");
    // Well formed, but no such currency: refused by the service, still naming the field.
    const unknown = await call(alice, "PATCH", "/settings", { currency: "QQQ", theme: "dark" });
    expectFieldError(unknown, "currency");
    expect(unknown.body.message).toContain("QQQ");
    expectFieldError(await call(alice, "PATCH", "/settings", { theme: "blue" }), "theme");
    expect((await call(alice, "GET", "/settings")).body).toEqual(before);
  });

  test("settings belong to the caller: one user's changes are invisible to another", async () => {
    await call(bob, "PATCH", "/settings", { locale: "fr-FR", theme: "dark" });
    const alices = (await call(alice, "GET", "/settings")).body;
    expect(alices.locale).toBe("en-GB");
    expect((await call(bob, "GET", "/settings")).body).toMatchObject({ locale: "fr-FR", currency: "EUR" });
    // Carol never saved: still the defaults, whatever the others did.
    expect((await call(carol, "GET", "/settings")).body).toEqual(DEFAULT_SETTINGS);
    // An id in the input is not part of the API: it is ignored, and Bob changes only his own row.
    await call(bob, "PATCH", "/settings", { userId: alice.id, locale: "de-DE" } as object);
    expect((await call(alice, "GET", "/settings")).body).toEqual(alices);
    expect((await call(bob, "GET", "/settings")).body.locale).toBe("de-DE");
  });
});

describe("notification settings", () => {
  const put = (who: TestUser, body: unknown) => call(who, "PUT", "/settings/notifications", body);

  test("defaults come from the catalogue: e-mail on for KYC decisions, off for the submission", async () => {
    const { events } = (await call(bob, "GET", "/settings/notifications")).body;
    expect(events["kyc.approved"]).toEqual({ in_app: true, email: true });
    expect(events["kyc.submitted"]).toEqual({ in_app: true, email: false });
    expect(Object.keys(events).toSorted()).toEqual([...NOTIFICATION_EVENT_TYPES].toSorted());
  });

  test("switches are replaced as a whole and read back", async () => {
    const events = switches({ "kyc.approved": { email: false }, "token_operation.confirmed": { email: true } });
    const saved = await put(alice, { events });
    expect(saved.status).toBe(200);
    expect(saved.body.events).toEqual(events);
    expect(Date.parse(saved.body.updatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await call(alice, "GET", "/settings/notifications")).body).toEqual(saved.body);
    // A row per event type and channel: a later change of the catalogue's defaults leaves them alone.
    const rows = await kit.deps.db.select().from(notificationSettings).where(eq(notificationSettings.userId, alice.id));
    expect(rows.length).toBe(NOTIFICATION_EVENT_TYPES.length * 2);
    // Other users keep the defaults.
    expect((await call(bob, "GET", "/settings/notifications")).body.events).toEqual(switches());
    // The change is in the audit trail, by the user, with the switches (nothing personal).
    const [audited] = await kit.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "notification_settings.changed"), eq(auditEvents.actorId, alice.id)));
    expect(audited).toMatchObject({ subjectId: alice.id, after: { events } });
  });

  test("an incomplete or mistyped set of switches is a 400 naming the field, and changes nothing", async () => {
    const before = (await call(carol, "GET", "/settings/notifications")).body;
    const { "kyc.approved": _, ...missing } = switches();
    expectFieldError(await put(carol, { events: missing }), "events.kyc.approved");
    expectFieldError(
      await put(carol, { events: { ...switches(), "kyc.rejected": { in_app: true, email: "yes" } } }),
      "events.kyc.rejected.email",
    );
    expectFieldError(await put(carol, {}), "events");
    expect((await call(carol, "GET", "/settings/notifications")).body).toEqual(before);
  });
});

describe("system settings", () => {
  test("only an admin may read or change them", async () => {
    for (const who of [alice, carol]) {
      expect((await call(who, "GET", "/settings/system")).status).toBe(403);
      const answer = await call(who, "PATCH", "/settings/system", { kycValidityDays: 10 });
      expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    }
    expect((await call(undefined, "GET", "/settings/system")).status).toBe(401);
    expect(await kit.deps.db.select().from(systemSettings)).toEqual([]);
  });

  test("defaults come from the configuration; typed values are checked; the change and its author are recorded", async () => {
    expect(await call(admin, "GET", "/settings/system")).toEqual({
      status: 200,
      body: {
        baseCurrency: "EUR",
        kycValidityDays: 365,
        kycApprovalsRequired: 1,
        retentionKycYearsAfterEnd: 5,
        retentionDraftDays: 90,
        fxProviders: kit.config.fx.providers,
        updatedAt: null,
        updatedBy: null,
        updatedByEmail: null,
      },
    });
    const patch = (body: unknown) => call(admin, "PATCH", "/settings/system", body);
    expectFieldError(await patch({ kycValidityDays: 0 }), "kycValidityDays");
    expectFieldError(await patch({ kycValidityDays: 3651 }), "kycValidityDays");
    expectFieldError(await patch({ kycApprovalsRequired: 3 }), "kycApprovalsRequired");
    expectFieldError(await patch({ kycApprovalsRequired: 0 }), "kycApprovalsRequired");
    expectFieldError(await patch({ kycValidityDays: 1.5 }), "kycValidityDays");
    expectFieldError(await patch({ retentionKycYearsAfterEnd: 0 }), "retentionKycYearsAfterEnd");
    expectFieldError(await patch({ retentionDraftDays: 3651 }), "retentionDraftDays");
    expectFieldError(await patch({ kycValidityDays: "30" }), "kycValidityDays");
    expectFieldError(await patch({ fxProviders: [] }), "fxProviders");
    expectFieldError(await patch({ fxProviders: ["ecb", "ecb"] }), "fxProviders");
    expectFieldError(await patch({ fxProviders: ["bloomberg"] }), "fxProviders.0");
    expectFieldError(await patch({ baseCurrency: "QQQ" }), "baseCurrency");
    expect(await kit.deps.db.select().from(systemSettings)).toEqual([]);

    const saved = await patch({ baseCurrency: "chf", kycValidityDays: 30, fxProviders: ["manual", "ecb"] });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({
      baseCurrency: "CHF",
      kycValidityDays: 30,
      fxProviders: ["manual", "ecb"],
      updatedBy: admin.id,
      updatedByEmail: admin.email,
    });
    expect((await call(admin, "GET", "/settings/system")).body).toEqual(saved.body);
    const rows = await kit.deps.db.select().from(systemSettings);
    expect(Object.fromEntries(rows.map((r) => [r.key, [r.value, r.updatedBy]]))).toEqual({
      baseCurrency: ["CHF", admin.id],
      kycValidityDays: [30, admin.id],
      fxProviders: [["manual", "ecb"], admin.id],
    });
    // What other domains read, and what a user on defaults now sees as their currency.
    expect(await getSystemSettings(kit.deps)).toEqual(saved.body);
    expect((await call(carol, "GET", "/settings")).body.currency).toBe("CHF");
    expect((await call(alice, "GET", "/settings")).body.currency).toBe("USD");

    const partial = await patch({ kycValidityDays: 90 });
    expect(partial.body).toMatchObject({ baseCurrency: "CHF", kycValidityDays: 90, fxProviders: ["manual", "ecb"] });
  });
});

describe("the Redis copy", () => {
  const cacheKey = (who: TestUser) => `cache:settings:${who.id}`;

  test("a save writes through to Redis; a warm read is served from it", async () => {
    await call(bob, "PATCH", "/settings", { timezone: "Asia/Tokyo" });
    const cached = JSON.parse((await kit.deps.redis.hget(cacheKey(bob), "preferences")) ?? "null");
    expect(cached).toMatchObject({ locale: "de-DE", timezone: "Asia/Tokyo" });
    expect(await kit.deps.redis.ttl(cacheKey(bob))).toBeGreaterThan(0);

    // Behind the cache's back, the row goes: the warm read still answers from Redis…
    await kit.deps.db.delete(userSettings).where(eq(userSettings.userId, bob.id));
    expect((await call(bob, "GET", "/settings")).body).toMatchObject({ timezone: "Asia/Tokyo" });
    // …until the copy is dropped, and the truth (no row: defaults) shows.
    await kit.deps.redis.del(cacheKey(bob));
    expect((await call(bob, "GET", "/settings")).body).toEqual({ ...DEFAULT_SETTINGS, currency: "CHF" });

    // The same for notifications.
    await call(bob, "PUT", "/settings/notifications", {
      events: switches({ "exchange_rates.stale": { email: false } }),
    });
    await kit.deps.db.delete(notificationSettings).where(eq(notificationSettings.userId, bob.id));
    expect((await call(bob, "GET", "/settings/notifications")).body.events["exchange_rates.stale"].email).toBe(false);
    await kit.deps.redis.del(cacheKey(bob));
    expect((await call(bob, "GET", "/settings/notifications")).body.events).toEqual(switches());
  });

  test("a flushed cache changes no answer", async () => {
    const read = async () => ({
      alice: (await call(alice, "GET", "/settings")).body,
      aliceNotifications: (await call(alice, "GET", "/settings/notifications")).body,
      carol: (await call(carol, "GET", "/settings")).body,
      carolNotifications: (await call(carol, "GET", "/settings/notifications")).body,
      system: (await call(admin, "GET", "/settings/system")).body,
    });
    const warm = await read();
    await kit.deps.redis.del(cacheKey(alice), cacheKey(carol), "cache:system:settings");
    expect(await read()).toEqual(warm); // cold: from Postgres
    expect(await read()).toEqual(warm); // warm again
  });

  test("concurrent saves leave Redis agreeing with Postgres", async () => {
    const locales = ["en-US", "fr-CA", "pt-BR", "ja-JP", "nl-BE", "es-MX", "it-CH", "sv-SE"];
    await Promise.all(locales.map((locale) => call(carol, "PATCH", "/settings", { locale })));
    const [row] = await kit.deps.db.select().from(userSettings).where(eq(userSettings.userId, carol.id));
    const cached = JSON.parse((await kit.deps.redis.hget(cacheKey(carol), "preferences")) ?? "null");
    expect(cached.locale).toBe(row?.locale);
  });

  test("with Redis unreachable, reads come from Postgres and saves still succeed (no 5xx)", async () => {
    const closed = await freePort();
    const deadRedis = createRedis(
      { redis: { url: `redis://127.0.0.1:${closed}`, keyPrefix: "dead:", commandTimeoutMs: 500, breakerMs: 1000 } },
      kit.deps.log,
    );
    deadRedis.on("error", () => {});
    afterAll(() => deadRedis.disconnect());
    // Sessions still resolve through better-auth (its own store); every settings read and write
    // meets the dead client.
    const withoutRedis = createApp({ ...kit.deps, redis: deadRedis });
    const expected = (await call(alice, "GET", "/settings")).body;
    expect(await call(alice, "GET", "/settings", undefined, withoutRedis)).toEqual({ status: 200, body: expected });
    expect((await call(alice, "GET", "/settings/notifications", undefined, withoutRedis)).status).toBe(200);
    expect((await call(admin, "GET", "/settings/system", undefined, withoutRedis)).status).toBe(200);
    const saved = await call(alice, "PATCH", "/settings", { theme: "system" }, withoutRedis);
    expect(saved.status).toBe(200);
    expect(saved.body.theme).toBe("system");
    expect(await getUserSettings({ ...kit.deps, redis: deadRedis }, alice.id)).toEqual(saved.body);
  });
});
