// What admins see of the indexer (system.indexer), whichever process runs it: the active indexer's
// last report, kept in Redis for a minute (its state and last error, redacted), and from the tables
// the checkpoint and the tokens not simply followed — catching up, or quarantined with the reason.
import { and, asc, eq, isNotNull, or, sql } from "drizzle-orm";
import { getAddress } from "viem";
import type { Config } from "../../config";
import type { Database } from "../../infra/db";
import type { Redis } from "../../infra/redis";
import type { IndexerOverview } from "./contract-indexer";
import { indexerCheckpoints, tokens } from "./schema";

/**
 * What the public /ready shows of the indexer: fixed words and numbers, never an error's text (a
 * node's error names its URL, API key included). The details go to the log, redacted, and to
 * admins (system.indexer).
 */
export interface IndexerStatus {
  /** active: holds the lock and indexes; standby: waits for it; stopped. */
  role: "starting" | "standby" | "active" | "stopped";
  /**
   * ok; behind: more than INDEXER_MAX_LAG_BLOCKS (plus confirmations) behind the head; failing: the
   * last attempt failed and is being retried; starting, standby, stopped: as `role`.
   */
  state: "starting" | "standby" | "ok" | "behind" | "failing" | "stopped";
  chainId?: number;
  head?: number;
  indexedBlock?: number;
  lagBlocks?: number;
  /** Events committed per second over the last progress interval. */
  eventsPerSecond?: number;
  /** Tokens left out of indexing until an operator resets them (they do not make it unready). */
  quarantinedTokens: number;
  /** False when active and more than INDEXER_MAX_LAG_BLOCKS behind, or failing repeatedly. */
  ready: boolean;
}

export interface IndexerReport extends IndexerStatus {
  /** The last failure, redacted (describeChainError): no node URL, key or request body. */
  lastError: string | null;
  lastErrorAt: string | null;
  reportedAt: string;
}

const REPORT_KEY = "indexer:report";
/** A report older than this is gone: no indexer is running (or none can reach Redis). */
const REPORT_TTL_MS = 60_000;

export async function writeIndexerReport(redis: Redis, report: IndexerReport): Promise<void> {
  await redis.set(REPORT_KEY, JSON.stringify(report), "PX", REPORT_TTL_MS);
}

async function readIndexerReport(redis: Redis): Promise<IndexerReport | null> {
  const text = await redis.get(REPORT_KEY);
  return text ? (JSON.parse(text) as IndexerReport) : null;
}

const block = (n: number | null | undefined) => (n === null || n === undefined ? null : String(n));

export async function getIndexerOverview(deps: {
  config: Pick<Config, "chain">;
  db: Database;
  redis: Redis;
}): Promise<IndexerOverview> {
  const chainId = deps.config.chain.id;
  const [report, checkpoint, counts, listed] = await Promise.all([
    // Redis away: the tables still say most of it.
    readIndexerReport(deps.redis).catch(() => null),
    deps.db.select().from(indexerCheckpoints).where(eq(indexerCheckpoints.chainId, chainId)),
    deps.db
      .select({
        total: sql<number>`count(*)::int`,
        catchingUp: sql<number>`(count(*) filter (where ${tokens.catchUpBlock} is not null and ${tokens.quarantinedAt} is null))::int`,
        quarantined: sql<number>`(count(*) filter (where ${tokens.quarantinedAt} is not null))::int`,
      })
      .from(tokens)
      .where(eq(tokens.chainId, chainId)),
    deps.db
      .select()
      .from(tokens)
      .where(and(eq(tokens.chainId, chainId), or(isNotNull(tokens.quarantinedAt), isNotNull(tokens.catchUpBlock))))
      .orderBy(asc(tokens.quarantinedAt), asc(tokens.address))
      .limit(200),
  ]);
  const cp = checkpoint[0];
  const count = counts[0] ?? { total: 0, catchingUp: 0, quarantined: 0 };
  return {
    chainId,
    checkpoint: cp
      ? { block: String(cp.blockNumber), hash: cp.blockHash, updatedAt: cp.updatedAt.toISOString() }
      : null,
    report: report && {
      role: report.role,
      state: report.state,
      head: block(report.head),
      indexedBlock: block(report.indexedBlock),
      lagBlocks: report.lagBlocks ?? null,
      eventsPerSecond: report.eventsPerSecond ?? null,
      lastError: report.lastError,
      lastErrorAt: report.lastErrorAt,
      reportedAt: report.reportedAt,
    },
    tokens: {
      total: count.total,
      following: count.total - count.catchingUp - count.quarantined,
      catchingUp: count.catchingUp,
      quarantined: count.quarantined,
    },
    attention: listed.map((t) => ({
      address: getAddress(t.address),
      name: t.name,
      symbol: t.symbol,
      discoveredVia: t.discoveredVia,
      state: t.quarantinedAt ? ("quarantined" as const) : ("catching_up" as const),
      indexedBlock: block(t.catchUpBlock),
      openingBlock: block(t.openingBlock),
      quarantinedAt: t.quarantinedAt?.toISOString() ?? null,
      reason: t.quarantineReason,
    })),
  };
}
