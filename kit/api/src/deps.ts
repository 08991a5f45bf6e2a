// The ground floor every layer may stand on: the shapes of the process's clients, of the job queue
// and of the events one domain announces to another. Types only; runtime.ts builds the values.
// Domains import these from here rather than from rpc/ or jobs/, so that no domain depends on the
// layers that call it (see docs/architecture.md, Layers).
import type pg from "pg";
import type { ResolvedConfig } from "./config";
import type { Auth } from "./domains/auth/auth";
import type { KycStatus, OnchainRegistrationStatus } from "./domains/kyc/schema";
import type { Chain } from "./infra/chain";
import type { Database } from "./infra/db";
import type { Logger } from "./infra/log";
import type { Metrics } from "./infra/metrics";
import type { Redis } from "./infra/redis";
import type { Storage } from "./infra/storage";
import type { JobName } from "./jobs/names";
import type { RateLimitRules } from "./rpc/rate-limit-rules";

/** The long-lived clients of one process. Services take the parts they need. */
export interface Deps {
  config: ResolvedConfig;
  pool: pg.Pool;
  db: Database;
  redis: Redis;
  storage: Storage;
  chain: Chain;
  log: Logger;
  auth: Auth;
  /** Queues jobs for the worker role (any process may enqueue). */
  jobs: JobQueue;
  /** What one domain tells another happened; runtime.ts wires the listeners. */
  events: DomainEvents;
  /** What one domain asks another; runtime.ts wires the answers. */
  queries: DomainQueries;
  rateLimitRules: RateLimitRules;
  startedAt: number;
}

/**
 * A domain announces, another listens: the announcing domain need not know who does what next.
 * Each is awaited where it is announced (after the commit, before the request answers), and each
 * listener receives the announcer's own clients, so a caller that swapped one (a test's job queue)
 * gets it used.
 */
export interface DomainEvents {
  /** A wallet was linked to `userId` (auth); kyc queues what the owner's KYC standing calls for. */
  walletLinked(deps: WalletEventDeps, userId: string, wallet: string): Promise<void>;
  /** A wallet was unlinked from `userId` (auth); kyc queues the revocation of Kit's claim, if any. */
  walletUnlinked(deps: WalletEventDeps, userId: string, wallet: string): Promise<void>;
  /** A system setting exchange-rate answers depend on changed (settings); exchange-rates drops cached answers. */
  fxSettingsChanged(deps: { redis: Redis; log: Logger }): Promise<void>;
  /**
   * A wallet recovery (token operations) is about to move an investor's registration from one
   * wallet to another; kyc's eligibility jobs leave both wallets alone until it ends. Awaited
   * before the first transaction: a failure stops the recovery (it is retried).
   */
  walletRecoveryStarting(deps: { db: Database }, recovery: WalletRecovery): Promise<void>;
  /** The recovery ended: the registration `moved` to the new wallet, or stayed; kyc takes both back. */
  walletRecoveryEnded(deps: WalletEventDeps, recovery: WalletRecovery, moved: boolean): Promise<void>;
}

/**
 * An investor's registration (ONCHAINID identity) moving from a lost wallet to a new one. Wallets and
 * identity are lowercase; `country` is the registry's ISO 3166-1 numeric code for the investor.
 */
export interface WalletRecovery {
  chainId: number;
  userId: string;
  lostWallet: string;
  newWallet: string;
  identity: string;
  country: number;
}

/**
 * What one domain asks another without importing it: the token operations need a user's KYC
 * standing, while kyc's eligibility sends its transactions through the operations outbox.
 */
export interface DomainQueries {
  /** kyc: a user's KYC as of now, without personal data. */
  kycStanding(deps: { db: Database }, userId: string): Promise<KycStanding>;
  /** kyc: where Kit's eligibility stands with a wallet (null: it never acted on it). */
  walletRegistration(deps: { db: Database }, chainId: number, wallet: string): Promise<WalletRegistration | null>;
}

export interface KycStanding {
  /** The latest application's status; `none` when the user never applied. */
  status: KycStatus | "none";
  /** Approved and not yet expired: the user may hold Kit's tokens. */
  approved: boolean;
  /** When the latest approval ends or ended; null when never approved. */
  expiresAt: Date | null;
}

export interface WalletRegistration {
  userId: string;
  status: OnchainRegistrationStatus;
  /** Lowercase; null until Kit knew it. */
  identity: string | null;
}

interface WalletEventDeps {
  db: Database;
  jobs?: JobQueue;
  log?: Logger;
}

/** The producer side, available to every process (an api enqueues, a worker runs). */
export interface JobQueue {
  /** Queues one run of `name` now; resolves with the job id (for status lookups). */
  enqueue(name: JobName, data?: Record<string, unknown>): Promise<{ id: string }>;
  close(): Promise<void>;
}

/** What the worker runs for one job name; jobs/registry.ts lists them. */
export interface JobDefinition<Name extends string = JobName> {
  name: Name;
  /** Runs on this schedule, once per interval however many workers run; absent: only when enqueued. */
  everySeconds?: number;
  /** Tries in all; a failed try is retried after `backoffMs`, then twice as long each time. */
  attempts: number;
  /** Delay before the first retry (default 5 s). */
  backoffMs?: number;
  /**
   * Resolves with a small JSON summary, kept with the job and logged; throws to fail the try.
   * `job.attempts` is the tries in all (the last try is `attempt === attempts`).
   * `job.metrics` is the worker's registry (what /metrics of its process shows), for a job's own series.
   */
  run(
    deps: Deps,
    data: Record<string, unknown>,
    job: { id: string; attempt: number; attempts: number; metrics: Metrics },
  ): Promise<unknown>;
}
