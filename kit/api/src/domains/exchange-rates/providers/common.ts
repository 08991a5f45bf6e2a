// What every rate provider gives back, and the one way a provider's document is fetched.
/** One quote as the provider wrote it: units of `quote` per one `base`, the decimal text kept. */
export interface ProviderQuote {
  base: string;
  quote: string;
  rate: string;
  effectiveAt: Date;
}

export interface FetchedRates {
  quotes: ProviderQuote[];
  /** Entries that were not usable quotes (malformed rate, not a currency code), for the log. */
  rejected: string[];
}

/** The provider did not answer with rates (down, an error status, an error body, a foreign format). */
export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    /** Why, in words safe to show: never a URL nor the provider's body. */
    readonly reason: string,
  ) {
    super(`${provider}: ${reason}`);
    this.name = "ProviderError";
  }
}

/** A provider that answers is cut off after this long: the next one is tried instead. */
const PROVIDER_TIMEOUT_MS = 10_000;

/** GETs a provider's document as text; any failure becomes a ProviderError naming the provider. */
export async function fetchText(provider: string, url: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      headers: { accept: "application/json, application/xml;q=0.9, */*;q=0.1" },
      redirect: "follow",
    });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    const reason =
      (error as Error).name === "TimeoutError" ? `no answer within ${PROVIDER_TIMEOUT_MS} ms` : "unreachable";
    throw new ProviderError(provider, reason);
  }
}
