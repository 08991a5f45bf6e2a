// Refreshing rates from the providers (the worker's `fx.refresh` job): the first provider in the
// order in force that answers with usable quotes is stored, then cached answers are recomputed and
// the change is announced, as service.ts does for a manual rate.
import { sql } from "drizzle-orm";
import { ProviderError, type ProviderQuote } from "./providers/common";
import { parseEcbXml } from "./providers/ecb";
import { ECB_SNAPSHOT_DATE, ECB_SNAPSHOT_XML } from "./providers/ecb-snapshot";
import { fetchers, type RemoteProvider } from "./providers/fetchers";
import { recordRefreshOutcome } from "./refresh-outcome";
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
  const failed: { provider: string; reason: string }[] = [];
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
      // ProviderError's reasons are safe to show (no URL, no body); anything else is only "failed".
      const reason = error instanceof ProviderError ? error.reason : "failed";
      failed.push({ provider, reason });
      log.warn({ provider, err: error }, "fx refresh: provider failed; trying the next");
      continue;
    }
    const stored = await storeQuotes(deps, provider, quotes);
    await recomputeCache(deps);
    const result = { provider, ...stored };
    await publishUpdate(deps, result);
    await recordRefreshOutcome(deps, { at: new Date().toISOString(), ok: true, provider, failed, snapshotDate: null });
    log.info(result, "fx refresh: rates stored");
    return result;
  }
  const snapshotDate = config.fx.offlineSnapshot ? await seedFromSnapshot(deps) : null;
  await recordRefreshOutcome(deps, { at: new Date().toISOString(), ok: false, provider: null, failed, snapshotDate });
  throw new Error(`No exchange-rate provider answered (${failed.map((f) => `${f.provider}: ${f.reason}`).join("; ")})`);
}

/**
 * Development only (FX_OFFLINE_SNAPSHOT): with no provider reachable and no rate stored at all, the
 * ECB reference rates bundled with Kit are stored, already expired, so that every answer says
 * `stale` and the Rates page says why. Any rate already stored wins: nothing is overwritten.
 * Answers the snapshot's date while the stored rates are the snapshot's.
 */
async function seedFromSnapshot(deps: FxDeps): Promise<string | null> {
  const [stored] = await deps.db
    .select({ provider: fxRatesLatest.provider, effectiveAt: fxRatesLatest.effectiveAt })
    .from(fxRatesLatest)
    .limit(1);
  const snapshotStart = new Date(`${ECB_SNAPSHOT_DATE}T00:00:00Z`).getTime();
  if (stored)
    return stored.effectiveAt.getTime() === snapshotStart && stored.provider === "ecb" ? ECB_SNAPSHOT_DATE : null;
  const known = new Set((await deps.db.select({ code: currencies.code }).from(currencies)).map((r) => r.code));
  const quotes = parseEcbXml(ECB_SNAPSHOT_XML).quotes.filter((q) => known.has(q.base) && known.has(q.quote));
  const seeded = await storeQuotes(deps, "ecb", quotes, { stale: true });
  await recomputeCache(deps);
  await publishUpdate(deps, { provider: "ecb", ...seeded });
  deps.log.warn(
    { snapshotDate: ECB_SNAPSHOT_DATE, pairs: seeded.pairs },
    "fx refresh: no provider reachable; stored the bundled ECB snapshot (stale) so that rates can be shown",
  );
  return ECB_SNAPSHOT_DATE;
}

/** Two statements in one transaction, each one multi-row insert whatever the number of quotes. */
async function storeQuotes(
  { config, db }: FxDeps,
  provider: RemoteProvider,
  quotes: ProviderQuote[],
  options: { stale?: boolean } = {},
): Promise<Omit<RefreshResult, "provider">> {
  const fetchedAt = new Date();
  // A stale seed expires as it is stored: no answer derived from it is ever fresh.
  const expiresAt = options.stale ? fetchedAt : new Date(fetchedAt.getTime() + config.fx.rateTtlSeconds * 1000);
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
