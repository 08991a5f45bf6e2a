// The ground floor every layer may stand on: the shapes of the process's clients, of the job queue
// and of the events one domain announces to another. Types only; runtime.ts builds the values.
// Domains import these from here rather than from rpc/ or jobs/, so that no domain depends on the
// layers that call it (see docs/architecture.md, Layers).
import type pg from "pg";
import type { ResolvedConfig } from "./config";
import type { Auth } from "./domains/auth/auth";
import type { MeWallets } from "./domains/auth/me-wallets";
import type { SessionMemo } from "./domains/auth/session";
import type { RateCopies } from "./domains/exchange-rates/cache";
import type { FxProvider } from "./domains/exchange-rates/contract-values";
import type { KycChannelMessage } from "./domains/kyc/contract-shapes";
import type { KycStatus, OnchainRegistrationStatus } from "./domains/kyc/contract-values";
import type { PiiKeyring } from "./domains/kyc/crypto";
import type { EligibilityChainCache } from "./domains/kyc/eligibility-chain";
import type { InboxEvent } from "./domains/notifications/contract";
import type { AnyOperationKind } from "./domains/operations/contract-values";
import type { CachedSystemInfo } from "./domains/system/contract";
import type { TokenTransfersEvent } from "./domains/tokens/events";
import type { Chain } from "./infra/chain";
import type { Database, Transaction } from "./infra/db";
import type { LiveStreamHub } from "./infra/live-streams";
import type { Logger } from "./infra/log";
import type { Metrics } from "./infra/metrics";
import type { Redis } from "./infra/redis";
import type { ReplicaGuard } from "./infra/replica-guard";
import type { SingleFlight } from "./infra/single-flight";
import type { Storage } from "./infra/storage";
import type { JobName } from "./jobs/names";
import type { NotificationEventType } from "./notification-catalogue";
import type { RateLimitRules } from "./rpc/rate-limit-rules";

/** The long-lived clients of one process. Services take the parts they need. */
export interface Deps {
  config: ResolvedConfig;
  pool: pg.Pool;
  /** The primary (through DATABASE_URL, a pooler or not): every write, and every read of a caller's own write. */
  db: Database;
  /**
   * DATABASE_READ_URL's replica, or `db` itself without one. Only for reads that tolerate a few
   * seconds of replication lag: pages and lists of what others wrote (the KYC queue, token holders
   * and transfers, the audit trail), taken through `onReadReplica` in their routers. Never for a
   * read that must see the write just made (a claim, a decision, a caller's own application).
   */
  dbRead: Database;
  /** The pool behind `dbRead` (`pool` itself without a replica). */
  poolRead: pg.Pool;
  redis: Redis;
  storage: Storage;
  chain: Chain;
  log: Logger;
  auth: Auth;
  /** Queues jobs for the worker role (any process may enqueue). */
  jobs: JobQueue;
  /** What one domain tells another happened; runtime.ts wires the listeners. */
  events: DomainEvents;
  /** What one domain asks of another above it; runtime.ts wires the answers. */
  queries: DomainQueries;
  rateLimitRules: RateLimitRules;
  /** What this process keeps for itself between calls (see ProcessLocal). */
  local: ProcessLocal;
  startedAt: number;
}

/**
 * What one process keeps for itself between calls — copies, memos, live-stream hubs, clients it
 * opens on first use —, made by createDeps, so that a test file's kit has its own as a process
 * does. Each part ends with its own `close()`, which may be called more than once and after which
 * the part still answers (a memo empty, a hub refusing new streams), so shutdown closes them all,
 * in-flight work still draining, without knowing what they are.
 */
export interface ProcessLocal {
  /** auth: verified cookie values, session token → owner, the session cookie's name. */
  sessions: Closeable & SessionMemo;
  /** exchange-rates: copies of the cached answers, used while subscribed to their generation. */
  fxCopies: Closeable & RateCopies;
  /** kyc: the subscriber connection behind live status streams (`{prefix}kyc:*`). */
  kycStatusStreams: Closeable & LiveStreamHub<KycChannelMessage>;
  /** tokens: the subscriber connection behind live transfer streams (`{prefix}token:*:transfers`). */
  tokenTransferStreams: Closeable & LiveStreamHub<TokenTransfersEvent>;
  /** notifications: the subscriber connection behind live inbox streams (`{prefix}notifications:*`). */
  inboxStreams: Closeable & LiveStreamHub<InboxEvent>;
  /** kyc: the keys personal data is encrypted with, by key id. */
  piiKeyring: Closeable & PiiKeyring;
  /** kyc: the deployment file and the chain clients and signers of on-chain eligibility, made on first use. */
  eligibilityChain: Closeable & EligibilityChainCache;
  /** auth: me.get's wallets: copies per user, dropped on every link and unlink, before a prepared statement. */
  meWallets: Closeable & MeWallets;
  /** system: the one computation of `system.info` in flight, shared by the calls that miss its cache. */
  systemInfo: Closeable & SingleFlight<CachedSystemInfo>;
  /** infra: whether the read replica may serve the lag-tolerant lists now (its lag, measured each second). */
  replica: ReplicaGuard;
}

interface Closeable {
  close(): Promise<void>;
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
  fxSettingsChanged(deps: Pick<Deps, "redis" | "log" | "local">): Promise<void>;
  /**
   * A wallet recovery (token operations) is about to move an investor's registration from one
   * wallet to another; kyc's eligibility jobs leave both wallets alone until it ends. Awaited
   * before the first transaction: a failure stops the recovery (it is retried).
   */
  walletRecoveryStarting(deps: { db: Database }, recovery: WalletRecovery): Promise<void>;
  /** The recovery ended: the registration `moved` to the new wallet, or stayed; kyc takes both back. */
  walletRecoveryEnded(deps: WalletEventDeps, recovery: WalletRecovery, moved: boolean): Promise<void>;
  /**
   * Kit's own operations (no requester; eligibility) were signed and stored, and are about to be
   * broadcast (operations); kyc records each transaction's hash on its rows. Awaited before the
   * broadcast: a failure sends nothing (the stored transactions are resumed).
   */
  systemOperationsSigned(deps: { db: Database }, operations: SignedSystemOperation[]): Promise<void>;
  /** One of Kit's own operations settled, confirmed or failed (operations); kyc brings its records up to date. */
  operationSettled(deps: WalletEventDeps, operation: SettledOperation): Promise<void>;
}

/** An operation Kit sends on its own, as other domains hear of it (wallets and tokens lowercase). */
export interface SignedSystemOperation {
  id: string;
  chainId: number;
  kind: AnyOperationKind;
  /** The token of a freeze; null for identity work. */
  token: string | null;
  /** Why Kit sends it, e.g. `kyc_application:<id>`. */
  cause: string;
  parameters: Record<string, unknown>;
  txHash: string | null;
}

export interface SettledOperation extends SignedSystemOperation {
  status: "confirmed" | "failed";
  /** The reason it failed, in words. */
  error: string | null;
  /** What the chain showed when it settled: `identity`, `verified`, `frozen`; `held` when a recovery held the wallet. */
  facts: Record<string, string | boolean | number>;
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
 * A domain asks, one above it answers, as with the events: the asking domain need not import the
 * answering one, so the two do not depend on each other both ways.
 */
export interface DomainQueries {
  /** The exchange-rate providers in the order admins set (settings); exchange-rates answers and refreshes by it. */
  fxProviderOrder(deps: Pick<Deps, "config" | "db" | "redis" | "log">): Promise<readonly FxProvider[]>;
  /** settings: what account mails need of a user: the language to write in, whether sign-in alerts are on. */
  accountMailPreferences(
    deps: { config: Pick<ResolvedConfig, "fx">; db: Database; redis: Redis; log: Logger },
    userId: string,
  ): Promise<{ locale: string; signInAlerts: boolean }>;
  /** kyc: a user's KYC as of now, without personal data. */
  kycStanding(deps: { db: Database }, userId: string): Promise<KycStanding>;
  /** kyc: where Kit's eligibility stands with a wallet (null: it never acted on it). */
  walletRegistration(deps: { db: Database }, chainId: number, wallet: string): Promise<WalletRegistration | null>;
  /**
   * settings: of `userIds`, those that still exist, with their e-mail, locale and switches for
   * `type` (the catalogue's defaults where they set none); read in `db`, the dispatcher's transaction.
   */
  notificationRecipients(
    deps: { db: Database | Transaction },
    userIds: readonly string[],
    type: NotificationEventType,
  ): Promise<NotificationRecipientSettings[]>;
}

export interface NotificationRecipientSettings {
  userId: string;
  email: string;
  /** BCP 47; `en` until the user chose one. */
  locale: string;
  /** Whether the user wants this event in the inbox and by e-mail. */
  channels: { in_app: boolean; email: boolean };
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
