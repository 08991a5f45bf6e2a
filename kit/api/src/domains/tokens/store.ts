// The indexer's writes of tokens, transfers and the balances and supply they move (state events:
// store-state.ts; checkpoint and block hashes: store-checkpoint.ts; a reorg's undoing:
// store-rollback.ts). Each function runs inside the caller's transaction, on the connection that
// holds the indexer lock. Balances, total supply and state are derived from the rows the same
// statement actually inserted (`RETURNING` of `ON CONFLICT DO NOTHING`): a log read twice adds
// nothing twice, and a rollback subtracts exactly what the deleted rows had added.
import type pg from "pg";
import { type TransferLog, ZERO_ADDRESS } from "./chain-reader";
import type { DiscoverySource } from "./contract-values";
import type { TokenKind } from "./schema";

export interface NewToken {
  address: string;
  name: string;
  symbol: string;
  decimals: number;
  kind: TokenKind;
  discoveredVia: DiscoverySource;
  deploymentBlock: number;
  identityRegistry: string | null;
  factory: string | null;
  catchUpBlock: number | null;
  /** See `tokens.opening_block`; null for a token indexed from its creation. */
  openingBlock?: number | null;
  /** totalSupply() at the opening block (the supply the indexed mints and burns start from). */
  openingSupply?: string;
}

export async function insertTokens(client: pg.ClientBase, chainId: number, tokens: NewToken[]): Promise<void> {
  if (tokens.length === 0) return;
  await client.query(
    `insert into tokens (chain_id, address, name, symbol, decimals, kind, discovered_via, deployment_block,
       identity_registry, factory, catch_up_block, opening_block, total_supply, paused)
     select $1, t.* , t.kind = 't-rex'
     from unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::text[], $8::bigint[],
       $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::numeric[]) as t(address, name, symbol, decimals,
       kind, discovered_via, deployment_block, identity_registry, factory, catch_up_block, opening_block, total_supply)
     on conflict (chain_id, address) do nothing`,
    [
      chainId,
      tokens.map((t) => t.address),
      tokens.map((t) => t.name),
      tokens.map((t) => t.symbol),
      tokens.map((t) => t.decimals),
      tokens.map((t) => t.kind),
      tokens.map((t) => t.discoveredVia),
      tokens.map((t) => t.deploymentBlock),
      tokens.map((t) => t.identityRegistry),
      tokens.map((t) => t.factory),
      tokens.map((t) => t.catchUpBlock),
      tokens.map((t) => t.openingBlock ?? null),
      tokens.map((t) => t.openingSupply ?? "0"),
    ],
  );
}

/** A holder's balance at its token's opening block, as read from the chain. */
export interface OpeningBalance {
  token: string;
  holder: string;
  balance: string;
  block: number;
}

/** Of these holders, those whose opening balance is not stored yet (to read from the chain). */
export async function holdersWithoutOpeningBalance(
  client: pg.ClientBase,
  chainId: number,
  holders: { token: string; holder: string }[],
): Promise<{ token: string; holder: string }[]> {
  if (holders.length === 0) return [];
  const { rows } = await client.query<{ token: string; holder: string }>(
    `select h.token, h.holder from unnest($2::text[], $3::text[]) as h(token, holder)
     where not exists (select 1 from token_balances b where b.chain_id = $1 and b.token = h.token
                         and b.holder = h.holder and b.opening_balance is not null)`,
    [chainId, holders.map((h) => h.token), holders.map((h) => h.holder)],
  );
  return rows;
}

/**
 * Stores opening balances and adds them to the balances (a row made earlier by a freeze event has
 * none yet). A holder that has one already keeps it: it is a fact about a block below everything
 * indexed for the token.
 */
export async function insertOpeningBalances(
  client: pg.ClientBase,
  chainId: number,
  openings: OpeningBalance[],
): Promise<void> {
  if (openings.length === 0) return;
  await client.query(
    `insert into token_balances as b (chain_id, token, holder, balance, opening_balance, updated_block)
     select $1, o.token, o.holder, o.balance, o.balance, o.block
     from unnest($2::text[], $3::text[], $4::numeric[], $5::bigint[]) as o(token, holder, balance, block)
     on conflict (chain_id, token, holder) do update
       set balance = b.balance + excluded.opening_balance, opening_balance = excluded.opening_balance
       where b.opening_balance is null`,
    [
      chainId,
      openings.map((o) => o.token),
      openings.map((o) => o.holder),
      openings.map((o) => o.balance),
      openings.map((o) => o.block),
    ],
  );
}

/**
 * Inserts transfers and, from the rows inserted (RETURNING), moves balances and total supplies.
 * Returns the transfers inserted (for publishing), in chain order.
 */
export async function insertTransfers(
  client: pg.ClientBase,
  chainId: number,
  transfers: TransferLog[],
): Promise<TransferLog[]> {
  if (transfers.length === 0) return [];
  const { rows } = await client.query<{
    token: string;
    tx_hash: string;
    log_index: number;
    block_number: string;
    block_hash: string;
    from: string;
    to: string;
    amount: string;
    block_time: string | null;
  }>(
    `insert into token_transfers (chain_id, token, tx_hash, log_index, block_number, block_hash, "from", "to", amount,
       block_time)
     select $1, t.token, t.tx_hash, t.log_index, t.block_number, t.block_hash, t."from", t."to", t.amount,
       to_timestamp(t.block_time)
     from unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::numeric[],
       $10::bigint[]) as t(token, tx_hash, log_index, block_number, block_hash, "from", "to", amount, block_time)
     on conflict do nothing
     returning token, tx_hash, log_index, block_number, block_hash, "from", "to", amount,
       extract(epoch from block_time)::bigint as block_time`,
    [
      chainId,
      transfers.map((t) => t.token),
      transfers.map((t) => t.txHash),
      transfers.map((t) => t.logIndex),
      transfers.map((t) => t.blockNumber),
      transfers.map((t) => t.blockHash),
      transfers.map((t) => t.from),
      transfers.map((t) => t.to),
      transfers.map((t) => t.amount),
      transfers.map((t) => t.blockTime),
    ],
  );
  const inserted = rows
    .map((r) => ({
      token: r.token,
      txHash: r.tx_hash,
      logIndex: r.log_index,
      blockNumber: Number(r.block_number),
      blockHash: r.block_hash,
      from: r.from,
      to: r.to,
      amount: r.amount,
      blockTime: r.block_time === null ? null : Number(r.block_time),
    }))
    .sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  await applyTransfers(client, chainId, inserted, 1n);
  return inserted;
}

/**
 * Adds (`sign` 1n) or takes back (-1n) the balance and supply moves of `transfers`: summed here
 * with bigints (exact), written in two statements whatever the batch size.
 */
export async function applyTransfers(
  client: pg.ClientBase,
  chainId: number,
  transfers: Pick<TransferLog, "token" | "from" | "to" | "amount" | "blockNumber">[],
  sign: 1n | -1n,
): Promise<void> {
  if (transfers.length === 0) return;
  const { balances: list, supply } = transferDeltas(transfers, sign);
  await client.query(
    `with d as (
       select * from unnest($2::text[], $3::text[], $4::numeric[], $5::bigint[]) as d(token, holder, delta, block)
     ), updated as (
       update token_balances b set balance = b.balance + d.delta, updated_block = greatest(b.updated_block, d.block)
       from d
       where b.chain_id = $1 and b.token = d.token and b.holder = d.holder
       returning b.token, b.holder
     )
     -- Not an upsert: Postgres checks the proposed row (a negative delta) against balance >= 0
     -- before it looks for a conflict, and that check is worth keeping as the guard it is.
     insert into token_balances (chain_id, token, holder, balance, updated_block)
     select $1, d.token, d.holder, d.delta, d.block from d
     where not exists (select 1 from updated u where u.token = d.token and u.holder = d.holder)`,
    [
      chainId,
      list.map((d) => d.token),
      list.map((d) => d.holder),
      list.map((d) => d.delta.toString()),
      list.map((d) => d.block),
    ],
  );
  const changed = [...supply].filter(([, delta]) => delta !== 0n);
  if (changed.length > 0) {
    await client.query(
      `update tokens t set total_supply = t.total_supply + s.delta, updated_at = now()
       from unnest($2::text[], $3::numeric[]) as s(token, delta)
       where t.chain_id = $1 and t.address = s.token`,
      [chainId, changed.map(([token]) => token), changed.map(([, delta]) => delta.toString())],
    );
  }
}

export interface BalanceDelta {
  token: string;
  holder: string;
  delta: bigint;
  /** The last block of the transfers summed. */
  block: number;
}

/** The net move of each holder's balance and of each token's supply over `transfers`, exactly. */
export function transferDeltas(
  transfers: Pick<TransferLog, "token" | "from" | "to" | "amount" | "blockNumber">[],
  sign: 1n | -1n = 1n,
): { balances: BalanceDelta[]; supply: Map<string, bigint> } {
  const deltas = new Map<string, BalanceDelta>();
  const supply = new Map<string, bigint>();
  const move = (token: string, holder: string, delta: bigint, block: number) => {
    const key = `${token}${holder}`;
    const entry = deltas.get(key);
    if (entry) {
      entry.delta += delta;
      if (block > entry.block) entry.block = block;
    } else deltas.set(key, { token, holder, delta, block });
  };
  for (const t of transfers) {
    const amount = BigInt(t.amount) * sign;
    if (t.from === ZERO_ADDRESS) supply.set(t.token, (supply.get(t.token) ?? 0n) + amount);
    else move(t.token, t.from, -amount, t.blockNumber);
    if (t.to === ZERO_ADDRESS) supply.set(t.token, (supply.get(t.token) ?? 0n) - amount);
    else move(t.token, t.to, amount, t.blockNumber);
  }
  return { balances: [...deltas.values()], supply };
}

/** Runs `work` in one transaction on the indexer's connection: committed, or rolled back and rethrown. */
export async function inTransaction<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
  await client.query("begin");
  try {
    const result = await work();
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  }
}
