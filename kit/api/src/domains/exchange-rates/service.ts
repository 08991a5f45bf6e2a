// Exchange rates: admins' manual rates, announcing changes of stored rates, and answering rates and
// conversions exactly (fetching providers' quotes is refresh.ts). Quotes are stored as the providers
// wrote them; anything derived (inverse, cross) is computed at read time from them.
import { and, asc, eq, inArray, or } from "drizzle-orm";
import type { Config } from "../../config";
import type { Deps } from "../../deps";
import { KitError } from "../../errors";
import { type AuditActor, recordAudit } from "../audit/record";
import { type CacheMember, entryTtl, readEntry, rewriteHotEntries, startNewGeneration, writeEntry } from "./cache";
import type { FxProvider } from "./contract-values";
import { multiply, parseDecimal, type Ratio, ratioOf, roundHalfEven } from "./decimal";
import { indexQuotes, type Resolution, ratioOfLegs, resolvePair, type StoredQuote } from "./resolve";
import { currencies, fxRates, fxRatesLatest } from "./schema";

export type FxDeps = Pick<Deps, "config" | "db" | "redis" | "log" | "queries" | "local">;

/** The Redis channel (under REDIS_KEY_PREFIX) told about every change of stored rates. */
export const FX_UPDATED_CHANNEL = "fx:updated";

// ---------------------------------------------------------------------------------------------
// Preferences

/**
 * Providers best first, for answering. An admin's manual rate is an explicit override: it comes
 * first unless the list places `manual` itself. Providers no longer listed still answer, last,
 * for the pairs only they have.
 */
function answerPreference(listed: readonly FxProvider[]): FxProvider[] {
  const order: FxProvider[] = listed.includes("manual") ? [...listed] : ["manual", ...listed];
  for (const provider of ["ecb", "er-api"] as const) if (!order.includes(provider)) order.push(provider);
  return order;
}

/** The order in force: the `fxProviders` system setting (FX_PROVIDERS until an admin sets one). */
export async function providerPreference(deps: FxDeps): Promise<FxProvider[]> {
  return answerPreference(await deps.queries.fxProviderOrder(deps));
}

/** Answers depend on the provider order: a change of it makes every cached answer outdated. */
export async function forgetCachedRates(deps: Pick<FxDeps, "redis" | "log" | "local">): Promise<void> {
  await startNewGeneration(deps).catch((err) => deps.log.warn({ err }, "fx cache could not be reset"));
}

/** Currencies a cross rate may go through: the configured base, then EUR and USD. */
export function pivotCurrencies(config: Pick<Config, "fx">): string[] {
  return [...new Set([config.fx.baseCurrency, "EUR", "USD"])];
}

// ---------------------------------------------------------------------------------------------
// Announcing changes, queueing refreshes (refresh.ts runs them)

export interface RefreshResult {
  provider: string;
  pairs: number;
  inserted: number;
  effectiveAt: string;
}

/** A plain PUBLISH on the prefixed channel (ioredis prefixes keys, not channels). */
export async function publishUpdate({ config, redis, log }: FxDeps, payload: RefreshResult): Promise<void> {
  try {
    await redis.publish(`${config.redis.keyPrefix}${FX_UPDATED_CHANNEL}`, JSON.stringify(payload));
  } catch (err) {
    log.warn({ err }, "fx: could not publish fx:updated");
  }
}

/** Queues one `fx.refresh` run for the worker; a queue outage is the caller's 503, not a 500. */
export async function queueRefresh({ jobs, log }: Pick<Deps, "jobs" | "log">): Promise<{ jobId: string }> {
  try {
    const job = await jobs.enqueue("fx.refresh");
    return { jobId: job.id };
  } catch (err) {
    log.warn({ err }, "fx: could not queue a refresh");
    throw new KitError("SERVICE_UNAVAILABLE", "The job queue is unavailable, so no refresh was queued; retry shortly.");
  }
}

// ---------------------------------------------------------------------------------------------
// Manual rates

export async function setManualRate(
  deps: FxDeps,
  actor: AuditActor & { userId: string },
  input: { base: string; quote: string; rate: string },
) {
  const actorId = actor.userId;
  const { base, quote, rate } = input;
  requireDistinct(base, quote, "base", "quote");
  await requireCurrencies(deps, { base, quote });
  const at = new Date();
  const expiresAt = new Date(at.getTime() + deps.config.fx.rateTtlSeconds * 1000);
  const row = { base, quote, provider: "manual" as const, rate, effectiveAt: at, fetchedAt: at, setBy: actorId };
  const stored = await deps.db.transaction(async (tx) => {
    await tx.insert(fxRates).values(row).onConflictDoNothing();
    const [latest] = await tx
      .insert(fxRatesLatest)
      .values({ ...row, expiresAt })
      .onConflictDoUpdate({
        target: [fxRatesLatest.base, fxRatesLatest.quote, fxRatesLatest.provider],
        set: { rate, effectiveAt: at, fetchedAt: at, expiresAt, setBy: actorId },
      })
      .returning();
    await recordAudit(tx, actor, {
      action: "exchange_rate.set_manually",
      subject: { type: "exchange_rate", id: `${base}/${quote}` },
      after: { rate, expiresAt: expiresAt.toISOString() },
    });
    return latest;
  });
  if (!stored) throw new Error("manual rate upsert returned no row");
  await recomputeCache(deps);
  await publishUpdate(deps, { provider: "manual", pairs: 1, inserted: 1, effectiveAt: at.toISOString() });
  deps.log.info({ base, quote, rate: stored.rate, setBy: actorId }, "fx: manual rate set");
  return {
    base,
    quote,
    rate: stored.rate,
    provider: "manual" as const,
    effectiveAt: stored.effectiveAt.toISOString(),
    expiresAt: stored.expiresAt.toISOString(),
    setBy: actorId,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading

export async function listCurrencies({ db }: FxDeps) {
  const items = await db.select().from(currencies).orderBy(asc(currencies.code));
  return { items };
}

export function requireDistinct(base: string, quote: string, baseName: string, quoteName: string) {
  if (base === quote) {
    const message = `${baseName} and ${quoteName} are both ${base}; choose two different currencies.`;
    throw new KitError("BAD_REQUEST", message, [{ path: quoteName, message }]);
  }
}

/** Minor units per code, for the fields given (name → code); a code Kit does not know is the caller's error. */
export async function requireCurrencies({ db }: FxDeps, fields: Record<string, string>): Promise<Map<string, number>> {
  const codes = [...new Set(Object.values(fields))];
  const rows = await db
    .select({ code: currencies.code, minorUnits: currencies.minorUnits })
    .from(currencies)
    .where(inArray(currencies.code, codes));
  const found = new Map(rows.map((r) => [r.code, r.minorUnits]));
  const issues = Object.entries(fields)
    .filter(([, code]) => !found.has(code))
    .map(([path, code]) => ({
      path,
      message: `${code} is not a currency Kit knows (ISO 4217); GET /api/fx/currencies lists them.`,
    }));
  if (issues.length > 0) throw new KitError("BAD_REQUEST", issues.map((i) => i.message).join(" "), issues);
  return found;
}

function toStored(row: typeof fxRatesLatest.$inferSelect): StoredQuote {
  return {
    base: row.base,
    quote: row.quote,
    provider: row.provider as FxProvider,
    rate: row.rate,
    effectiveAt: row.effectiveAt,
    expiresAt: row.expiresAt,
  };
}

/** The only pairs a resolution of base → quote can use: between the two, or with a pivot. */
export function pairsAround(base: string, quote: string, pivots: string[]): [string, string][] {
  const pairs: [string, string][] = [
    [base, quote],
    [quote, base],
  ];
  for (const pivot of pivots) {
    if (pivot === base || pivot === quote) continue;
    pairs.push([base, pivot], [pivot, base], [pivot, quote], [quote, pivot]);
  }
  return pairs;
}

async function latestAround({ db }: FxDeps, base: string, quote: string, pivots: string[]) {
  const rows = await db
    .select()
    .from(fxRatesLatest)
    .where(
      or(
        ...pairsAround(base, quote, pivots).map(([b, q]) => and(eq(fxRatesLatest.base, b), eq(fxRatesLatest.quote, q))),
      ),
    );
  return rows.map(toStored);
}

/** What a pair's cache entry holds: the resolution and the minor units of both currencies. */
interface PairEntry {
  resolution: Resolution;
  minorUnits: Record<string, number>;
}

interface BaseEntry {
  rates: Resolution[];
}

function freshUntil(resolutions: Resolution[], now: number): number | null {
  const fresh = resolutions.map((r) => Date.parse(r.expiresAt)).filter((t) => t > now);
  return fresh.length > 0 ? Math.min(...fresh) : null;
}

/** The pair's answer (cache first), or null when no provider has a rate for it. */
async function pairEntry(
  deps: FxDeps,
  base: string,
  quote: string,
  baseName: "base" | "from" = "base",
): Promise<PairEntry | null> {
  const member: CacheMember = `${base}:${quote}`;
  const cached = await readEntry<PairEntry>(deps, member);
  if (cached.value) return cached.value;
  const pivots = pivotCurrencies(deps.config);
  const [minorUnits, rows] = await Promise.all([
    requireCurrencies(deps, baseName === "from" ? { from: base, to: quote } : { base, quote }),
    latestAround(deps, base, quote, pivots),
  ]);
  const now = Date.now();
  const resolution = resolvePair(indexQuotes(rows), base, quote, await providerPreference(deps), pivots, now);
  if (!resolution) return null;
  const entry: PairEntry = { resolution, minorUnits: Object.fromEntries(minorUnits) };
  await writeEntry(deps, member, cached.version, entry, entryTtl(freshUntil([resolution], now), now));
  return entry;
}

function view(resolution: Resolution) {
  const { legs, ...rest } = resolution;
  return {
    ...rest,
    stale: Date.now() >= Date.parse(resolution.expiresAt),
    quotes: legs.map(({ base, quote, rate, effectiveAt }) => ({ base, quote, rate, effectiveAt })),
  };
}

export async function getRate(deps: FxDeps, input: { base: string; quote: string }) {
  requireDistinct(input.base, input.quote, "base", "quote");
  const entry = await pairEntry(deps, input.base, input.quote);
  return entry ? view(entry.resolution) : null;
}

/** Every quote currency reachable from `base`, or null when there is none. */
export async function getLatest(deps: FxDeps, input: { base: string }) {
  const { base } = input;
  const cached = await readEntry<BaseEntry>(deps, base);
  let entry = cached.value;
  if (!entry) {
    await requireCurrencies(deps, { base });
    const rows = (await deps.db.select().from(fxRatesLatest)).map(toStored);
    const now = Date.now();
    entry = { rates: resolveAll(deps, rows, base, now, await providerPreference(deps)) };
    if (entry.rates.length === 0) return null;
    await writeEntry(deps, base, cached.version, entry, entryTtl(freshUntil(entry.rates, now), now));
  }
  return { base, rates: entry.rates.map(view) };
}

function resolveAll(
  deps: FxDeps,
  rows: StoredQuote[],
  base: string,
  now: number,
  preference: FxProvider[],
): Resolution[] {
  const index = indexQuotes(rows);
  const codes = [...new Set(rows.flatMap((r) => [r.base, r.quote]))].filter((c) => c !== base).sort();
  const pivots = pivotCurrencies(deps.config);
  return codes.flatMap((code) => resolvePair(index, base, code, preference, pivots, now) ?? []);
}

/**
 * `amount` of `from` in `to`: the exact product of the amount and the stored quotes (inverted where
 * used backwards), rounded once, half to even, to `to`'s minor units.
 */
export async function convert(deps: FxDeps, input: { from: string; to: string; amount: string }) {
  requireDistinct(input.from, input.to, "from", "to");
  const entry = await pairEntry(deps, input.from, input.to, "from");
  if (!entry) return null;
  const amount = parseDecimal(input.amount);
  if (!amount) throw new KitError("BAD_REQUEST", "amount must be a plain decimal number such as 1250.50.");
  const minorUnits = entry.minorUnits[input.to] ?? 2;
  const { provider, derivation, via, rate, effectiveAt, expiresAt } = entry.resolution;
  const derived = derivedOf(entry.resolution);
  return {
    from: input.from,
    to: input.to,
    amount: input.amount,
    result: roundHalfEven(multiply(ratioOf(amount), derived.exact), minorUnits),
    provider,
    derivation,
    via,
    rate,
    effectiveAt,
    expiresAt,
    stale: Date.now() >= derived.expiresAtMs,
    quotes: derived.quotes,
  };
}

/**
 * What every conversion at a resolution computes the same way, once per resolution: a cached
 * entry is the same object from call to call (deps.local.fxCopies), and conversions are the
 * hottest signed-in call.
 */
const derivedByResolution = new WeakMap<
  Resolution,
  { exact: Ratio; expiresAtMs: number; quotes: ReturnType<typeof view>["quotes"] }
>();

function derivedOf(resolution: Resolution) {
  let derived = derivedByResolution.get(resolution);
  if (!derived) {
    derived = {
      exact: ratioOfLegs(resolution.legs),
      expiresAtMs: Date.parse(resolution.expiresAt),
      quotes: view(resolution).quotes,
    };
    derivedByResolution.set(resolution, derived);
  }
  return derived;
}

/** Recomputes the cached answers people are reading, after stored rates changed. */
export async function recomputeCache(deps: FxDeps): Promise<void> {
  await rewriteHotEntries<PairEntry | BaseEntry>(deps, async (members) => {
    const [rows, units] = await Promise.all([
      deps.db.select().from(fxRatesLatest),
      deps.db.select({ code: currencies.code, minorUnits: currencies.minorUnits }).from(currencies),
    ]);
    const stored = rows.map(toStored);
    const index = indexQuotes(stored);
    const minor = new Map(units.map((u) => [u.code, u.minorUnits]));
    const preference = await providerPreference(deps);
    const pivots = pivotCurrencies(deps.config);
    const now = Date.now();
    const entries = new Map<CacheMember, { value: PairEntry | BaseEntry; ttlMs: number } | null>();
    for (const member of members) {
      const [base = "", quote] = member.split(":");
      if (quote) {
        const resolution = resolvePair(index, base, quote, preference, pivots, now);
        const units = { [base]: minor.get(base) ?? 2, [quote]: minor.get(quote) ?? 2 };
        entries.set(
          member,
          resolution
            ? { value: { resolution, minorUnits: units }, ttlMs: entryTtl(freshUntil([resolution], now), now) }
            : null,
        );
      } else {
        const rates = resolveAll(deps, stored, base, now, preference);
        entries.set(
          member,
          rates.length > 0 ? { value: { rates }, ttlMs: entryTtl(freshUntil(rates, now), now) } : null,
        );
      }
    }
    return entries;
  });
}
