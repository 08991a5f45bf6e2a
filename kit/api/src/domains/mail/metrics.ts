// The mail outbox in /metrics: what waits and what failed for good (read from the table on each
// scrape, so every worker shows the same truth), how long the oldest pending mail has waited (the
// outbox's lag), and each try's outcome as this worker's sender saw it.
import { sql } from "drizzle-orm";
import type { Counter, Registry } from "prom-client";
import type { Database } from "../../infra/db";
import { counterIn, gaugeIn } from "../../infra/metrics";
import { mailMessages } from "./schema";

const OUTCOMES = ["sent", "retrying", "failed"] as const;
/** A scrape waits for the count at most this long, then shows the last values. */
const SCRAPE_QUERY_TIMEOUT_MS = 2_000;

export interface MailMetrics {
  attempts: Counter<"outcome">;
}

async function outboxState(db: Database) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("count timed out")), SCRAPE_QUERY_TIMEOUT_MS);
  });
  try {
    const [row] = await Promise.race([
      db
        .select({
          pending: sql<number>`count(*) filter (where ${mailMessages.status} = 'pending')`.mapWith(Number),
          failed: sql<number>`count(*) filter (where ${mailMessages.status} = 'failed')`.mapWith(Number),
          oldest:
            sql<number>`coalesce(extract(epoch from now() - min(${mailMessages.createdAt}) filter (where ${mailMessages.status} = 'pending')), 0)`.mapWith(
              Number,
            ),
        })
        .from(mailMessages),
      timeout,
    ]);
    return row;
  } finally {
    clearTimeout(timer);
  }
}

/** The series in `registry`, the same ones each time; the gauges read through the `db` of the first call. */
export function mailMetrics(registry: Registry, db: Database): MailMetrics {
  let state: Promise<Awaited<ReturnType<typeof outboxState>> | undefined> | undefined;
  // One query per scrape for both gauges: the first collect starts it, the second reuses it.
  const read = () => {
    state ??= outboxState(db)
      .catch(() => undefined)
      .finally(() => setTimeout(() => (state = undefined), 0));
    return state;
  };
  gaugeIn(registry, {
    name: "kit_mail_messages",
    help: "Mail in the outbox by status: pending (queued or retrying) and failed (given up)",
    labelNames: ["status"],
    async collect() {
      const row = await read();
      if (!row) return; // the database did not answer in time: the last values stand
      this.set({ status: "pending" }, row.pending);
      this.set({ status: "failed" }, row.failed);
    },
  });
  gaugeIn(registry, {
    name: "kit_mail_oldest_pending_seconds",
    help: "How long the oldest pending mail has waited (0 when none waits)",
    async collect() {
      const row = await read();
      if (row) this.set(row.oldest);
    },
  });
  const attempts = counterIn(registry, {
    name: "kit_mail_attempts_total",
    help: "SMTP tries by outcome: sent, retrying (refused or unreachable, tried again later), failed (given up)",
    labelNames: ["outcome"],
  });
  for (const outcome of OUTCOMES) attempts.inc({ outcome }, 0);
  return { attempts };
}
