// Staleness episodes: a check (job fx.staleness, every minute) finds the pairs that no provider
// has a fresh quote for. The first check that finds any opens an episode and records the admins'
// notification in the same transaction; later checks of the same episode record nothing; the first
// check that finds none closes it. So admins hear once per episode, however often the check runs.
import { desc, isNull, sql } from "drizzle-orm";
import type { JobQueue } from "../../deps";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { kickDispatcher, recordNotification } from "../notifications/record";
import { fxStaleEpisodes } from "./schema";

/** At most this many pairs are named in the notification (the Rates page lists them all). */
const MAX_PAIRS_NAMED = 50;

export interface StalenessCheck {
  stale: number;
  episode: "none" | "opened" | "open" | "closed";
}

export async function checkStaleness(
  deps: { db: Database; jobs?: JobQueue; log?: Logger },
  now = new Date(),
): Promise<StalenessCheck> {
  const check = await deps.db.transaction(async (tx): Promise<StalenessCheck> => {
    // One check at a time: two workers never open two episodes.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('kit:fx_staleness'))`);
    const { rows } = await tx.execute<{ pair: string; since: string }>(sql`
      select base || '/' || quote as pair, max(expires_at) as since from fx_rates_latest
      group by base, quote having max(expires_at) <= ${now.toISOString()}::timestamptz
      order by since, pair`);
    const [open] = await tx
      .select()
      .from(fxStaleEpisodes)
      .where(isNull(fxStaleEpisodes.endedAt))
      .orderBy(desc(fxStaleEpisodes.startedAt))
      .limit(1);
    if (rows.length === 0) {
      if (!open) return { stale: 0, episode: "none" };
      await tx.update(fxStaleEpisodes).set({ endedAt: now }).where(isNull(fxStaleEpisodes.endedAt));
      return { stale: 0, episode: "closed" };
    }
    if (open) return { stale: rows.length, episode: "open" };
    const pairs = rows.map((row) => row.pair);
    const [episode] = await tx.insert(fxStaleEpisodes).values({ startedAt: now, pairs }).returning();
    if (!episode) throw new Error("insert returned no episode");
    await recordNotification(
      tx,
      "exchange_rates.stale",
      {},
      { pairs: pairs.slice(0, MAX_PAIRS_NAMED), since: new Date(rows[0]?.since ?? now).toISOString() },
      { dedupeKey: `exchange_rates.stale:${episode.id}` },
    );
    return { stale: rows.length, episode: "opened" };
  });
  if (check.episode === "opened") {
    deps.log?.warn({ stale: check.stale }, "exchange rates are stale; admins are notified");
    await kickDispatcher(deps);
  }
  return check;
}
