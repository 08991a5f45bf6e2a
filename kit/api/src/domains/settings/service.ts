// Settings: each user's preferences and notification switches, and the system's own settings.
// Postgres is the record. Redis keeps a write-through copy (cache.ts: `cache:settings:{userId}`, a
// hash with one field per part, and `cache:system:settings`), written while a save's rows are locked.
import { eq, sql } from "drizzle-orm";
import type { Config } from "../../config";
import type { Deps, DomainEvents } from "../../deps";
import { KitError } from "../../errors";
import { type Database, PG_FOREIGN_KEY_VIOLATION, postgresError, type Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import { type AuditActor, recordAudit } from "../audit/record";
import { user } from "../auth/schema";
import { getCurrency } from "../exchange-rates/currencies";
import { readThrough, SYSTEM_SLOT, saveThrough, userSlot } from "./cache";
import {
  type SystemSettings,
  systemSettingValues,
  type UpdateSystemSettingsInput,
  type UpdateUserSettingsInput,
  type UserSettings,
} from "./contract";
import { THEMES } from "./contract-values";
import { systemSettings, userSettings } from "./schema";
import { canonicalLocale, canonicalTimeZone } from "./validation";

export interface SettingsDeps {
  config: Pick<Config, "fx">;
  db: Database;
  redis: Redis;
  log: Logger;
}

function invalid(path: string, message: string): KitError {
  return new KitError("BAD_REQUEST", `Invalid input: ${path}: ${message}`, [{ path, message }]);
}

/** The name of the foreign key a failed statement violated, if that is why it failed. */
export function violatedForeignKey(error: unknown): string | undefined {
  const failure = postgresError(error);
  return failure?.code === PG_FOREIGN_KEY_VIOLATION ? failure.constraint : undefined;
}

// ---------------------------------------------------------------------------------------------
// System settings

const SYSTEM_SETTING_KEYS = Object.keys(systemSettingValues) as (keyof typeof systemSettingValues)[];
type SystemSettingKey = (typeof SYSTEM_SETTING_KEYS)[number];
type StoredSystemSettings = Record<
  string,
  { value: unknown; updatedAt: string; updatedBy: string | null; updatedByEmail?: string | null }
>;

const DEFAULT_KYC_VALIDITY_DAYS = 365;
/** The AML default: customer due-diligence records are kept five years after the relationship ends. */
const DEFAULT_RETENTION_KYC_YEARS = 5;
const DEFAULT_RETENTION_DRAFT_DAYS = 90;

async function loadSystemSettings(db: Database | Transaction): Promise<StoredSystemSettings> {
  const rows = await db
    .select({ setting: systemSettings, email: user.email })
    .from(systemSettings)
    .leftJoin(user, eq(user.id, systemSettings.updatedBy));
  return Object.fromEntries(
    rows.map(({ setting, email }) => [
      setting.key,
      {
        value: setting.value,
        updatedAt: setting.updatedAt.toISOString(),
        updatedBy: setting.updatedBy,
        updatedByEmail: email,
      },
    ]),
  );
}

function resolveSystemSettings({ config, log }: SettingsDeps, stored: StoredSystemSettings): SystemSettings {
  const values: Omit<SystemSettings, "updatedAt" | "updatedBy" | "updatedByEmail"> = {
    baseCurrency: config.fx.baseCurrency,
    kycValidityDays: DEFAULT_KYC_VALIDITY_DAYS,
    kycApprovalsRequired: 1,
    retentionKycYearsAfterEnd: DEFAULT_RETENTION_KYC_YEARS,
    retentionDraftDays: DEFAULT_RETENTION_DRAFT_DAYS,
    fxProviders: [...config.fx.providers],
  };
  let latest: StoredSystemSettings[string] | undefined;
  for (const key of SYSTEM_SETTING_KEYS) {
    const entry = stored[key];
    if (!entry) continue;
    const parsed = systemSettingValues[key].safeParse(entry.value);
    // A value written around the API that no longer fits its schema: the default serves meanwhile.
    if (!parsed.success) log.warn({ key }, "stored system setting is invalid; using its default");
    else Object.assign(values, { [key]: parsed.data });
    if (!latest || entry.updatedAt > latest.updatedAt) latest = entry;
  }
  return {
    ...values,
    updatedAt: latest?.updatedAt ?? null,
    updatedBy: latest?.updatedBy ?? null,
    // Absent from answers cached before the field existed.
    updatedByEmail: latest?.updatedByEmail ?? null,
  };
}

/**
 * The system settings with their defaults filled in (base currency and FX providers from the
 * configuration, KYC validity 365 days, one KYC approval, KYC records kept 5 years after the
 * relationship ends and untouched drafts 90 days). Other domains read them through this function.
 */
export async function getSystemSettings(deps: SettingsDeps): Promise<SystemSettings> {
  const stored = await readThrough(deps.redis, SYSTEM_SLOT, () => loadSystemSettings(deps.db));
  return resolveSystemSettings(deps, stored);
}

export async function updateSystemSettings(
  deps: SettingsDeps & Pick<Deps, "local"> & { events: Pick<DomainEvents, "fxSettingsChanged"> },
  actor: AuditActor & { userId: string },
  patch: UpdateSystemSettingsInput,
): Promise<SystemSettings> {
  const actorId = actor.userId;
  const changes: Partial<Record<SystemSettingKey, unknown>> = {};
  for (const key of SYSTEM_SETTING_KEYS) {
    if (patch[key] === undefined) continue;
    const parsed = systemSettingValues[key].safeParse(patch[key]);
    if (!parsed.success) throw invalid(key, parsed.error.issues[0]?.message ?? "invalid value");
    changes[key] = parsed.data;
  }
  if (typeof changes.baseCurrency === "string" && !(await getCurrency(deps, changes.baseCurrency))) {
    throw invalid("baseCurrency", `${changes.baseCurrency} is not a currency Kit knows`);
  }
  if (Object.keys(changes).length === 0) return getSystemSettings(deps);

  const updatedAt = new Date();
  const stored = await saveThrough(deps, SYSTEM_SLOT, async (tx) => {
    // One writer at a time, so the copy cached before each commit is the whole, newest truth.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('kit:system_settings'))`);
    const before = await loadSystemSettings(tx);
    await tx
      .insert(systemSettings)
      .values(Object.entries(changes).map(([key, value]) => ({ key, value, updatedAt, updatedBy: actorId })))
      .onConflictDoUpdate({
        target: systemSettings.key,
        set: {
          value: sql`excluded.value`,
          updatedAt: sql`excluded.updated_at`,
          updatedBy: sql`excluded.updated_by`,
        },
      });
    const after = await loadSystemSettings(tx);
    const changed = Object.keys(changes) as SystemSettingKey[];
    await recordAudit(tx, actor, {
      action: "system_settings.changed",
      subject: { type: "system_settings", id: changed.join(",") },
      before: Object.fromEntries(changed.map((key) => [key, before[key]?.value ?? null])),
      after: Object.fromEntries(changed.map((key) => [key, after[key]?.value ?? null])),
    });
    return after;
  });
  // Exchange-rate answers follow the provider order: cached ones made under the old order go
  // (exchange-rates listens).
  if (changes.fxProviders !== undefined || changes.baseCurrency !== undefined)
    await deps.events.fxSettingsChanged(deps);
  return resolveSystemSettings(deps, stored);
}

// ---------------------------------------------------------------------------------------------
// User preferences

const DEFAULT_PREFERENCES = { locale: "en", timezone: "UTC", theme: "system", signInAlerts: true } as const;

/** What is stored for a user: their row as the API shows it, or null when they never saved. */
type StoredPreferences = UserSettings | null;

function toUserSettings(row: typeof userSettings.$inferSelect): UserSettings {
  return {
    locale: row.locale,
    timezone: row.timezone,
    currency: row.currency,
    theme: row.theme as UserSettings["theme"],
    signInAlerts: row.signInAlerts,
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function loadPreferences(db: Database, userId: string): Promise<StoredPreferences> {
  const [row] = await db.select().from(userSettings).where(eq(userSettings.userId, userId));
  return row ? toUserSettings(row) : null;
}

/**
 * The user's settings, or the defaults while they have saved none. Until then the display
 * currency follows the system's base currency; a first save records the one in force.
 */
export async function getUserSettings(deps: SettingsDeps, userId: string): Promise<UserSettings> {
  const stored = await readThrough(deps.redis, userSlot(userId, "preferences"), () => loadPreferences(deps.db, userId));
  // A copy cached before sign-in alerts existed lacks the field: the default holds.
  if (stored) return { ...stored, signInAlerts: stored.signInAlerts ?? DEFAULT_PREFERENCES.signInAlerts };
  const { baseCurrency } = await getSystemSettings(deps);
  return { ...DEFAULT_PREFERENCES, currency: baseCurrency, updatedAt: null };
}

export async function updateUserSettings(
  deps: SettingsDeps,
  userId: string,
  patch: UpdateUserSettingsInput,
): Promise<UserSettings> {
  const changes: Partial<Pick<UserSettings, "locale" | "timezone" | "currency" | "theme" | "signInAlerts">> = {};
  if (patch.locale !== undefined) {
    const locale = canonicalLocale(patch.locale.trim());
    if (!locale) throw invalid("locale", "expected a BCP 47 language tag such as en, en-GB or pt-BR");
    changes.locale = locale;
  }
  if (patch.timezone !== undefined) {
    const timezone = canonicalTimeZone(patch.timezone.trim());
    if (!timezone) throw invalid("timezone", "expected an IANA time zone such as Europe/Paris, or UTC");
    changes.timezone = timezone;
  }
  if (patch.currency !== undefined) {
    const code = patch.currency.trim().toUpperCase();
    if (!(await getCurrency(deps, code))) {
      throw invalid("currency", `${code} is not a currency Kit knows; use an ISO 4217 code such as EUR`);
    }
    changes.currency = code;
  }
  if (patch.theme !== undefined) {
    if (!THEMES.includes(patch.theme)) throw invalid("theme", `expected one of ${THEMES.join(", ")}`);
    changes.theme = patch.theme;
  }
  if (patch.signInAlerts !== undefined) changes.signInAlerts = patch.signInAlerts;
  if (Object.keys(changes).length === 0) return getUserSettings(deps, userId);

  // Only a first save inserts: its unchanged values are the defaults in force now.
  const firstCurrency = changes.currency ?? (await getSystemSettings(deps)).baseCurrency;
  const updatedAt = new Date();
  try {
    const saved = await saveThrough(deps, userSlot(userId, "preferences"), async (tx) => {
      const [row] = await tx
        .insert(userSettings)
        .values({ userId, ...DEFAULT_PREFERENCES, currency: firstCurrency, ...changes, updatedAt })
        .onConflictDoUpdate({ target: userSettings.userId, set: { ...changes, updatedAt } })
        .returning();
      if (!row) throw new Error("user_settings upsert returned no row");
      return toUserSettings(row);
    });
    return saved;
  } catch (error) {
    const key = violatedForeignKey(error);
    if (key === "user_settings_currency_currencies_code_fk") {
      throw invalid("currency", `${firstCurrency} is not a currency Kit knows; choose one explicitly`);
    }
    if (key === "user_settings_user_id_user_id_fk") throw new KitError("NOT_FOUND", "Your account no longer exists.");
    throw error;
  }
}

/**
 * What account mails need of a user (auth asks through deps.queries): the language to write in and
 * whether sign-in alerts are on. The defaults while the user never saved.
 */
export async function accountMailPreferences(
  deps: SettingsDeps,
  userId: string,
): Promise<{ locale: string; signInAlerts: boolean }> {
  const { locale, signInAlerts } = await getUserSettings(deps, userId);
  return { locale, signInAlerts };
}
