// The tokens domain's public face: tokens, holders, transfers, the transfer check, wallets' transfers and the
// portfolio. The metadata's fields are in contract-metadata.ts, the indexer overview in contract-indexer.ts.
import { eventIterator } from "@orpc/contract";
import { z } from "zod";
import { evmAddress, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { createLogoUploadInput, logoUpload, tokenMetadata, updateMetadataInput } from "./contract-metadata";

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

export type TokenSummary = z.infer<typeof tokenSummary>;
export type TokenDetail = z.infer<typeof tokenDetail>;
export type Transfer = z.infer<typeof transfer>;
export type TokenStreamEvent = z.infer<typeof tokenStreamEvent>;
export type Portfolio = z.infer<typeof portfolio>;
export type Position = z.infer<typeof position>;

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
