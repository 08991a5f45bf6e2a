// Which stored quotes answer a pair: pure functions over rows, shared by reads, the cache warmer and
// history. One provider answers a pair (its quotes are never mixed with another's), by the
// preference order among fresh quotes, else among stale ones; within it, the direct quote, else the
// inverse, else a cross through a pivot currency both sides are quoted against.

import type { FxProvider } from "./contract-values";
import { invert, multiply, parseDecimal, type Ratio, ratioOf, toSignificant } from "./decimal";

/** A row of fx_rates_latest (or of fx_rates, with no expiry), as read from Postgres. */
export interface StoredQuote {
  base: string;
  quote: string;
  provider: FxProvider;
  /** Decimal text exactly as stored. */
  rate: string;
  effectiveAt: Date;
  expiresAt: Date;
}

export interface Leg {
  base: string;
  quote: string;
  rate: string;
  effectiveAt: string;
  /** The leg is used against its direction (quote → base). */
  inverted: boolean;
}

/** How a pair is answered; JSON-safe, so that it can be cached as it is. */
export interface Resolution {
  base: string;
  quote: string;
  provider: FxProvider;
  derivation: "direct" | "inverse" | "cross";
  via: string | null;
  /** Units of quote per base: the stored text for a direct quote, otherwise the exact ratio to 20 significant digits. */
  rate: string;
  legs: Leg[];
  /** The oldest effective time among the legs. */
  effectiveAt: string;
  /** The earliest expiry among the legs: past it, the answer is stale. */
  expiresAt: string;
}

/** Significant digits shown for a derived rate (conversions use the exact ratio, not this text). */
const DERIVED_RATE_DIGITS = 20;

function key(provider: string, base: string, quote: string) {
  return `${provider}|${base}|${quote}`;
}

function leg(row: StoredQuote, inverted: boolean): Leg {
  return {
    base: row.base,
    quote: row.quote,
    rate: row.rate,
    effectiveAt: row.effectiveAt.toISOString(),
    inverted,
  };
}

/** The exact rate of a resolution: the product of its legs, inverted where used backwards. */
export function ratioOfLegs(legs: Leg[]): Ratio {
  return legs.reduce<Ratio>(
    (acc, l) => {
      const decimal = parseDecimal(l.rate);
      if (!decimal || decimal.units === 0n) throw new Error(`stored rate ${l.rate} is not a positive decimal`);
      const ratio = ratioOf(decimal);
      return multiply(acc, l.inverted ? invert(ratio) : ratio);
    },
    { num: 1n, den: 1n },
  );
}

type Path = { derivation: Resolution["derivation"]; via: string | null; rows: [StoredQuote, boolean][] };

function pathFor(
  index: Map<string, StoredQuote>,
  provider: string,
  base: string,
  quote: string,
  pivots: string[],
): Path | null {
  const edge = (from: string, to: string): [StoredQuote, boolean] | null => {
    const forward = index.get(key(provider, from, to));
    if (forward) return [forward, false];
    const backward = index.get(key(provider, to, from));
    return backward ? [backward, true] : null;
  };
  const direct = edge(base, quote);
  if (direct) return { derivation: direct[1] ? "inverse" : "direct", via: null, rows: [direct] };
  for (const pivot of pivots) {
    if (pivot === base || pivot === quote) continue;
    const first = edge(base, pivot);
    const second = first && edge(pivot, quote);
    if (first && second) return { derivation: "cross", via: pivot, rows: [first, second] };
  }
  return null;
}

function toResolution(base: string, quote: string, provider: FxProvider, path: Path): Resolution {
  const legs = path.rows.map(([row, inverted]) => leg(row, inverted));
  const [only] = legs;
  const rate = path.derivation === "direct" && only ? only.rate : toSignificant(ratioOfLegs(legs), DERIVED_RATE_DIGITS);
  const times = path.rows.map(([row]) => row.effectiveAt.getTime());
  const expiries = path.rows.map(([row]) => row.expiresAt.getTime());
  return {
    base,
    quote,
    provider,
    derivation: path.derivation,
    via: path.via,
    rate,
    legs,
    effectiveAt: new Date(Math.min(...times)).toISOString(),
    expiresAt: new Date(Math.min(...expiries)).toISOString(),
  };
}

/** An index of rows by provider and pair, built once per batch of resolutions. */
export function indexQuotes(rows: StoredQuote[]): Map<string, StoredQuote> {
  return new Map(rows.map((row) => [key(row.provider, row.base, row.quote), row]));
}

/**
 * The answer for base → quote from the given rows, or null when no provider has one. `preference`
 * lists providers best first; `now` decides freshness.
 */
export function resolvePair(
  index: Map<string, StoredQuote>,
  base: string,
  quote: string,
  preference: FxProvider[],
  pivots: string[],
  now: number,
): Resolution | null {
  let fallback: Resolution | null = null;
  for (const provider of preference) {
    const path = pathFor(index, provider, base, quote, pivots);
    if (!path) continue;
    const resolution = toResolution(base, quote, provider, path);
    if (Date.parse(resolution.expiresAt) > now) return resolution;
    fallback ??= resolution;
  }
  return fallback;
}
