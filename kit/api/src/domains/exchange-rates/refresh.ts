// Refreshing rates from the providers (the worker's `fx.refresh` job): the first provider in the
// order in force that answers with usable quotes is stored, then cached answers are recomputed and
// the change is announced, as service.ts does for a manual rate.
import { sql } from "drizzle-orm";
import type { ProviderQuote } from "./providers/common";
import { fetchers, type RemoteProvider } from "./providers/fetchers";
import { currencies, fxRates, fxRatesLatest } from "./schema";
import { type FxDeps, publishUpdate, type RefreshResult, recomputeCache } from "./service";

/**
 * Fetches the first provider (in preference order) that answers with usable quotes and stores
 * them: new effective times go into the history, every pair's newest quote into the latest table
 * (fresh until now + FX_RATE_TTL_SECONDS). Then the cache is recomputed and `fx:updated` is
 * published. Running it twice stores nothing new the second time. Throws when no provider answers.
 */
export async function refreshRates(deps: FxDeps): Promise<RefreshResult> {
  const { config, log } = deps;
  const remote = (await deps.queries.fxProviderOrder(deps)).filter((p): p is RemoteProvider => p !== "manual");
  if (remote.length === 0) {
    log.info("fx refresh: FX_PROVIDERS names no remote provider; nothing to fetch");
    return { provider: "none", pairs: 0, inserted: 0, effectiveAt: new Date().toISOString() };
  }
  const known = new Set((await deps.db.select({ code: currencies.code }).from(currencies)).map((r) => r.code));
  const failures: string[] = [];
  for (const provider of remote) {
    let quotes: ProviderQuote[];
    try {
      const fetched = await fetchers[provider](config.fx);
      if (fetched.rejected.length > 0) {
        log.warn({ provider, entries: fetched.rejected }, "fx refresh: skipped malformed entries");
      }
      quotes = fetched.quotes.filter((q) => known.has(q.base) && known.has(q.quote));
      const unknown = fetched.quotes.filter((q) => !known.has(q.base) || !known.has(q.quote));
      if (unknown.length > 0) {
        const codes = [...new Set(unknown.flatMap((q) => [q.base, q.quote]).filter((c) => !known.has(c)))];
        log.warn({ provider, codes }, "fx refresh: skipped codes that are not known currencies");
      }
      if (quotes.length === 0) throw new Error(`${provider}: no quote for a known currency`);
    } catch (error) {
      failures.push((error as Error).message);
      log.warn({ provider, err: error }, "fx refresh: provider failed; trying the next");
      continue;
    }
    const stored = await storeQuotes(deps, provider, quotes);
    await recomputeCache(deps);
    const result = { provider, ...stored };
    await publishUpdate(deps, result);
    log.info(result, "fx refresh: rates stored");
    return result;
  }
  throw new Error(`No exchange-rate provider answered (${failures.join("; ")})`);
}

/** Two statements in one transaction, each one multi-row insert whatever the number of quotes. */
async function storeQuotes(
  { config, db }: FxDeps,
  provider: RemoteProvider,
  quotes: ProviderQuote[],
): Promise<Omit<RefreshResult, "provider">> {
  const fetchedAt = new Date();
  const expiresAt = new Date(fetchedAt.getTime() + config.fx.rateTtlSeconds * 1000);
  // The latest table takes each pair's newest quote only (a history document has several days).
  const newest = new Map<string, ProviderQuote>();
  for (const q of quotes) {
    const pair = `${q.base}:${q.quote}`;
    const seen = newest.get(pair);
    if (!seen || seen.effectiveAt < q.effectiveAt) newest.set(pair, q);
  }
  const latest = [...newest.values()];
  const column = <T>(rows: ProviderQuote[], pick: (q: ProviderQuote) => T) => sql.param(rows.map(pick));
  const inserted = await db.transaction(async (tx) => {
    const history = await tx.execute(sql`
      insert into ${fxRates} (base, quote, provider, rate, effective_at, fetched_at)
      select t.base, t.quote, ${provider}, t.rate, t.effective_at, ${fetchedAt}
      from unnest(
        ${column(quotes, (q) => q.base)}::text[], ${column(quotes, (q) => q.quote)}::text[],
        ${column(quotes, (q) => q.rate)}::numeric[], ${column(quotes, (q) => q.effectiveAt.toISOString())}::timestamptz[]
      ) as t(base, quote, rate, effective_at)
      on conflict on constraint fx_rates_pair_provider_effective_unique do nothing
      returning 1`);
    // A provider answering with an older day than the one stored does not move the latest back.
    await tx.execute(sql`
      insert into ${fxRatesLatest} (base, quote, provider, rate, effective_at, fetched_at, expires_at)
      select t.base, t.quote, ${provider}, t.rate, t.effective_at, ${fetchedAt}, ${expiresAt}
      from unnest(
        ${column(latest, (q) => q.base)}::text[], ${column(latest, (q) => q.quote)}::text[],
        ${column(latest, (q) => q.rate)}::numeric[], ${column(latest, (q) => q.effectiveAt.toISOString())}::timestamptz[]
      ) as t(base, quote, rate, effective_at)
      on conflict (base, quote, provider) do update set
        rate = excluded.rate, effective_at = excluded.effective_at, fetched_at = excluded.fetched_at,
        expires_at = excluded.expires_at, set_by = null
      where excluded.effective_at >= ${fxRatesLatest}.effective_at`);
    return history.rowCount ?? 0;
  });
  const effectiveAt = new Date(Math.max(...latest.map((q) => q.effectiveAt.getTime()))).toISOString();
  return { pairs: latest.length, inserted, effectiveAt };
}
