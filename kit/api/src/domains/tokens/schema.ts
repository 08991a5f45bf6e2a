// Tokens and what the indexer derives from the chain. Written only by the indexer (indexer.ts), in
// one transaction per batch of blocks; everything else reads. Addresses and hashes are lowercase
// 0x-hex text; token amounts are numeric(78,0) (any uint256, exactly), strings in TypeScript.
// Rows carry the block they come from, so that a reorg can take back exactly what it undoes.
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  numeric,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
} from "drizzle-orm/pg-core";
import { type DiscoverySource, STATE_HISTORY_KINDS } from "./contract-values";

const at = (name: string) => timestamp(name, { withTimezone: true });
const blockNumber = (name: string) => bigint(name, { mode: "number" });
const amount = (name: string) => numeric(name, { precision: 78, scale: 0 });
// Byte-wise collation: addresses and hashes are compared and indexed as plain bytes, which makes
// the hot inserts (several indexes over them) about a third cheaper than the database's locale.
const hex = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });
const address = (name: string) => hex(name);
const isAddress = (column: unknown) => sql`${column} ~ '^0x[0-9a-f]{40}$'`;
const isHash = (column: unknown) => sql`${column} ~ '^0x[0-9a-f]{64}$'`;

export const TOKEN_KINDS = ["t-rex", "erc20"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const tokens = pgTable(
  "tokens",
  {
    chainId: integer("chain_id").notNull(),
    address: address("address").notNull(),
    name: text("name").notNull(),
    symbol: text("symbol").notNull(),
    decimals: smallint("decimals").notNull(),
    /**
     * Mints minus burns of the indexed transfers, plus `totalSupply()` at `opening_block` when there
     * is one (equals `totalSupply()` at the checkpoint).
     */
    totalSupply: amount("total_supply").notNull().default("0"),
    /** From Paused/Unpaused events; a T-REX token starts paused without an event. */
    paused: boolean("paused").notNull().default(false),
    kind: text("kind").$type<TokenKind>().notNull(),
    discoveredVia: text("discovered_via").$type<DiscoverySource>().notNull(),
    /** The block the token was created in (or the configured start block): indexing starts there. */
    deploymentBlock: blockNumber("deployment_block").notNull(),
    /** T-REX: the token's identity registry (IdentityRegistered/Removed are read from it). */
    identityRegistry: address("identity_registry"),
    /** T-REX: the factory that deployed it (discovered via factory). */
    factory: address("factory"),
    /**
     * Set while a token added after the chain checkpoint passed its deployment block catches up on
     * its own (the last block it is complete to); null once it is followed with the others.
     */
    catchUpBlock: blockNumber("catch_up_block"),
    /**
     * Set when indexing starts after the token's first transfers (a configured start block the
     * contract already existed before): the block before the start. The events up to it are not
     * read, so each holder's balance at it is read from the chain (balanceOf) when the holder is
     * first seen, and the supply (totalSupply) when the token is added.
     */
    openingBlock: blockNumber("opening_block"),
    /**
     * Set when the token's events could not be applied (a holder's balance would go negative, or
     * its opening balances cannot be read): it is left out of every batch from then on, so the
     * other tokens go on; `catch_up_block` says how far it is complete. Cleared by
     * `bun run kit indexer:reset --token`.
     */
    quarantinedAt: at("quarantined_at"),
    /** Why, in words an operator can act on (no node URLs or raw driver messages). */
    quarantineReason: text("quarantine_reason"),
    discoveredAt: at("discovered_at").notNull().defaultNow(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.chainId, table.address] }),
    check("tokens_address_check", isAddress(table.address)),
    check("tokens_kind_check", sql`${table.kind} in ('t-rex', 'erc20')`),
    check("tokens_discovered_via_check", sql`${table.discoveredVia} in ('factory', 'config')`),
    check("tokens_decimals_check", sql`${table.decimals} between 0 and 255`),
    index("tokens_identity_registry_idx").on(table.chainId, table.identityRegistry),
  ],
);

/** Every Transfer of an indexed token, once: the key is the log's identity on its chain. */
export const tokenTransfers = pgTable(
  "token_transfers",
  {
    chainId: integer("chain_id").notNull(),
    token: address("token").notNull(),
    txHash: hex("tx_hash").notNull(),
    logIndex: integer("log_index").notNull(),
    blockNumber: blockNumber("block_number").notNull(),
    blockHash: hex("block_hash").notNull(),
    from: address("from").notNull(),
    to: address("to").notNull(),
    amount: amount("amount").notNull(),
    /** The block's timestamp (from the log when the node gives it, else from the block header). */
    blockTime: at("block_time"),
  },
  (table) => [
    primaryKey({ columns: [table.chainId, table.txHash, table.logIndex] }),
    // No format CHECK on the hot table: the indexer is its only writer and writes lowercase hex.
    check("token_transfers_amount_check", sql`${table.amount} >= 0`),
    // A token's transfers, newest first (tokens.transfers); a rollback deletes by it too, token by
    // token (no index on the block alone: one less to maintain on the hot insert path).
    index("token_transfers_token_block_idx").on(
      table.chainId,
      table.token,
      table.blockNumber.desc(),
      table.logIndex.desc(),
    ),
    // A wallet's transfers, either side (wallets.transfers).
    index("token_transfers_from_idx").on(table.chainId, table.from, table.blockNumber.desc(), table.logIndex.desc()),
    index("token_transfers_to_idx").on(table.chainId, table.to, table.blockNumber.desc(), table.logIndex.desc()),
  ],
);

/**
 * Each holder's balance, derived from the transfers inserted in the same transaction, plus the
 * holder's ERC-3643 freeze state. A row may have balance 0 (it sold out, or is frozen before it
 * ever held anything); the zero address has none.
 */
export const tokenBalances = pgTable(
  "token_balances",
  {
    chainId: integer("chain_id").notNull(),
    token: address("token").notNull(),
    holder: address("holder").notNull(),
    balance: amount("balance").notNull().default("0"),
    /** AddressFrozen: the whole address is frozen for this token. */
    frozen: boolean("frozen").notNull().default(false),
    /** TokensFrozen minus TokensUnfrozen: the part of the balance that cannot move. */
    frozenAmount: amount("frozen_amount").notNull().default("0"),
    /**
     * The holder's balance at the token's `opening_block`, read from the chain when the holder was
     * first seen (and added to `balance`); null for tokens indexed from their creation, and until
     * then.
     */
    openingBalance: amount("opening_balance"),
    /** The last block that changed this row. */
    updatedBlock: blockNumber("updated_block").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.chainId, table.token, table.holder] }),
    check("token_balances_balance_check", sql`${table.balance} >= 0`),
    check("token_balances_frozen_amount_check", sql`${table.frozenAmount} >= 0`),
    // Holders of a token by balance (tokens.holders pages: balance desc, holder as tie-break).
    index("token_balances_holders_idx")
      .on(table.chainId, table.token, table.balance.desc(), table.holder)
      .where(sql`${table.balance} > 0`),
    // A wallet's tokens (portfolio).
    index("token_balances_holder_idx").on(table.chainId, table.holder),
    // A token's frozen and partly frozen holders (tokens.frozenHolders): only those rows are indexed.
    index("token_balances_frozen_idx")
      .on(table.chainId, table.token, table.holder)
      .where(sql`${table.frozen} or ${table.frozenAmount} > 0`),
  ],
);

/** A token's own state events (what tokens.stateHistory lists), and the identity registry's. */
export const STATE_EVENT_KINDS = [...STATE_HISTORY_KINDS, "identity_registered", "identity_removed"] as const;
export type StateEventKind = (typeof STATE_EVENT_KINDS)[number];

/**
 * ERC-3643 state events, as read (the history the current state in `tokens`, `token_balances` and
 * `identity_registrations` is derived from; a rollback re-derives from what remains).
 */
export const tokenStateEvents = pgTable(
  "token_state_events",
  {
    chainId: integer("chain_id").notNull(),
    /** The emitting contract: the token, or its identity registry for identity events. */
    contract: address("contract").notNull(),
    txHash: hex("tx_hash").notNull(),
    logIndex: integer("log_index").notNull(),
    blockNumber: blockNumber("block_number").notNull(),
    blockHash: hex("block_hash").notNull(),
    kind: text("kind").$type<StateEventKind>().notNull(),
    /** The holder or wallet concerned; null for paused/unpaused. */
    subject: address("subject"),
    /** tokens_frozen/unfrozen: the amount; identity_registered/removed: the ONCHAINID address. */
    value: text("value"),
    /** The block's timestamp (from the log when the node gives it, else from the block header). */
    blockTime: at("block_time"),
  },
  (table) => [
    primaryKey({ columns: [table.chainId, table.txHash, table.logIndex] }),
    check(
      "token_state_events_kind_check",
      sql`${table.kind} in (${sql.raw(STATE_EVENT_KINDS.map((k) => `'${k}'`).join(", "))})`,
    ),
    index("token_state_events_subject_idx").on(table.chainId, table.contract, table.subject, table.blockNumber),
    index("token_state_events_block_idx").on(table.chainId, table.blockNumber),
    // A contract's history, newest first (tokens.stateHistory, tokens.registrations' events).
    index("token_state_events_contract_idx").on(
      table.chainId,
      table.contract,
      table.blockNumber.desc(),
      table.logIndex.desc(),
    ),
  ],
);

/** A wallet's identity in an identity registry (IdentityRegistered / IdentityRemoved). */
export const identityRegistrations = pgTable(
  "identity_registrations",
  {
    chainId: integer("chain_id").notNull(),
    registry: address("registry").notNull(),
    wallet: address("wallet").notNull(),
    /** The ONCHAINID contract of the wallet's owner (kept after removal: the last one registered). */
    identity: address("identity").notNull(),
    registered: boolean("registered").notNull(),
    updatedBlock: blockNumber("updated_block").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.chainId, table.registry, table.wallet] }),
    index("identity_registrations_wallet_idx").on(table.chainId, table.wallet),
  ],
);

/** How far the indexer is, per chain: every block up to and including this one is in the tables. */
export const indexerCheckpoints = pgTable(
  "indexer_checkpoints",
  {
    chainId: integer("chain_id").primaryKey(),
    blockNumber: blockNumber("block_number").notNull(),
    /** The hash of that block as indexed: a reorg shows as the chain disagreeing with it. */
    blockHash: hex("block_hash").notNull(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (table) => [check("indexer_checkpoints_hash_check", isHash(table.blockHash))],
);

/**
 * Recently indexed blocks (the reorg window): a reorg is rolled back to the newest of these the
 * chain still has. Older rows are pruned; a deeper reorg needs a re-index.
 */
export const indexerBlocks = pgTable(
  "indexer_blocks",
  {
    chainId: integer("chain_id").notNull(),
    number: blockNumber("number").notNull(),
    hash: hex("hash").notNull(),
    parentHash: hex("parent_hash").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.chainId, table.number] }),
    check("indexer_blocks_hash_check", isHash(table.hash)),
  ],
);
