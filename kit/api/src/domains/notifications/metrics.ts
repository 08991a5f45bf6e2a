// The outbox in /metrics: how many events wait for the dispatcher and how long the oldest has
// waited (read from the table on each scrape, so every worker shows the same truth). A lag that
// grows means the dispatcher is down, too slow, or stuck on events it gave up on (their
// `last_error` says why).
import { sql } from "drizzle-orm";
import type { Registry } from "prom-client";
import type { Database } from "../../infra/db";
import { gaugeIn } from "../../infra/metrics";

/** A scrape waits for the count at most this long, then shows the last values. */
const SCRAPE_QUERY_TIMEOUT_MS = 2_000;

interface Backlog {
  undispatched: number;
  oldestSeconds: number;
}

async function backlog(db: Database): Promise<Backlog | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), SCRAPE_QUERY_TIMEOUT_MS);
  });
  const query = db
    .execute<{ n: number; age: number }>(sql`
      select count(*)::int as n, coalesce(extract(epoch from now() - min(occurred_at)), 0)::float8 as age
      from notification_events where dispatched_at is null`)
    .then(({ rows }) => ({ undispatched: rows[0]?.n ?? 0, oldestSeconds: rows[0]?.age ?? 0 }))
    .catch(() => undefined);
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The series in `registry`; the gauges read the outbox through `db` of the first call, on each scrape. */
export function notificationMetrics(registry: Registry, db: Database): void {
  let last: Promise<Backlog | undefined> | undefined;
  // Both gauges of one scrape share one query.
  const read = () => {
    last ??= backlog(db).finally(() => {
      last = undefined;
    });
    return last;
  };
  gaugeIn(registry, {
    name: "kit_notifications_undispatched",
    help: "Notification events the dispatcher has not fanned out yet",
    async collect() {
      const now = await read();
      if (now) this.set(now.undispatched);
    },
  });
  gaugeIn(registry, {
    name: "kit_notifications_oldest_undispatched_seconds",
    help: "How long the oldest undispatched notification event has waited (0: none waits)",
    async collect() {
      const now = await read();
      if (now) this.set(now.oldestSeconds);
    },
  });
}
