// Failed sign-ins, summarized into the audit trail once per hour (docs/audit.md): every e-mail
// sign-in better-auth refuses (wrong password, unknown account, banned, unverified) and every one
// the brute-force limits refuse is counted in Redis under its hour, by the same keyed hashes the
// limiter uses (brute-force.ts: HMAC with the auth secret, never an e-mail or an address in clear).
// The job `auth.sign-in-failures-summary` writes one `auth.sign_in_failures` event per past hour
// that had any: counts, distinct accounts and addresses, accounts locked (refused by the
// account-wide ceiling), and the ten accounts most tried, as hashes. Counting is best effort (a
// sign-in never fails because Redis could not count it); the summary is written once per hour
// whatever the number of workers (advisory lock, then a check for that hour's row).
import { sql } from "drizzle-orm";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import { hasAuditEvent, recordAudit, SYSTEM_ACTOR } from "../audit/record";

const HOUR_MS = 60 * 60 * 1000;
/** Hours kept in Redis, and looked back over by the job: a worker down for a day loses nothing. */
const KEPT_HOURS = 48;
const TOP_ACCOUNTS = 10;
const SIGN_IN_WINDOW_SUBJECT = "auth_sign_in_window";

/** What one refused sign-in is counted by: keyed hashes (brute-force.ts), never the e-mail or the address. */
export interface SignInFailure {
  /** `email:<hash>`: the account tried. */
  account: string;
  /** The hash of the client's address block. */
  address: string;
  /** `failed`: better-auth refused it; `limited`: a brute-force limit did (`account`: the account-wide ceiling). */
  outcome: "failed" | "limited";
  scope?: "address" | "account";
}

const windowStart = (at: number) => Math.floor(at / HOUR_MS) * HOUR_MS;
// The window is the hash tag of its keys: one MULTI counts into all of them (one Redis Cluster slot).
const windowKey = (start: number) => `auth-failures:{${new Date(start).toISOString()}}`;

export async function countSignInFailure(
  deps: { redis: Redis; log: Logger },
  failure: SignInFailure,
  at = Date.now(),
): Promise<void> {
  const key = windowKey(windowStart(at));
  const ttl = KEPT_HOURS * 3600 + 3600;
  try {
    const pipeline = deps.redis
      .multi()
      .hincrby(`${key}:counts`, failure.outcome, 1)
      .zincrby(`${key}:accounts`, 1, failure.account)
      .pfadd(`${key}:addresses`, failure.address)
      .expire(`${key}:counts`, ttl)
      .expire(`${key}:accounts`, ttl)
      .expire(`${key}:addresses`, ttl);
    if (failure.outcome === "limited" && failure.scope === "account") {
      pipeline.sadd(`${key}:locked`, failure.account).expire(`${key}:locked`, ttl);
    }
    await pipeline.exec();
  } catch (err) {
    deps.log.warn({ err }, "could not count a failed sign-in for the hourly summary");
  }
}

interface SignInFailureSummary {
  windowStart: string;
  windowEnd: string;
  /** Refused by better-auth (wrong password, unknown account, …). */
  failures: number;
  /** Refused by Kit's brute-force limits before better-auth saw them. */
  limited: number;
  distinctAccounts: number;
  /** Approximate (a HyperLogLog: ±1% past a few hundred). */
  distinctAddresses: number;
  /** Accounts the account-wide ceiling refused at least once in the hour. */
  lockedAccounts: number;
  /** The accounts tried most, as keyed hashes (`email:<hash>`), with their refusals. */
  topAccounts: { account: string; refusals: number }[];
}

async function readWindow(redis: Redis, start: number): Promise<SignInFailureSummary | null> {
  const key = windowKey(start);
  const [counts, accounts, addresses, locked, top] = await Promise.all([
    redis.hgetall(`${key}:counts`),
    redis.zcard(`${key}:accounts`),
    redis.pfcount(`${key}:addresses`),
    redis.scard(`${key}:locked`),
    redis.zrevrange(`${key}:accounts`, 0, TOP_ACCOUNTS - 1, "WITHSCORES"),
  ]);
  const failures = Number(counts.failed ?? 0);
  const limited = Number(counts.limited ?? 0);
  if (failures === 0 && limited === 0) return null;
  const topAccounts: SignInFailureSummary["topAccounts"] = [];
  for (let i = 0; i + 1 < top.length; i += 2) {
    topAccounts.push({ account: top[i] as string, refusals: Number(top[i + 1]) });
  }
  return {
    windowStart: new Date(start).toISOString(),
    windowEnd: new Date(start + HOUR_MS).toISOString(),
    failures,
    limited,
    distinctAccounts: accounts,
    distinctAddresses: addresses,
    lockedAccounts: locked,
    topAccounts,
  };
}

/**
 * Job auth.sign-in-failures-summary: one audit event per ended hour (of the last KEPT_HOURS) that
 * had refused sign-ins and has no event yet. Returns the hours written.
 */
export async function summarizeSignInFailures(
  deps: { db: Database; redis: Redis; log: Logger },
  now = Date.now(),
): Promise<{ written: number }> {
  const current = windowStart(now);
  let written = 0;
  for (let start = current - KEPT_HOURS * HOUR_MS; start < current; start += HOUR_MS) {
    const summary = await readWindow(deps.redis, start);
    if (!summary) continue;
    const wrote = await deps.db.transaction(async (tx) => {
      // Two workers at once: the second waits here, then finds the first one's row.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('kit:sign-in-failures-summary'))`);
      const subject = { type: SIGN_IN_WINDOW_SUBJECT, id: summary.windowStart };
      if (await hasAuditEvent(tx, "auth.sign_in_failures", subject)) return false;
      await recordAudit(tx, SYSTEM_ACTOR, {
        action: "auth.sign_in_failures",
        subject,
        after: { ...summary },
      });
      return true;
    });
    if (wrote) written++;
  }
  return { written };
}
