// The ECB's euro reference rates (eurofxref-daily.xml, or the -hist files with many days): one
// `<Cube time='YYYY-MM-DD'>` per day holding `<Cube currency='USD' rate='1.0843'/>`, units per 1 EUR.
import type { Config } from "../../../config";
import { normalizeLiteral } from "../decimal";
import { type FetchedRates, fetchText, ProviderError, type ProviderQuote } from "./common";

const DAY = /<Cube\s+time\s*=\s*(['"])(\d{4}-\d{2}-\d{2})\1\s*>([\s\S]*?)<\/Cube>/g;
const ENTRY = /<Cube\b([^>]*?)\/>/g;
const ATTRIBUTE = /([\w:-]+)\s*=\s*(['"])(.*?)\2/g;

function attributes(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(ATTRIBUTE)].map((m) => [m[1], m[3]]));
}

/**
 * Every quote in the document. The ECB publishes a reference date, not a time: a day's rates take
 * effect at 00:00 UTC of that date.
 */
export function parseEcbXml(xml: string): FetchedRates {
  if (!xml.includes("eurofxref")) throw new ProviderError("ecb", "the answer is not an ECB reference-rate document");
  const quotes: ProviderQuote[] = [];
  const rejected: string[] = [];
  for (const [, , date, body] of xml.matchAll(DAY)) {
    const effectiveAt = new Date(`${date}T00:00:00Z`);
    if (Number.isNaN(effectiveAt.getTime()) || effectiveAt.toISOString().slice(0, 10) !== date) {
      rejected.push(`day ${date}: not a calendar date`);
      continue;
    }
    for (const [, attributeText] of (body ?? "").matchAll(ENTRY)) {
      const { currency = "", rate = "" } = attributes(attributeText ?? "");
      const normalized = normalizeLiteral(rate);
      if (!/^[A-Z]{3}$/.test(currency) || currency === "EUR" || !normalized || !/[1-9]/.test(normalized)) {
        rejected.push(`${date} ${currency || "?"}=${rate || "?"}`);
        continue;
      }
      quotes.push({ base: "EUR", quote: currency, rate: normalized, effectiveAt });
    }
  }
  if (quotes.length === 0) throw new ProviderError("ecb", "the document holds no rates");
  return { quotes, rejected };
}

export async function fetchEcbRates(config: Config["fx"]): Promise<FetchedRates> {
  const { status, body } = await fetchText("ecb", config.ecbUrl);
  if (status !== 200) throw new ProviderError("ecb", `answered HTTP ${status}`);
  return parseEcbXml(body);
}
