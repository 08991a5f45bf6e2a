// Whether the read replica (DATABASE_READ_URL) may serve the lag-tolerant lists right now. Each
// second it reads the primary's WAL position, then how far the standby has replayed: the standby
// holds everything the primary had at the newest sampled time whose position it has reached, so
// its lag is at most now minus that time; short of the oldest sample, at least now minus that one
// (no heartbeat table; an idle primary reads as no lag).
// Past DATABASE_READ_MAX_LAG_SECONDS, or while the standby does not answer, the lists read the
// primary; they go back once it has caught up. It starts with the api (createApp), or a first list
// read (onReadReplica): worker and indexer processes never probe.
import type pg from "pg";
import type { Registry } from "prom-client";
import type { Logger } from "./log";
import { gaugeIn } from "./metrics";

const PROBE_INTERVAL_MS = 1_000;
const PROBE_TIMEOUT_MS = 2_000;
/** Primary positions kept: a lag past this many probes is "at least that much". */
const SAMPLES = 120;

interface ReplicaStatus {
  /** Whether the lists read the replica now. */
  inUse: boolean;
  /** An upper bound, to the probe interval (while lagging: a lower bound); null until measured, or while it does not answer. */
  lagSeconds: number | null;
  /** Why the lists read the primary instead; absent while the replica serves. */
  reason?: "lagging" | "unreachable";
}

export interface ReplicaGuard {
  /** Starts the probing (api processes, from createApp); idempotent. */
  start(): void;
  /** Sync and cheap (a field read): asked on every lag-tolerant read. Starts the probing too. */
  usable(): boolean;
  status(): ReplicaStatus;
  close(): Promise<void>;
}

/** A primary without replica: nothing to guard. */
export const NO_REPLICA: ReplicaGuard = {
  start: () => {},
  usable: () => false,
  status: () => ({ inUse: false, lagSeconds: null }),
  close: async () => {},
};

/** `16/B374D848` as a number of bytes. */
function lsnBytes(lsn: string): bigint {
  const [high = "0", low = "0"] = lsn.split("/");
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

export function createReplicaGuard(
  pools: { primary: pg.Pool; replica: pg.Pool },
  maxLagSeconds: number,
  log: Logger,
): ReplicaGuard {
  const samples: { at: number; lsn: bigint }[] = [];
  // Optimistic until the first probe answers: the replica served before there was a guard.
  let current: ReplicaStatus = { inUse: true, lagSeconds: null };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;
  let closed = false;

  const query = async <T extends pg.QueryResultRow>(pool: pg.Pool, text: string): Promise<T | undefined> => {
    const result = await pool.query<T>({ text, query_timeout: PROBE_TIMEOUT_MS } as pg.QueryConfig);
    return result.rows[0];
  };

  async function measure(): Promise<ReplicaStatus> {
    const primary = await query<{ lsn: string }>(pools.primary, "select pg_current_wal_lsn()::text as lsn");
    if (!primary) throw new Error("no WAL position from the primary");
    samples.push({ at: Date.now(), lsn: lsnBytes(primary.lsn) });
    if (samples.length > SAMPLES) samples.shift();
    let replayed: { lsn: string | null } | undefined;
    try {
      replayed = await query<{ lsn: string | null }>(pools.replica, "select pg_last_wal_replay_lsn()::text as lsn");
    } catch {
      return { inUse: false, lagSeconds: null, reason: "unreachable" };
    }
    // null: not a standby (a misconfiguration, or promoted): nothing lags behind itself.
    if (!replayed?.lsn) return { inUse: true, lagSeconds: 0 };
    const position = lsnBytes(replayed.lsn);
    const now = Date.now();
    const reached = samples.findLast((s) => s.lsn <= position);
    if (reached) {
      // At most this far behind: everything the primary had then is replayed.
      const lagSeconds = Math.round((now - reached.at) / 100) / 10;
      return lagSeconds > maxLagSeconds ? { inUse: false, lagSeconds, reason: "lagging" } : { inUse: true, lagSeconds };
    }
    // Behind even the oldest sample: at least this far behind. Below the limit that says nothing
    // yet (a first probe usually finds the standby a few milliseconds behind): the choice stands.
    const atLeast = Math.round((now - (samples[0]?.at ?? now)) / 100) / 10;
    if (atLeast > maxLagSeconds || !current.inUse) return { inUse: false, lagSeconds: atLeast, reason: "lagging" };
    return { inUse: true, lagSeconds: null };
  }

  async function probe(): Promise<void> {
    let next: ReplicaStatus;
    try {
      next = await measure();
    } catch (err) {
      // The primary did not answer: leave the choice as it is (those reads fail either way).
      log.debug({ err }, "replica guard: the primary did not answer");
      next = current;
    }
    if (next.inUse !== current.inUse) {
      if (next.inUse) log.info({ lagSeconds: next.lagSeconds }, "read replica caught up: lists read it again");
      else
        log.warn(
          { reason: next.reason, lagSeconds: next.lagSeconds, maxLagSeconds },
          "read replica lagging or unreachable: lists read the primary",
        );
    }
    current = next;
    if (!closed) timer = setTimeout(probe, PROBE_INTERVAL_MS);
    // A process stops by closing its parts, never by waiting for this timer.
    timer?.unref();
  }

  const start = () => {
    if (started || closed) return;
    started = true;
    void probe();
  };
  return {
    start,
    usable() {
      start();
      return current.inUse;
    },
    status: () => current,
    async close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** The guard's view in the process's registry (under a supervisor: the worst process's lag, the fewest using it). */
export function replicaMetrics(registry: Registry, guard: ReplicaGuard): void {
  gaugeIn(registry, {
    name: "kit_db_replica_lag_seconds",
    help: "The read replica's replay lag as this process last measured it (an upper bound, to the second); absent until measured",
    aggregator: "max",
    collect() {
      const { lagSeconds } = guard.status();
      if (lagSeconds !== null) this.set(lagSeconds);
    },
  });
  gaugeIn(registry, {
    name: "kit_db_replica_in_use",
    help: "1 while the lag-tolerant lists read the replica, 0 while they read the primary (lagging past DATABASE_READ_MAX_LAG_SECONDS, or unreachable)",
    aggregator: "min",
    collect() {
      this.set(guard.status().inUse ? 1 : 0);
    },
  });
}
