// A token's off-chain metadata as the API takes and gives it (tokens.metadata.*): the fields an issuer
// sets, the checks on them (ISIN check digit, exact prices, https documents) and the logo upload.
import { z } from "zod";
import { currencyCode, evmAddress, isoDateTime } from "../../contract-fields";

/** Printable text: no control characters (they break logs, exports and the console). */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `at most ${max} characters`)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    .refine((v) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v), "must not contain control characters");

export const ASSET_CLASSES = ["bond", "equity", "fund", "deposit", "real_estate", "commodity", "other"] as const;
/** Set once, then fixed: securities identifiers and the nature of the asset do not change. */
export const IMMUTABLE_FIELDS = ["isin", "assetClass"] as const;
const MAX_DOCUMENTS = 20;
const PRICE_INTEGER_DIGITS = 30;
const PRICE_FRACTION_DIGITS = 18;

/** ISO 6166: two letters, nine alphanumerics, a check digit (Luhn over the letters as numbers). */
function isValidIsin(value: string): boolean {
  if (!/^[A-Z]{2}[A-Z0-9]{9}[0-9]$/.test(value)) return false;
  const digits = [...value].map((c) => (c >= "A" ? String(c.charCodeAt(0) - 55) : c)).join("");
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export const isin = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{2}[A-Z0-9]{9}[0-9]$/, "expected an ISIN: 2 letters, 9 letters or digits, 1 check digit")
  .refine(isValidIsin, "the ISIN's check digit is wrong; check for a typo")
  .meta({ description: "ISO 6166 ISIN, e.g. US0378331005; fixed once set", examples: ["US0378331005"] });

const pricePattern = new RegExp(`^\\d{1,${PRICE_INTEGER_DIGITS}}(\\.\\d{1,${PRICE_FRACTION_DIGITS}})?$`);
const price = z
  .string()
  .trim()
  .regex(
    pricePattern,
    `price must be a plain decimal string such as 99.99: at most ${PRICE_INTEGER_DIGITS} digits before the point and ${PRICE_FRACTION_DIGITS} after, no sign or exponent`,
  )
  .refine((v) => !pricePattern.test(v) || /[1-9]/.test(v), "price must be greater than zero")
  .meta({
    description: "Price of one whole token (not of its smallest unit), as a decimal string",
    examples: ["99.99"],
  });

const priceCurrency = currencyCode().meta({
  description: "ISO 4217 code of a currency Kit knows (GET /api/fx/currencies)",
});

const documentUrl = z
  .string()
  .trim()
  .max(2_048, "at most 2048 characters")
  .refine((v) => {
    try {
      const url = new URL(v);
      return url.protocol === "https:" && !url.username && !url.password;
    } catch {
      return false;
    }
  }, "expected an https:// URL without user name or password");

const tokenDocument = z.object({ name: text(200), url: documentUrl });

export const updateMetadataInput = z
  .object({
    address: evmAddress("address"),
    description: text(5_000).nullable().optional(),
    assetClass: z
      .enum(ASSET_CLASSES, { error: `assetClass must be one of ${ASSET_CLASSES.join(", ")}` })
      .optional()
      .meta({ description: "Fixed once set; leave out to keep the stored one" }),
    isin: isin.optional(),
    price: price.nullable().optional(),
    priceCurrency: priceCurrency.nullable().optional(),
    documents: z
      .array(tokenDocument)
      .max(MAX_DOCUMENTS, `at most ${MAX_DOCUMENTS} documents`)
      .optional()
      .meta({ description: "Replaces the whole list; leave out to keep it" }),
    terms: z
      .never({ error: "terms are fixed when the token is created (tokens.create) and cannot change" })
      .optional()
      .meta({ description: "Not accepted: a token's terms (maturity, face value, …) are fixed at creation" }),
  })
  .superRefine((input, ctx) => {
    const hasPrice = input.price !== undefined && input.price !== null;
    const hasCurrency = input.priceCurrency !== undefined && input.priceCurrency !== null;
    if (input.price !== undefined && hasPrice !== hasCurrency) {
      ctx.addIssue({
        code: "custom",
        path: [hasPrice ? "priceCurrency" : "price"],
        message: "price and priceCurrency go together: give both, or null for both",
      });
    }
  });

export const tokenMetadata = z.object({
  description: z.string().nullable(),
  assetClass: z.enum(ASSET_CLASSES).nullable(),
  isin: z.string().nullable(),
  price: z.string().nullable(),
  priceCurrency: z.string().nullable(),
  documents: z.array(z.object({ name: z.string(), url: z.string() })),
  terms: z
    .record(z.string(), z.union([z.string(), z.boolean()]))
    .nullable()
    .meta({
      description:
        "The kind's terms, fixed when Kit created the token (bond: faceValue, currency, maturityDate, couponRate, couponFrequency; equity: shareClass, votingRights; fund: managementFee, navCurrency; deposit: backingCurrency); null for tokens Kit did not create",
    }),
  logoUrl: z.string().nullable().meta({ description: "Public URL of the logo; null until one is uploaded" }),
  updatedAt: isoDateTime.nullable(),
  updatedBy: z.string().nullable(),
});

const LOGO_CONTENT_TYPES = ["image/png", "image/jpeg"] as const;
const MAX_LOGO_BYTES = 1024 * 1024;

export const createLogoUploadInput = z.object({
  address: evmAddress("address"),
  contentType: z.enum(LOGO_CONTENT_TYPES, {
    error:
      "contentType must be image/png or image/jpeg (SVG is refused: it can carry scripts that would run from the public bucket)",
  }),
  size: z
    .number()
    .int("a whole number of bytes")
    .min(1, "the file is empty")
    .max(MAX_LOGO_BYTES, `at most ${MAX_LOGO_BYTES} bytes (1 MiB)`),
});

export const logoUpload = z.object({
  uploadUrl: z.string().meta({ description: "PUT the image's bytes here, with exactly `headers`" }),
  headers: z.record(z.string(), z.string()),
  expiresAt: isoDateTime,
  publicUrl: z.string().meta({ description: "Where the logo is served once uploaded" }),
});

export type TokenMetadata = z.infer<typeof tokenMetadata>;
export type UpdateMetadataInput = z.infer<typeof updateMetadataInput>;
export type CreateLogoUploadInput = z.infer<typeof createLogoUploadInput>;
export type LogoUpload = z.infer<typeof logoUpload>;
