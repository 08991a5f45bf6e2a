import { z } from "zod";
import { currencyCode, isoDateTime } from "../../contract-fields";
import { NOTIFICATION_EVENT_TYPES, type NotificationEventType } from "../../notification-catalogue";
import { base } from "../../rpc/base";
import { FX_PROVIDERS } from "../exchange-rates/contract-values";
import { THEMES } from "./contract-values";
import { canonicalLocale, canonicalTimeZone } from "./validation";

const locale = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine((v) => canonicalLocale(v) !== null, "expected a BCP 47 language tag such as en, en-GB or pt-BR")
  .meta({ description: "BCP 47 language tag; stored in canonical form (en-us → en-US)" });

const timezone = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine((v) => canonicalTimeZone(v) !== null, "expected an IANA time zone such as Europe/Paris, or UTC")
  .meta({ description: "IANA time zone name, or UTC" });

const knownCurrency = currencyCode().meta({ description: "ISO 4217 code of a currency Kit knows" });

const theme = z.enum(THEMES);

const userSettings = z.object({
  locale: z.string(),
  timezone: z.string(),
  currency: z.string().meta({ description: "Display currency; the system's base currency until you choose one" }),
  theme,
  signInAlerts: z
    .boolean()
    .meta({ description: "Mail me when my account is signed in to from a browser or address not seen before" }),
  updatedAt: isoDateTime.nullable().meta({ description: "When you last saved; null while all values are defaults" }),
});

const updateUserSettingsInput = z.object({
  locale: locale.optional(),
  timezone: timezone.optional(),
  currency: knownCurrency.optional(),
  theme: theme.optional(),
  signInAlerts: z.boolean().optional(),
});

const switches = z.object({
  in_app: z.boolean().meta({ description: "In your inbox in the dApp and the console" }),
  email: z.boolean().meta({ description: "By e-mail, in your locale" }),
});

/**
 * The switches, by event type of the notifications catalogue, then channel. Webhooks have no switch
 * here: each webhook endpoint has its own event filter.
 */
const notificationEvents = z.object(
  Object.fromEntries(NOTIFICATION_EVENT_TYPES.map((type) => [type, switches])) as Record<
    NotificationEventType,
    typeof switches
  >,
);

const notificationSettings = z.object({
  events: notificationEvents,
  updatedAt: isoDateTime.nullable().meta({ description: "When you last saved; null while all values are defaults" }),
});

const replaceNotificationSettingsInput = z.object({ events: notificationEvents });

const fxProvider = z.enum(FX_PROVIDERS);

/** One schema per system setting: what a stored value must be, and what an admin may set. */
export const systemSettingValues = {
  baseCurrency: knownCurrency,
  kycValidityDays: z.number().int().min(1).max(3_650).meta({ description: "How long an approved KYC stays valid" }),
  kycApprovalsRequired: z
    .number()
    .int()
    .min(1, "1 or 2")
    .max(2, "1 or 2")
    .meta({ description: "Approvals a KYC application needs: 1, or 2 (two-person rule; a high risk always needs 2)" }),
  retentionKycYearsAfterEnd: z.number().int().min(1, "at least 1 year").max(30, "at most 30 years").meta({
    description:
      "Years a KYC record is kept after the relationship ended (5: the AML default); then the retention job erases it",
  }),
  retentionDraftDays: z
    .number()
    .int()
    .min(1, "at least 1 day")
    .max(3_650, "at most 3650 days")
    .meta({ description: "Days an untouched, never-submitted KYC draft is kept; then the retention job erases it" }),
  fxProviders: z
    .array(fxProvider)
    .min(1)
    .max(FX_PROVIDERS.length)
    .refine((list) => new Set(list).size === list.length, "list each provider once")
    .meta({ description: "Exchange-rate providers, most preferred first" }),
};

const systemSettings = z.object({
  baseCurrency: z.string(),
  kycValidityDays: z.number().int(),
  kycApprovalsRequired: z.number().int(),
  retentionKycYearsAfterEnd: z.number().int(),
  retentionDraftDays: z.number().int(),
  fxProviders: z.array(fxProvider),
  updatedAt: isoDateTime.nullable().meta({ description: "Last change to any system setting" }),
  updatedBy: z.string().nullable().meta({ description: "Id of the admin who made the last change" }),
  updatedByEmail: z
    .string()
    .nullable()
    .meta({ description: "E-mail of the admin who made the last change (null once that account is deleted)" }),
});

const updateSystemSettingsInput = z.object({
  baseCurrency: systemSettingValues.baseCurrency.optional(),
  kycValidityDays: systemSettingValues.kycValidityDays.optional(),
  kycApprovalsRequired: systemSettingValues.kycApprovalsRequired.optional(),
  retentionKycYearsAfterEnd: systemSettingValues.retentionKycYearsAfterEnd.optional(),
  retentionDraftDays: systemSettingValues.retentionDraftDays.optional(),
  fxProviders: systemSettingValues.fxProviders.optional(),
});

export type UserSettings = z.infer<typeof userSettings>;
export type UpdateUserSettingsInput = z.infer<typeof updateUserSettingsInput>;
export type NotificationSettings = z.infer<typeof notificationSettings>;
export type ReplaceNotificationSettingsInput = z.infer<typeof replaceNotificationSettingsInput>;
export type SystemSettings = z.infer<typeof systemSettings>;
export type UpdateSystemSettingsInput = z.infer<typeof updateSystemSettingsInput>;

const manageSystem = { settings: ["manage_system" as const] };
const read = { settings: ["read" as const] };
const write = { settings: ["write" as const] };

export const settingsContract = {
  get: base
    .route({ method: "GET", path: "/settings", tags: ["settings"], summary: "Your locale, time zone, currency, theme" })
    .meta({ access: "user", keyGrant: read })
    .output(userSettings),
  update: base
    .route({ method: "PATCH", path: "/settings", tags: ["settings"], summary: "Change some of your settings" })
    .meta({ access: "user", keyGrant: write, errors: ["NOT_FOUND"] })
    .input(updateUserSettingsInput)
    .output(userSettings),
  notifications: {
    get: base
      .route({
        method: "GET",
        path: "/settings/notifications",
        tags: ["settings"],
        summary: "Which events reach you in the inbox and by e-mail",
      })
      .meta({ access: "user", keyGrant: read })
      .output(notificationSettings),
    update: base
      .route({
        method: "PUT",
        path: "/settings/notifications",
        tags: ["settings"],
        summary: "Replace your notification switches (every event type, both channels)",
      })
      .meta({ access: "user", keyGrant: write })
      .input(replaceNotificationSettingsInput)
      .output(notificationSettings),
  },
  system: {
    get: base
      .route({ method: "GET", path: "/settings/system", tags: ["settings"], summary: "System settings (admin)" })
      .meta({ access: "user", permission: manageSystem, keyGrant: { settings: ["read_system"] } })
      .output(systemSettings),
    update: base
      .route({
        method: "PATCH",
        path: "/settings/system",
        tags: ["settings"],
        summary: "Change some system settings (admin)",
      })
      .meta({ access: "user", permission: manageSystem, keyGrant: manageSystem })
      .input(updateSystemSettingsInput)
      .output(systemSettings),
  },
};
