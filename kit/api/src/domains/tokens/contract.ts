import { eventIterator } from "@orpc/contract";
import { z } from "zod";
import { currencyCode, evmAddress, isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { DISCOVERY_SOURCES } from "./contract-values";

/** Printable text: no control characters (they break logs, exports and the console). */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `at most ${max} characters`)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    .refine((v) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v), "must not contain control characters");

const cursor = pageCursor(300);
const limit = pageLimit(100).default(50);

// ---------------------------------------------------------------------------------------------
// Amounts

const amountPattern = /^\d{1,60}(\.\d{1,18})?$/;
/** In whole tokens, exactly: "12.5" of a 6-decimal token is 12500000 in its smallest unit. */
export const tokenAmount = z
  .string()
  .trim()
  .regex(amountPattern, "amount must be a plain decimal string such as 12.5: no sign, exponent or separators")
  .refine((v) => !amountPattern.test(v) || /[1-9]/.test(v), "amount must be greater than zero")
  .meta({ description: "In whole tokens, as a decimal string; at most the token's decimals after the point" });

const amount = z.object({
  raw: z.string().meta({ description: "The integer amount in the token's smallest unit, as on chain" }),
  formatted: z.string().meta({ description: "The same amount with the token's decimals applied, exactly" }),
});

// ---------------------------------------------------------------------------------------------
// Metadata

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

const updateMetadataInput = z
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

const tokenMetadata = z.object({
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

const createLogoUploadInput = z.object({
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

const logoUpload = z.object({
  uploadUrl: z.string().meta({ description: "PUT the image's bytes here, with exactly `headers`" }),
  headers: z.record(z.string(), z.string()),
  expiresAt: isoDateTime,
  publicUrl: z.string().meta({ description: "Where the logo is served once uploaded" }),
});

// ---------------------------------------------------------------------------------------------
// Tokens, holders, transfers

const tokenSummary = z.object({
  address: z.string(),
  chainId: z.number().int(),
  name: z.string().nullable(),
  symbol: z.string().nullable(),
  decimals: z.number().int(),
  totalSupply: amount,
  paused: z.boolean().nullable().meta({ description: "Null for tokens that cannot be paused (plain ERC-20)" }),
  holders: z.number().int().meta({ description: "Wallets with a balance above zero (indexed)" }),
});

const tokenDetail = tokenSummary.extend({
  source: z
    .enum(["chain", "index"])
    .meta({ description: "chain: read from the node just now; index: the node could not be reached, indexed values" }),
  indexedBlock: z.string().nullable().meta({ description: "The indexer's last block for this token" }),
  metadata: tokenMetadata,
});

const tokenPage = z.object({
  items: z.array(tokenSummary),
  nextCursor: z.string().nullable().meta({ description: "Null on the last page" }),
});

const holder = z.object({
  address: z.string(),
  balance: amount,
  frozen: z.boolean().meta({ description: "The whole address is frozen for this token (ERC-3643 AddressFrozen)" }),
  frozenAmount: amount.meta({ description: "The part of the balance frozen by an agent (TokensFrozen)" }),
});
const holderPage = z.object({ items: z.array(holder), nextCursor: z.string().nullable() });

const transfer = z.object({
  token: z.string(),
  from: z.string(),
  to: z.string(),
  value: amount,
  blockNumber: z.string(),
  transactionHash: z.string(),
  logIndex: z.number().int(),
});
const transferPage = z.object({ items: z.array(transfer), nextCursor: z.string().nullable() });

/** What tokens.events streams: each transfer as indexed, and reorgs that took transfers back. */
const tokenStreamEvent = z.discriminatedUnion("type", [
  transfer.extend({ type: z.literal("transfer") }),
  z.object({
    type: z.literal("reorg"),
    token: z.string(),
    ancestorBlock: z
      .string()
      .meta({ description: "Transfers above this block were rolled back; re-read them (tokens.transfers)" }),
    removed: z.number().int(),
  }),
]);

const tokenAddressInput = z.object({ address: evmAddress("address") });
const listTokensInput = z.object({ cursor, limit });
const pageInput = z.object({ address: evmAddress("address"), cursor, limit });

// ---------------------------------------------------------------------------------------------
// Portfolio

const position = z.object({
  token: z.string(),
  name: z.string().nullable(),
  symbol: z.string().nullable(),
  wallet: z.string(),
  balance: amount,
  price: z
    .object({ amount: z.string(), currency: z.string() })
    .nullable()
    .meta({ description: "Price per whole token from the token's metadata; null when none is set" }),
  value: z
    .object({ amount: z.string(), currency: z.string() })
    .nullable()
    .meta({ description: "In your display currency, rounded half to even to its minor units; null when unknown" }),
  valueMissing: z.enum(["no_price", "no_rate", "price_unavailable"]).nullable().meta({
    description:
      "Why `value` is null: the token has no price; no exchange rate from its price currency to yours; or its metadata could not be read just now",
  }),
});

const portfolio = z.object({
  currency: z.string().meta({ description: "Your display currency (settings)" }),
  wallets: z.array(z.string()),
  positions: z.array(position),
  total: z.string().meta({ description: "Sum of the positions that have a value" }),
  complete: z.boolean().meta({ description: "False when some position could not be valued (see valueMissing)" }),
});

// ---------------------------------------------------------------------------------------------
// Transfer check

const transferCheckInput = z.object({
  address: evmAddress("address"),
  from: evmAddress("from"),
  to: evmAddress("to"),
  amount: tokenAmount,
});

const transferReason = z.object({
  code: z.string().meta({
    description:
      "Stable: token_paused, sender_frozen, receiver_frozen, insufficient_balance, tokens_frozen, compliance_refused, receiver_not_eligible, or (told to the party, the token's issuers and KYC reviewers) receiver_unknown, receiver_kyc_missing, receiver_kyc_incomplete, receiver_kyc_in_review, receiver_kyc_rejected, receiver_kyc_revoked, receiver_kyc_expired, receiver_registration_pending, receiver_registration_failed, receiver_wallet_recovered, receiver_not_verified",
  }),
  message: z.string().meta({ description: "In words, e.g. the receiver's KYC approval expired on 2026-11-30" }),
  party: z.enum(["sender", "receiver", "token"]),
});

const transferCheck = z.object({
  allowed: z.boolean().meta({ description: "What the chain would do with the holder's transfer(to, amount) now" }),
  reasons: z.array(transferReason).meta({ description: "Every condition that refuses it (empty when allowed)" }),
  warnings: z
    .array(transferReason)
    .meta({ description: "What does not refuse it now but matters (sender_not_verified, receiver_kyc_ending)" }),
  amount,
  blockNumber: z.string().meta({ description: "The block every chain fact was read at" }),
});

export type TokenMetadata = z.infer<typeof tokenMetadata>;
export type UpdateMetadataInput = z.infer<typeof updateMetadataInput>;
export type CreateLogoUploadInput = z.infer<typeof createLogoUploadInput>;
export type LogoUpload = z.infer<typeof logoUpload>;
export type TokenSummary = z.infer<typeof tokenSummary>;
export type TokenDetail = z.infer<typeof tokenDetail>;
export type Transfer = z.infer<typeof transfer>;
export type TokenStreamEvent = z.infer<typeof tokenStreamEvent>;
export type Portfolio = z.infer<typeof portfolio>;
export type Position = z.infer<typeof position>;

const blockNumber = z.string().regex(/^\d+$/).meta({ description: "Block number as a decimal string" });

/** What admins see of the indexer (system.indexer); tokens/indexer-status.ts builds it. */
export const indexerOverview = z.object({
  chainId: z.number().int(),
  checkpoint: z
    .object({ block: blockNumber, hash: z.string(), updatedAt: isoDateTime })
    .nullable()
    .meta({ description: "Every block up to this one is indexed (null: nothing indexed yet)" }),
  report: z
    .object({
      role: z.enum(["starting", "standby", "active", "stopped"]),
      state: z.enum(["starting", "standby", "ok", "behind", "failing", "stopped"]),
      head: blockNumber.nullable(),
      indexedBlock: blockNumber.nullable(),
      lagBlocks: z.number().int().nullable(),
      eventsPerSecond: z.number().nullable(),
      lastError: z
        .string()
        .nullable()
        .meta({ description: "The last failure, redacted: no node URL, API key or request body" }),
      lastErrorAt: isoDateTime.nullable(),
      reportedAt: isoDateTime,
    })
    .nullable()
    .meta({ description: "The last report of the indexer process that reported last (null: none in a minute)" }),
  tokens: z.object({
    total: z.number().int(),
    following: z.number().int(),
    catchingUp: z.number().int(),
    quarantined: z.number().int(),
  }),
  attention: z
    .array(
      z.object({
        address: z.string(),
        name: z.string(),
        symbol: z.string(),
        discoveredVia: z.enum(DISCOVERY_SOURCES),
        state: z.enum(["catching_up", "quarantined"]),
        indexedBlock: blockNumber.nullable().meta({ description: "The last block the token is complete to" }),
        openingBlock: blockNumber
          .nullable()
          .meta({ description: "Indexed from mid-history: balances at this block were read from the chain" }),
        quarantinedAt: isoDateTime.nullable(),
        reason: z.string().nullable().meta({ description: "Why it was quarantined" }),
      }),
    )
    .meta({
      description:
        "Tokens quarantined (left out of indexing until `bun run kit indexer:reset --token`) or catching up; at most 200",
    }),
});

export type IndexerOverview = z.infer<typeof indexerOverview>;

const tags = ["tokens"];
const manage = { tokens: ["manage" as const] };
const read = { tokens: ["read" as const] };

export const tokensContract = {
  list: base
    .route({ method: "GET", path: "/tokens", tags, summary: "Tokens Kit indexes, by address" })
    .meta({ access: "public" })
    .input(listTokensInput)
    .output(tokenPage),
  get: base
    .route({
      method: "GET",
      path: "/tokens/{address}",
      tags,
      summary: "One token: name, symbol, decimals, total supply and paused from the chain, plus its metadata",
    })
    .meta({ access: "public", errors: ["NOT_FOUND"] })
    .input(tokenAddressInput)
    .output(tokenDetail),
  holders: base
    .route({
      method: "GET",
      path: "/tokens/{address}/holders",
      tags,
      summary: "Holders by balance, largest first (ties by address)",
    })
    .meta({ keyGrant: read, errors: ["NOT_FOUND"] })
    .input(pageInput)
    .output(holderPage),
  transfers: base
    .route({ method: "GET", path: "/tokens/{address}/transfers", tags, summary: "Transfers, newest first" })
    .meta({ keyGrant: read, errors: ["NOT_FOUND"] })
    .input(pageInput)
    .output(transferPage),
  events: base
    .route({
      method: "GET",
      path: "/tokens/{address}/events",
      tags,
      summary: "Live transfers of a token as server-sent events (from the moment you connect)",
    })
    .meta({ keyGrant: read, errors: ["NOT_FOUND"] })
    .input(tokenAddressInput)
    .output(eventIterator(tokenStreamEvent)),
  transferCheck: base
    .route({
      method: "GET",
      path: "/tokens/{address}/transfer-check",
      tags,
      summary:
        "Would a holder's transfer go through now? The chain's verdict, with every reason in words (what Kit knows of a party only for that party, the token's issuers and KYC reviewers)",
    })
    .meta({ keyGrant: read, rateLimit: "tokens.transfer-check", errors: ["NOT_FOUND", "PRECONDITION_FAILED"] })
    .input(transferCheckInput)
    .output(transferCheck),
  metadata: {
    get: base
      .route({ method: "GET", path: "/tokens/{address}/metadata", tags, summary: "A token's off-chain metadata" })
      .meta({ access: "public", errors: ["NOT_FOUND"] })
      .input(tokenAddressInput)
      .output(tokenMetadata),
    update: base
      .route({
        method: "PUT",
        path: "/tokens/{address}/metadata",
        tags,
        summary:
          "Set a token's metadata (its agents and owner on chain, or an admin); fields left out keep their value; ISIN and asset class are fixed once set",
      })
      .meta({ permission: manage, keyGrant: manage, errors: ["NOT_FOUND", "CONFLICT"] })
      .input(updateMetadataInput)
      .output(tokenMetadata),
    createLogoUpload: base
      .route({
        method: "POST",
        path: "/tokens/{address}/logo",
        tags,
        summary: "Start a logo upload (PNG or JPEG, at most 1 MiB): a presigned PUT URL valid 15 minutes",
      })
      .meta({ permission: manage, keyGrant: manage, errors: ["NOT_FOUND"] })
      .input(createLogoUploadInput)
      .output(logoUpload),
  },
};

export const walletsContract = {
  transfers: base
    .route({
      method: "GET",
      path: "/wallets/{address}/transfers",
      tags: ["wallets"],
      summary: "A wallet's transfers of every token, newest first (your own wallets; issuers and admins: any)",
    })
    .meta({ keyGrant: { wallets: ["read"] } })
    .input(pageInput)
    .output(transferPage),
};

export const portfolioContract = {
  get: base
    .route({
      method: "GET",
      path: "/portfolio",
      tags: ["portfolio"],
      summary: "Balances of your linked wallets, valued in your display currency",
    })
    .meta({ keyGrant: { portfolio: ["read"] } })
    .output(portfolio),
};
