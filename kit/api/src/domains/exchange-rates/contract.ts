import { z } from "zod";
import { currencyCode, isoDateTime, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { FX_PROVIDERS } from "./contract-values";

const timeFilter = (what: string) =>
  z.iso.datetime({
    offset: true,
    error: `${what} must be an ISO 8601 time with a zone, such as 2026-11-20T00:00:00Z`,
  });

const fxCurrency = (what: string) =>
  currencyCode(what).meta({ description: "ISO 4217 code (any case)", examples: ["EUR"] });

/** Why `value` is not a decimal of at most `integerDigits`.`fractionDigits` digits, for a person. */
function decimalProblem(what: string, value: unknown, integerDigits: number, fractionDigits: number): string {
  const text = typeof value === "string" ? value : "";
  if (/^-\d/.test(text)) return `${what} must be greater than zero`;
  if (/^\d+(\.\d+)?$/.test(text)) {
    return `${what} is too large or too precise: at most ${integerDigits} digits before the point and ${fractionDigits} after it`;
  }
  return `${what} must be a plain decimal number such as 1250.50: digits with an optional point, no sign, exponent, spaces or thousands separators`;
}

/** A positive decimal given as a string, so that it is never rounded through a float. */
const positiveDecimal = (what: string, integerDigits: number, fractionDigits: number, example: string) => {
  const pattern = new RegExp(`^\\d{1,${integerDigits}}(\\.\\d{1,${fractionDigits}})?$`);
  return z
    .string({ error: `${what} is required: a positive decimal number given as a string, such as ${example}` })
    .regex(pattern, { error: (issue) => decimalProblem(what, issue.input, integerDigits, fractionDigits) })
    .refine((value) => !pattern.test(value) || /[1-9]/.test(value), `${what} must be greater than zero`)
    .meta({
      description: `Positive decimal string, up to ${integerDigits} digits before the point and ${fractionDigits} after`,
      examples: [example],
    });
};

const AMOUNT_INTEGER_DIGITS = 30;
const AMOUNT_FRACTION_DIGITS = 18;
const RATE_INTEGER_DIGITS = 15;
const RATE_FRACTION_DIGITS = 18;

const providerName = z.enum(FX_PROVIDERS);

const currency = z.object({
  code: z.string(),
  name: z.string(),
  minorUnits: z.number().int().meta({ description: "Digits after the decimal point: JPY 0, EUR 2, BHD 3" }),
});

const storedQuote = z.object({
  base: z.string(),
  quote: z.string(),
  rate: z.string().meta({ description: "Units of quote per one base, exactly as the provider gave it" }),
  effectiveAt: isoDateTime,
});

const rateFields = {
  rate: z.string().meta({
    description:
      "Units of quote per one base: a direct quote exactly as stored; a derived one to 20 significant digits (conversions use the exact ratio of `quotes`)",
  }),
  provider: providerName,
  derivation: z
    .enum(["direct", "inverse", "cross"])
    .meta({ description: "direct: a stored quote; inverse: 1 / a stored quote; cross: through `via`" }),
  via: z.string().nullable().meta({ description: "The pivot currency of a cross rate" }),
  effectiveAt: isoDateTime.meta({ description: "When the (oldest) quote used took effect" }),
  expiresAt: isoDateTime.meta({ description: "After this the answer is stale" }),
  stale: z.boolean().meta({ description: "True when the quotes used are past their expiry (no fresh quote exists)" }),
  quotes: z.array(storedQuote).meta({ description: "The stored quotes the answer is derived from" }),
};

const fxRate = z.object({ base: z.string(), quote: z.string(), ...rateFields });

const conversion = z.object({
  from: z.string(),
  to: z.string(),
  amount: z.string(),
  result: z.string().meta({
    description:
      "The converted amount, rounded half to even to the minor units of `to`, with exactly that many decimals",
  }),
  ...rateFields,
});

const manualRate = z.object({
  base: z.string(),
  quote: z.string(),
  rate: z.string(),
  provider: z.literal("manual"),
  effectiveAt: isoDateTime,
  expiresAt: isoDateTime,
  setBy: z.string().meta({ description: "The admin who set it" }),
});

const pair = z.object({ base: fxCurrency("base"), quote: fxCurrency("quote") });

const historyInput = pair.extend({
  from: timeFilter("from").optional().meta({ description: "Oldest effective time to include" }),
  to: timeFilter("to").optional().meta({ description: "Newest effective time to include" }),
  provider: z.enum(FX_PROVIDERS, { error: `provider must be one of ${FX_PROVIDERS.join(", ")}` }).optional(),
  limit: pageLimit(1000).default(100),
});

const refreshOutcome = z.object({
  at: isoDateTime.meta({ description: "When the refresh ran" }),
  ok: z.boolean().meta({ description: "A provider answered and its rates were stored" }),
  provider: z.string().nullable().meta({ description: "The provider whose rates were stored" }),
  failed: z
    .array(z.object({ provider: z.string(), reason: z.string() }))
    .meta({ description: "Providers tried before (or instead of) the one stored, and why each failed" }),
  snapshotDate: z.string().nullable().meta({
    description:
      "Set when no provider could be reached and the development stack stored the ECB reference rates of this date bundled with Kit (stale from the start)",
  }),
});

export type RefreshOutcome = z.infer<typeof refreshOutcome>;

const tags = ["fx"];
const read = { fx: ["read" as const] };
const manage = { fx: ["manage" as const] };

export const fxContract = {
  currencies: base
    .route({ method: "GET", path: "/fx/currencies", tags, summary: "ISO 4217 currencies and their minor units" })
    .meta({ access: "public" })
    .output(z.object({ items: z.array(currency) })),
  latest: base
    .route({ method: "GET", path: "/fx/rates/{base}", tags, summary: "The latest rate from a base to every currency" })
    .meta({ access: "user", keyGrant: read, errors: ["NOT_FOUND"] })
    .input(z.object({ base: fxCurrency("base") }))
    .output(z.object({ base: z.string(), rates: z.array(fxRate) })),
  rate: base
    .route({ method: "GET", path: "/fx/rates/{base}/{quote}", tags, summary: "The latest rate of a pair" })
    .meta({ access: "user", keyGrant: read, errors: ["NOT_FOUND"] })
    .input(pair)
    .output(fxRate),
  convert: base
    .route({ method: "GET", path: "/fx/convert", tags, summary: "Convert an amount exactly" })
    .meta({ access: "user", keyGrant: read, errors: ["NOT_FOUND"] })
    .input(
      z.object({
        from: fxCurrency("from"),
        to: fxCurrency("to"),
        amount: positiveDecimal("amount", AMOUNT_INTEGER_DIGITS, AMOUNT_FRACTION_DIGITS, "1250.50"),
      }),
    )
    .output(conversion),
  history: base
    .route({
      method: "GET",
      path: "/fx/rates/{base}/{quote}/history",
      tags,
      summary: "Stored rates of a pair over time, newest first",
    })
    .meta({ access: "user", keyGrant: read })
    .input(historyInput)
    .output(
      z.object({
        base: z.string(),
        quote: z.string(),
        items: z.array(
          z.object({
            rate: rateFields.rate,
            provider: providerName,
            derivation: rateFields.derivation,
            via: rateFields.via,
            effectiveAt: isoDateTime,
          }),
        ),
      }),
    ),
  refresh: base
    .route({
      method: "POST",
      path: "/fx/refresh",
      tags,
      summary: "Queue a refresh of rates from the providers (admin)",
    })
    .meta({ access: "user", permission: manage, keyGrant: manage, rateLimit: "fx.manage" })
    .output(z.object({ jobId: z.string() })),
  refreshStatus: base
    .route({
      method: "GET",
      path: "/fx/refresh",
      tags,
      summary: "The last refresh from the providers: when, which answered, which could not be reached",
    })
    .meta({ access: "user", keyGrant: read })
    .output(refreshOutcome.nullable().meta({ description: "Null until a refresh has run" })),
  setManual: base
    .route({
      method: "PUT",
      path: "/fx/rates/{base}/{quote}",
      tags,
      summary: "Set a manual rate for a pair (admin); it answers first until it expires",
    })
    .meta({ access: "user", permission: manage, keyGrant: manage, rateLimit: "fx.manage" })
    .input(
      pair.extend({
        rate: positiveDecimal("rate", RATE_INTEGER_DIGITS, RATE_FRACTION_DIGITS, "1.0843").meta({
          description: "Units of quote per one base",
        }),
      }),
    )
    .output(manualRate),
};
