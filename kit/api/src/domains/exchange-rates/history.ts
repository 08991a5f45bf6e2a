// A pair's stored quotes over time. Each point is one provider's quotes at one effective time,
// answered the way the latest rates are (direct, inverse, or a cross through quotes of that time).
import { sql } from "drizzle-orm";
import { KitError } from "../../errors";
import type { FxProvider } from "./contract-values";
import { indexQuotes, resolvePair, type StoredQuote } from "./resolve";
import { fxRates } from "./schema";
import {
  type FxDeps,
  pairsAround,
  pivotCurrencies,
  providerPreference,
  requireCurrencies,
  requireDistinct,
} from "./service";

export interface HistoryInput {
  base: string;
  quote: string;
  from?: string;
  to?: string;
  provider?: FxProvider;
  limit: number;
}

/**
 * The pair's stored quotes over time, newest first: one point per provider and effective time at
 * which that provider's quotes answer the pair (directly, inverted, or crossed through a pivot
 * quoted at the same time).
 */
export async function getHistory(deps: FxDeps, input: HistoryInput) {
  const { base, quote, limit } = input;
  requireDistinct(base, quote, "base", "quote");
  if (input.from && input.to && Date.parse(input.from) > Date.parse(input.to)) {
    const message = "from is after to; give the older time as from.";
    throw new KitError("BAD_REQUEST", message, [{ path: "from", message }]);
  }
  await requireCurrencies(deps, { base, quote });
  const pivots = pivotCurrencies(deps.config);
  const pairs = sql.join(
    pairsAround(base, quote, pivots).map(([b, q]) => sql`(${b}, ${q})`),
    sql`, `,
  );
  const filters = [sql`(base, quote) in (${pairs})`];
  if (input.provider) filters.push(sql`provider = ${input.provider}`);
  if (input.from) filters.push(sql`effective_at >= ${input.from}::timestamptz`);
  if (input.to) filters.push(sql`effective_at <= ${input.to}::timestamptz`);
  const where = sql.join(filters, sql` and `);
  // The points first (provider and time holding quotes on both sides), then their rows.
  const result = await deps.db.execute<{
    base: string;
    quote: string;
    provider: FxProvider;
    rate: string;
    effective_at: string | Date;
  }>(sql`
    with points as (
      select provider, effective_at from ${fxRates}
      where ${where}
      group by provider, effective_at
      having bool_or(base = ${base} or quote = ${base}) and bool_or(base = ${quote} or quote = ${quote})
      order by effective_at desc, provider
      limit ${limit}
    )
    select r.base, r.quote, r.provider, r.rate::text as rate, r.effective_at
    from ${fxRates} r join points p using (provider, effective_at)
    where (r.base, r.quote) in (${pairs})`);
  const groups = new Map<string, StoredQuote[]>();
  const never = new Date(8.64e15);
  for (const row of result.rows) {
    const effectiveAt = new Date(row.effective_at);
    const point = `${effectiveAt.toISOString()}|${row.provider}`;
    const stored: StoredQuote = {
      base: row.base,
      quote: row.quote,
      provider: row.provider,
      rate: row.rate,
      effectiveAt,
      expiresAt: never,
    };
    groups.set(point, [...(groups.get(point) ?? []), stored]);
  }
  const preference = await providerPreference(deps);
  const items = [...groups.values()]
    .flatMap((rows) => {
      const provider = rows[0]?.provider as FxProvider;
      const resolution = resolvePair(indexQuotes(rows), base, quote, [provider], pivots, 0);
      return resolution ? [resolution] : [];
    })
    .sort(
      (a, b) =>
        Date.parse(b.effectiveAt) - Date.parse(a.effectiveAt) ||
        preference.indexOf(a.provider) - preference.indexOf(b.provider),
    )
    .map(({ rate, provider, derivation, via, effectiveAt }) => ({ rate, provider, derivation, via, effectiveAt }));
  return { base, quote, items };
}
