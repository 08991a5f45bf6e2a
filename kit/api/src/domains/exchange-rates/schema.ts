// Currencies and exchange rates. Rates are stored exactly as providers give them (numeric with no
// fixed scale); conversions derive what they need at read time.
import { sql } from "drizzle-orm";
import {
  char,
  check,
  index,
  numeric,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";

const at = (name: string) => timestamp(name, { withTimezone: true });

export const currencies = pgTable(
  "currencies",
  {
    code: char("code", { length: 3 }).primaryKey(),
    name: text("name").notNull(),
    /** Digits after the decimal point (ISO 4217): JPY 0, EUR 2, BHD 3. */
    minorUnits: smallint("minor_units").notNull(),
  },
  (table) => [
    check("currencies_code_check", sql`${table.code} ~ '^[A-Z]{3}$'`),
    check("currencies_minor_units_check", sql`${table.minorUnits} between 0 and 4`),
  ],
);

const rateColumns = {
  base: char("base", { length: 3 })
    .notNull()
    .references(() => currencies.code),
  quote: char("quote", { length: 3 })
    .notNull()
    .references(() => currencies.code),
  provider: text("provider").notNull(),
  /** Units of `quote` per one unit of `base`, as the provider wrote it. */
  rate: numeric("rate").notNull(),
  effectiveAt: at("effective_at").notNull(),
  fetchedAt: at("fetched_at").notNull(),
  /** For `manual` rates: the admin who set it. */
  setBy: text("set_by"),
};

const rateChecks = (name: string, table: { provider: unknown; rate: unknown; base: unknown; quote: unknown }) => [
  check(`${name}_provider_check`, sql`${table.provider} in ('ecb', 'er-api', 'manual')`),
  check(`${name}_rate_check`, sql`${table.rate} > 0`),
  check(`${name}_pair_check`, sql`${table.base} <> ${table.quote}`),
];

/** Every quote ever stored: one row per pair, provider and effective time. */
export const fxRates = pgTable("fx_rates", rateColumns, (table) => [
  unique("fx_rates_pair_provider_effective_unique").on(table.base, table.quote, table.provider, table.effectiveAt),
  index("fx_rates_pair_effective_idx").on(table.base, table.quote, table.effectiveAt.desc()),
  ...rateChecks("fx_rates", table),
]);

/** The newest quote per pair and provider, with the time after which it is stale. */
export const fxRatesLatest = pgTable(
  "fx_rates_latest",
  { ...rateColumns, expiresAt: at("expires_at").notNull() },
  (table) => [
    primaryKey({ columns: [table.base, table.quote, table.provider] }),
    ...rateChecks("fx_rates_latest", table),
  ],
);

/**
 * A time during which some pair had no fresh quote from any provider (staleness.ts): opened by the
 * first check that finds one, closed by the first that finds none. Admins hear of each once.
 */
export const fxStaleEpisodes = pgTable(
  "fx_stale_episodes",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    startedAt: at("started_at").notNull().defaultNow(),
    endedAt: at("ended_at"),
    /** `EUR/USD`, as the notification names them. */
    pairs: text("pairs").array().notNull(),
  },
  (table) => [index("fx_stale_episodes_open_idx").on(table.startedAt).where(sql`${table.endedAt} is null`)],
);
