// The indexer's writes. Each function runs inside the caller's transaction, on the connection that
// holds the indexer lock. Balances, total supply and state are derived from the rows the same
// statement actually inserted (`RETURNING` of `ON CONFLICT DO NOTHING`): a log read twice adds
// nothing twice, and a rollback subtracts exactly what the deleted rows had added.
import type pg from "pg";
import { type StateLog, type TransferLog, ZERO_ADDRESS } from "./chain-reader";
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
async function applyTransfers(
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

/** Inserts state events and applies the inserted ones, in chain order. */
export async function insertStateEvents(client: pg.ClientBase, chainId: number, events: StateLog[]): Promise<void> {
  if (events.length === 0) return;
  const { rows } = await client.query<{ contract: string; subject: string | null; kind: string }>(
    `insert into token_state_events (chain_id, contract, tx_hash, log_index, block_number, block_hash, kind, subject, value)
     select $1, * from unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[])
     on conflict do nothing
     returning contract, subject, kind`,
    [
      chainId,
      events.map((e) => e.contract),
      events.map((e) => e.txHash),
      events.map((e) => e.logIndex),
      events.map((e) => e.blockNumber),
      events.map((e) => e.blockHash),
      events.map((e) => e.kind),
      events.map((e) => e.subject),
      events.map((e) => e.value),
    ],
  );
  // Re-derived from the whole stored history of each subject touched (a handful of rows): the same
  // code then serves forward batches and rollbacks, and order within a batch cannot go wrong.
  await rederiveState(client, chainId, rows);
}

interface Touched {
  contract: string;
  subject: string | null;
  kind: string;
}

/** Sets paused, frozen, frozen amounts and identity registrations from the events that remain. */
async function rederiveState(client: pg.ClientBase, chainId: number, touched: Touched[]): Promise<void> {
  const pausedTokens = new Set<string>();
  const holders = new Map<string, { token: string; holder: string }>();
  const wallets = new Map<string, { registry: string; wallet: string }>();
  for (const t of touched) {
    if (t.kind === "paused" || t.kind === "unpaused") pausedTokens.add(t.contract);
    else if (t.kind.startsWith("identity_") && t.subject)
      wallets.set(`${t.contract}:${t.subject}`, { registry: t.contract, wallet: t.subject });
    else if (t.subject) holders.set(`${t.contract}:${t.subject}`, { token: t.contract, holder: t.subject });
  }
  if (pausedTokens.size > 0) {
    // A T-REX token starts paused without an event; any other token starts unpaused.
    await client.query(
      `update tokens t set updated_at = now(), paused = coalesce(
         (select e.kind = 'paused' from token_state_events e
          where e.chain_id = t.chain_id and e.contract = t.address and e.kind in ('paused', 'unpaused')
          order by e.block_number desc, e.log_index desc limit 1),
         t.kind = 't-rex')
       where t.chain_id = $1 and t.address = any($2::text[])`,
      [chainId, [...pausedTokens]],
    );
  }
  if (holders.size > 0) {
    const list = [...holders.values()];
    await client.query(
      `insert into token_balances as b (chain_id, token, holder, frozen, frozen_amount, updated_block)
       select $1, h.token, h.holder,
         coalesce((select e.kind = 'address_frozen' from token_state_events e
                   where e.chain_id = $1 and e.contract = h.token and e.subject = h.holder
                     and e.kind in ('address_frozen', 'address_unfrozen')
                   order by e.block_number desc, e.log_index desc limit 1), false),
         coalesce((select sum(case when e.kind = 'tokens_frozen' then e.value::numeric else -e.value::numeric end)
                   from token_state_events e
                   where e.chain_id = $1 and e.contract = h.token and e.subject = h.holder
                     and e.kind in ('tokens_frozen', 'tokens_unfrozen')), 0),
         coalesce((select max(e.block_number) from token_state_events e
                   where e.chain_id = $1 and e.contract = h.token and e.subject = h.holder), 0)
       from unnest($2::text[], $3::text[]) as h(token, holder)
       on conflict (chain_id, token, holder) do update
         set frozen = excluded.frozen, frozen_amount = excluded.frozen_amount,
             updated_block = greatest(b.updated_block, excluded.updated_block)`,
      [chainId, list.map((h) => h.token), list.map((h) => h.holder)],
    );
  }
  if (wallets.size > 0) {
    const list = [...wallets.values()];
    const registries = list.map((w) => w.registry);
    const addresses = list.map((w) => w.wallet);
    await client.query(
      `delete from identity_registrations r using unnest($2::text[], $3::text[]) as w(registry, wallet)
       where r.chain_id = $1 and r.registry = w.registry and r.wallet = w.wallet`,
      [chainId, registries, addresses],
    );
    await client.query(
      `insert into identity_registrations (chain_id, registry, wallet, identity, registered, updated_block)
       select distinct on (e.contract, e.subject) $1, e.contract, e.subject, e.value, e.kind = 'identity_registered', e.block_number
       from token_state_events e join unnest($2::text[], $3::text[]) as w(registry, wallet)
         on e.contract = w.registry and e.subject = w.wallet
       where e.chain_id = $1 and e.kind in ('identity_registered', 'identity_removed')
       order by e.contract, e.subject, e.block_number desc, e.log_index desc`,
      [chainId, registries, addresses],
    );
  }
}

export interface Checkpoint {
  blockNumber: number;
  blockHash: string;
}

export async function readCheckpoint(client: pg.ClientBase, chainId: number): Promise<Checkpoint | undefined> {
  const { rows } = await client.query<{ block_number: string; block_hash: string }>(
    "select block_number, block_hash from indexer_checkpoints where chain_id = $1",
    [chainId],
  );
  const row = rows[0];
  return row ? { blockNumber: Number(row.block_number), blockHash: row.block_hash } : undefined;
}

/**
 * Moves the checkpoint from `previous` to `next`. Fenced: if the row is not where this indexer
 * left it, another writer moved it, and the transaction must not commit.
 */
export async function moveCheckpoint(
  client: pg.ClientBase,
  chainId: number,
  previous: Checkpoint | undefined,
  next: Checkpoint,
): Promise<void> {
  const result = previous
    ? await client.query(
        `update indexer_checkpoints set block_number = $2, block_hash = $3, updated_at = now()
         where chain_id = $1 and block_number = $4 and block_hash = $5`,
        [chainId, next.blockNumber, next.blockHash, previous.blockNumber, previous.blockHash],
      )
    : await client.query(
        `insert into indexer_checkpoints (chain_id, block_number, block_hash) values ($1, $2, $3)
         on conflict do nothing`,
        [chainId, next.blockNumber, next.blockHash],
      );
  if (result.rowCount !== 1) throw new Error("the indexer checkpoint moved under this indexer (another writer?)");
}

/** Records block headers for reorg detection and forgets those older than the window. */
export async function recordBlocks(
  client: pg.ClientBase,
  chainId: number,
  headers: { number: number; hash: string; parentHash: string }[],
  keepFrom: number,
): Promise<void> {
  if (headers.length > 0) {
    await client.query(
      `insert into indexer_blocks (chain_id, number, hash, parent_hash)
       select $1, * from unnest($2::bigint[], $3::text[], $4::text[])
       on conflict (chain_id, number) do update set hash = excluded.hash, parent_hash = excluded.parent_hash`,
      [chainId, headers.map((h) => h.number), headers.map((h) => h.hash), headers.map((h) => h.parentHash)],
    );
  }
  // The newest row always stays, whatever the window: it is the checkpoint's.
  await client.query(
    `delete from indexer_blocks where chain_id = $1 and number < $2
       and number < (select max(number) from indexer_blocks where chain_id = $1)`,
    [chainId, keepFrom],
  );
}

export async function recentBlocks(client: pg.ClientBase, chainId: number, upTo: number) {
  const { rows } = await client.query<{ number: string; hash: string }>(
    "select number, hash from indexer_blocks where chain_id = $1 and number <= $2 order by number desc",
    [chainId, upTo],
  );
  return rows.map((r) => ({ number: Number(r.number), hash: r.hash }));
}

export interface RollbackResult {
  /** Transfers removed, per token. */
  removed: Map<string, number>;
  /** Factory-discovered tokens whose creation was undone. */
  forgottenTokens: string[];
}

/**
 * Takes back everything above `ancestor`: transfers (and the balance and supply moves they made),
 * state events (state re-derived from those left), tokens created above it, recorded blocks,
 * catch-up progress; the checkpoint becomes `ancestor`.
 */
export async function rollbackTo(
  client: pg.ClientBase,
  chainId: number,
  ancestor: Checkpoint,
  previous: Checkpoint,
): Promise<RollbackResult> {
  const { rows: tokenRows } = await client.query<{ address: string }>(
    "select address from tokens where chain_id = $1",
    [chainId],
  );
  const allTokens = tokenRows.map((r) => r.address);
  const { rows: deleted } = await client.query<{
    token: string;
    from: string;
    to: string;
    amount: string;
    block_number: string;
  }>(
    `delete from token_transfers
     where chain_id = $1 and token = any($2::text[]) and block_number > $3
     returning token, "from", "to", amount, block_number`,
    [chainId, allTokens, ancestor.blockNumber],
  );
  await applyTransfers(
    client,
    chainId,
    deleted.map((r) => ({
      token: r.token,
      from: r.from,
      to: r.to,
      amount: r.amount,
      blockNumber: ancestor.blockNumber,
    })),
    -1n,
  );
  const removed = new Map<string, number>();
  for (const row of deleted) removed.set(row.token, (removed.get(row.token) ?? 0) + 1);
  const { rows: touched } = await client.query<Touched>(
    `delete from token_state_events where chain_id = $1 and block_number > $2 returning contract, subject, kind`,
    [chainId, ancestor.blockNumber],
  );
  const { rows: forgotten } = await client.query<{ address: string }>(
    `delete from tokens where chain_id = $1 and discovered_via = 'factory' and deployment_block > $2 returning address`,
    [chainId, ancestor.blockNumber],
  );
  const forgottenTokens = forgotten.map((r) => r.address);
  if (forgottenTokens.length > 0) {
    await client.query("delete from token_balances where chain_id = $1 and token = any($2::text[])", [
      chainId,
      forgottenTokens,
    ]);
  }
  await rederiveState(
    client,
    chainId,
    touched.filter((t) => !forgottenTokens.includes(t.contract)),
  );
  await client.query(
    `update tokens set catch_up_block = least(catch_up_block, $2)
     where chain_id = $1 and catch_up_block is not null`,
    [chainId, ancestor.blockNumber],
  );
  await client.query("delete from indexer_blocks where chain_id = $1 and number > $2", [chainId, ancestor.blockNumber]);
  await moveCheckpoint(client, chainId, previous, ancestor);
  return { removed, forgottenTokens };
}
