// ExchangeRate-API's open endpoint `/v6/latest/{base}`: `{ result, base_code, rates: { USD: 1, … },
// time_last_update_unix }`, units per 1 base; failures are `{ result: "error", "error-type": … }`.
import type { Config } from "../../../config";
import { normalizeLiteral } from "../decimal";
import { type FetchedRates, fetchText, ProviderError, type ProviderQuote } from "./common";

/** A JSON number as its literal text, so that no rate ever passes through a float. */
class NumberLiteral {
  constructor(readonly text: string) {}
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** JSON.parse keeping every number's source text (Bun implements JSON.parse source text access). */
function parseKeepingNumbers(body: string): unknown {
  const reviver: Reviver = (_key, value, context) => {
    if (typeof value !== "number") return value;
    if (typeof context?.source !== "string") throw new Error("JSON.parse gave no source text for a number");
    return new NumberLiteral(context.source);
  };
  return JSON.parse(body, reviver as Parameters<typeof JSON.parse>[1]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof NumberLiteral);
}

export function parseErApiJson(body: string): FetchedRates {
  let document: unknown;
  try {
    document = parseKeepingNumbers(body);
  } catch {
    throw new ProviderError("er-api", "the answer is not JSON");
  }
  if (!isRecord(document)) throw new ProviderError("er-api", "the answer is not a JSON object");
  if (document.result === "error") {
    // The provider's own words are shown (GET /api/fx/refresh): a short code only, nothing else it sent.
    const given = document["error-type"];
    const type = typeof given === "string" && /^[\w-]{1,40}$/.test(given) ? given : "unknown";
    throw new ProviderError("er-api", `answered with error "${type}"`);
  }
  if (document.result !== "success") throw new ProviderError("er-api", 'the answer has no result "success"');
  const base = document.base_code;
  if (typeof base !== "string" || !/^[A-Z]{3}$/.test(base)) throw new ProviderError("er-api", "base_code is missing");
  const updated = document.time_last_update_unix;
  const seconds = updated instanceof NumberLiteral && /^\d{1,12}$/.test(updated.text) ? Number(updated.text) : 0;
  if (seconds <= 0) throw new ProviderError("er-api", "time_last_update_unix is missing");
  if (!isRecord(document.rates)) throw new ProviderError("er-api", "rates is missing");

  const effectiveAt = new Date(seconds * 1000);
  const quotes: ProviderQuote[] = [];
  const rejected: string[] = [];
  for (const [code, value] of Object.entries(document.rates)) {
    if (code === base) continue; // "USD": 1 in a USD document says nothing
    const literal = value instanceof NumberLiteral ? value.text : undefined;
    const normalized = literal === undefined ? null : normalizeLiteral(literal);
    if (!/^[A-Z]{3}$/.test(code) || !normalized || !/[1-9]/.test(normalized)) {
      rejected.push(`${code}=${literal ?? JSON.stringify(value)}`);
      continue;
    }
    quotes.push({ base, quote: code, rate: normalized, effectiveAt });
  }
  if (quotes.length === 0) throw new ProviderError("er-api", "the answer holds no rates");
  return { quotes, rejected };
}

export async function fetchErApiRates(config: Config["fx"]): Promise<FetchedRates> {
  const { status, body } = await fetchText("er-api", `${config.erApiUrl}/${config.baseCurrency}`);
  if (status !== 200) {
    // Its refusals carry a body saying why (e.g. "unsupported-code"); that reason is the better message.
    let reason = `answered HTTP ${status}`;
    try {
      parseErApiJson(body);
    } catch (error) {
      if (error instanceof ProviderError && error.message.includes("answered with error")) reason = error.message;
    }
    throw new ProviderError("er-api", reason.replace(/^er-api: /, ""));
  }
  return parseErApiJson(body);
}
