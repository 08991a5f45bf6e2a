// The indexer's writes of ERC-3643 state (paused, frozen, identity registrations), as store.ts's:
// inside the caller's transaction, derived from the events the same statement inserted.
import type pg from "pg";
import type { StateLog } from "./chain-reader";

/** Inserts state events and applies the inserted ones, in chain order. */
export async function insertStateEvents(client: pg.ClientBase, chainId: number, events: StateLog[]): Promise<void> {
  if (events.length === 0) return;
  const { rows } = await client.query<{ contract: string; subject: string | null; kind: string }>(
    `insert into token_state_events (chain_id, contract, tx_hash, log_index, block_number, block_hash, kind, subject, value,
       block_time)
     select $1, e.contract, e.tx_hash, e.log_index, e.block_number, e.block_hash, e.kind, e.subject, e.value,
       to_timestamp(e.block_time)
     from unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[],
       $10::bigint[]) as e(contract, tx_hash, log_index, block_number, block_hash, kind, subject, value, block_time)
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
      events.map((e) => e.blockTime ?? null),
    ],
  );
  // Re-derived from the whole stored history of each subject touched (a handful of rows): the same
  // code then serves forward batches and rollbacks, and order within a batch cannot go wrong.
  await rederiveState(client, chainId, rows);
}

export interface Touched {
  contract: string;
  subject: string | null;
  kind: string;
}

/** Sets paused, frozen, frozen amounts and identity registrations from the events that remain. */
export async function rederiveState(client: pg.ClientBase, chainId: number, touched: Touched[]): Promise<void> {
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
