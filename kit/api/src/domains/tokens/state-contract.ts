// Reads of the ERC-3643 state the indexer keeps (state-reads.ts): a token's identity registrations,
// its pause and freeze history, its frozen holders, and a wallet's frozen state per token. A token's
// are for its issuers (a grant on it) and admins; a wallet's for its owner too.
import { z } from "zod";
import { evmAddress, isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { STATE_HISTORY_KINDS } from "./contract-values";

const amount = z.object({
  raw: z.string().meta({ description: "The integer amount in the token's smallest unit, as on chain" }),
  formatted: z.string().meta({ description: "The same amount with the token's decimals applied, exactly" }),
});
const blockNumber = z.string().meta({ description: "Block number as a decimal string" });
const pageInput = z.object({
  address: evmAddress("address"),
  cursor: pageCursor(300),
  limit: pageLimit(100).default(50),
});
const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable().meta({ description: "Null on the last page" }) });

const registration = z.object({
  wallet: z.string().meta({ description: "EIP-55" }),
  identity: z.string().meta({ description: "The wallet owner's ONCHAINID contract (the last one registered)" }),
  registered: z.boolean().meta({ description: "False once removed from the token's identity registry" }),
  updatedBlock: blockNumber,
});

const stateEvent = z.object({
  kind: z.enum(STATE_HISTORY_KINDS),
  wallet: z.string().nullable().meta({ description: "The wallet concerned; null for paused/unpaused" }),
  amount: amount.nullable().meta({ description: "tokens_frozen/tokens_unfrozen: the amount; null otherwise" }),
  blockNumber,
  blockTime: isoDateTime
    .nullable()
    .meta({ description: "The block's time (null for events indexed before it was kept)" }),
  transactionHash: z.string(),
  logIndex: z.number().int(),
});

const frozenHolder = z.object({
  address: z.string(),
  frozen: z.boolean().meta({ description: "The whole address is frozen (AddressFrozen)" }),
  frozenAmount: amount.meta({ description: "The part of the balance frozen (TokensFrozen − TokensUnfrozen)" }),
  balance: amount,
});

const walletFrozenState = z.object({
  token: z.string().meta({ description: "The token's address (EIP-55)" }),
  symbol: z.string(),
  frozen: z.boolean(),
  frozenAmount: amount,
  balance: amount,
});

export type StateEvent = z.infer<typeof stateEvent>;

const tags = ["token state"];
const operate = { tokens: ["operate" as const] };
const read = { tokens: ["read" as const] };

export const tokenStateContract = {
  registrations: base
    .route({
      method: "GET",
      path: "/tokens/{address}/registrations",
      tags,
      summary: "Wallets in the token's identity registry, by wallet (its issuers and admins)",
    })
    .meta({ permission: operate, keyGrant: read, errors: ["NOT_FOUND"] })
    .input(pageInput)
    .output(page(registration)),
  stateHistory: base
    .route({
      method: "GET",
      path: "/tokens/{address}/state-history",
      tags,
      summary: "Pauses, unpauses, freezes and partial freezes of a token, newest first (its issuers and admins)",
    })
    .meta({ permission: operate, keyGrant: read, errors: ["NOT_FOUND"] })
    .input(pageInput)
    .output(page(stateEvent)),
  frozenHolders: base
    .route({
      method: "GET",
      path: "/tokens/{address}/frozen-holders",
      tags,
      summary: "Wallets frozen, or with part of their balance frozen, on a token, by address (its issuers and admins)",
    })
    .meta({ permission: operate, keyGrant: read, errors: ["NOT_FOUND"] })
    .input(pageInput)
    .output(page(frozenHolder)),
};

export const walletStateContract = {
  frozenState: base
    .route({
      method: "GET",
      path: "/wallets/{address}/frozen-state",
      tags,
      summary:
        "A wallet's frozen state per token, by token (your own wallets; issuers: the tokens they are granted on; admins: any)",
    })
    .meta({ keyGrant: { wallets: ["read"] } })
    .input(pageInput)
    .output(page(walletFrozenState)),
};
