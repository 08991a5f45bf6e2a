// The one place that reads the environment. Everything else receives a `Config`.
// The variables, their parsers and defaults are in config-env.ts.
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { type Env, envProblems, envSchema, repoRoot } from "./config-env";

export interface Config {
  env: Env["NODE_ENV"];
  version: string;
  http: {
    host: string;
    port: number;
    corsOrigins: string[];
    bodyLimitBytes: number;
    readyTimeoutMs: number;
    systemInfoCacheMs: number;
    shutdownTimeoutMs: number;
    /** When set, /metrics asks for `Authorization: Bearer <it>`; open without (development, tests). */
    metricsToken?: string;
    /**
     * Set (KIT_PROCESSES or `--processes`): a supervisor runs this many api processes on PORT
     * (`auto` is resolved to the cores available). Unset: one process, no supervisor.
     */
    processes?: number;
  };
  log: { level: Env["LOG_LEVEL"]; pretty: boolean };
  /** Overrides of the rate-limit rules' limits, by rule name (see rpc/rate-limit-rules.ts). */
  rateLimits: Record<string, { limit: number; windowSeconds: number }>;
  db: {
    /** Every query's connection; may be a transaction-mode pooler (PgBouncer). */
    url: string;
    /**
     * A session of its own, straight to the primary, for what a transaction-mode pooler cannot
     * carry: migrations and session advisory locks (the indexer's leader lock, indexer:reset),
     * pg_dump and pg_restore. `url` when DATABASE_DIRECT_URL is unset.
     */
    directUrl: string;
    /**
     * A streaming replica for the reads that tolerate a few seconds of lag (deps.dbRead); absent:
     * they read `url` too.
     */
    readUrl?: string;
    /** Past this lag (or while it does not answer), the replica's lists read the primary (infra/replica-guard.ts). */
    readMaxLagSeconds: number;
    poolMax: number;
    migrate: boolean;
    /**
     * Named server-side prepared statements (me.get's wallets). Off by default behind a pooler
     * (DATABASE_DIRECT_URL set apart from DATABASE_URL): PgBouncer before 1.21, or without
     * max_prepared_statements, hands the next transaction another server connection, where the
     * statement does not exist.
     */
    preparedStatements: boolean;
  };
  redis: {
    /** One server; ignored when `cluster` or `sentinel` is set (the configuration allows only one). */
    url: string;
    /** A Redis Cluster, from these seed nodes (REDIS_CLUSTER_NODES). */
    cluster?: { nodes: RedisNode[]; password?: string };
    /** The primary that these Sentinels name (REDIS_SENTINELS, REDIS_SENTINEL_NAME). */
    sentinel?: { sentinels: RedisNode[]; name: string; password?: string };
    keyPrefix: string;
    /** A command with no reply by then fails, so a stalled Redis costs callers a bounded wait. */
    commandTimeoutMs: number;
    /**
     * After a command timed out, commands fail at once (callers take their fallbacks) and Redis is
     * probed this often until it answers: a stalled Redis costs a caller one timeout, not one per command.
     */
    breakerMs: number;
  };
  s3: {
    /** Absent in development: the local stack starts an s3rver and fills it in. */
    endpoint?: string;
    region: string;
    accessKey: string;
    secretKey: string;
    buckets: { kycDocuments: string; tokenMetadata: string; userUploads: string };
    /** Where browsers reach the object store (presigned URLs); the endpoint above when absent. */
    publicEndpoint?: string;
  };
  /** Absent in development: the local stack starts an anvil and fills it in. */
  chain: {
    /** The chain Kit serves (CHAIN_ID): SIWE messages must name it, and what Kit stores of a chain is keyed by it. */
    id: number;
    rpcUrl?: string;
    anvilPort: number;
    /**
     * JSON written by `chain:deploy` (kit/contracts: `readDeployment`): the T-REX factory whose
     * tokens are indexed, Kit's claim issuer, the demo tokens. Default `<DATA_DIR>/chain/deployment-<CHAIN_ID>.json`.
     */
    deploymentFile: string;
    /** Owner of Kit's factories and agent of its tokens' registries (unset outside production, on anvil: its account 0). */
    agentPrivateKey?: `0x${string}`;
    /** Signs KYC claims for Kit's trusted ClaimIssuer (unset outside production, on anvil: its account 1). */
    claimSignerPrivateKey?: `0x${string}`;
  };
  indexer: {
    /** Tokens indexed whatever deployed them (any ERC-20), with an optional start block. */
    tokens: { address: string; startBlock?: number }[];
    /** A TREXFactory whose TREXSuiteDeployed tokens are indexed (besides the deployment file's). */
    factory?: { address: string; startBlock?: number };
    /** Blocks below the head before a block is indexed (0: at once; reorgs are rolled back). */
    confirmations: number;
    pollIntervalMs: number;
    /** Past this many blocks behind the head, /ready says not ready. */
    maxLagBlocks: number;
    /** The largest eth_getLogs block range tried (it shrinks when the node refuses). */
    maxBlockRange: number;
    /** Blocks kept for reorg detection; a deeper reorg needs a re-index. */
    reorgWindow: number;
  };
  auth: {
    /** Where browsers reach the API; cookies, SIWE domain and trusted origins derive from it. */
    publicUrl: string;
    secret: string;
    /** How many proxies in front of Kit append to X-Forwarded-For (0: use the socket address). */
    trustProxyHops: number;
    bootstrapAdmin?: { email: string; password: string };
  };
  fx: {
    /** Providers in order of preference (system settings may override at run time). */
    providers: ("ecb" | "er-api" | "manual")[];
    ecbUrl: string;
    erApiUrl: string;
    refreshEverySeconds: number;
    /** How long a fetched quote counts as fresh; past it, answers carry `stale: true`. */
    rateTtlSeconds: number;
    /** The base currency fetched from providers that take one (er-api). */
    baseCurrency: string;
    /** With no provider reachable and no rate stored, store the bundled ECB snapshot (stale). */
    offlineSnapshot: boolean;
  };
  kyc: {
    /** AES-256 key for personal data at rest; new rows are written with it. */
    encryptionKey: Buffer;
    /** Keys that only decrypt: rows written before a rotation. */
    previousEncryptionKeys: Buffer[];
    /** Documents never confirmed are deleted (object and row) after this long. */
    unconfirmedUploadHours: number;
    /** An application is submitted only by a user whose e-mail address is verified. */
    requireVerifiedEmail: boolean;
  };
  audit: {
    /**
     * The Ed25519 private key's 32-byte seed that signs KYC dossiers (domains/audit/export-key.ts);
     * its public key is published at /api/audit/export-key.
     */
    exportKeySeed: Buffer;
  };
  worker: { concurrency: number };
  /** Webhook deliveries (domains/webhooks). */
  webhooks: {
    /** Deliver to private, loopback and link-local addresses and accept http:// URLs (development, tests). */
    allowPrivate: boolean;
    /** One attempt's whole budget: connect, send, answer. */
    timeoutMs: number;
    /** The first retry's delay; each next one doubles (with jitter) up to `retryMaxMs`. */
    retryFirstMs: number;
    retryMaxMs: number;
    /** A delivery is retried this long after it was queued (or replayed), then given up (`dead`). */
    retryForSeconds: number;
    /** An endpoint whose deliveries all failed for this long is disabled. */
    disableAfterSeconds: number;
    /** How often the worker sends whatever deliveries are due. */
    sweepSeconds: number;
  };
  /** Outgoing e-mail (domains/mail): queued in `mail_messages`, sent by the worker. */
  mail: {
    /** smtp(s)://user:pass@host:port; absent outside production until the local stack fills it in (mail stays queued). */
    smtpUrl?: string;
    from: string;
    /** How often the worker looks for mail due (besides being woken when mail is queued). */
    sweepSeconds: number;
    /** Tries per message before it is `failed`. */
    maxAttempts: number;
    /** Delay before the first retry; twice as long each time after. */
    retryBaseMs: number;
    /** Set by the local stack only: where the embedded SMTP server keeps what it receives (the console's "Outbox (dev)"). */
    devStoreDir?: string;
  };
  /** The token operations outbox (domains/operations). */
  operations: {
    /** Blocks a transaction needs (its own included) before its operation is confirmed. */
    confirmations: number;
    /** A transaction not mined this many blocks after its broadcast is replaced (same nonce, higher fee). */
    stuckBlocks: number;
    /** How often the worker resumes, confirms and re-checks operations whatever was queued. */
    sweepSeconds: number;
  };
  /** The notifications outbox (domains/notifications). */
  notifications: {
    /** How often the worker dispatches what is left undispatched (each commit also kicks it). */
    dispatchSeconds: number;
  };
  dataDir: string;
  migrationsDir: string;
}

export interface RedisNode {
  host: string;
  port: number;
}

/** A Config whose outside services are all known (what the running server needs). */
export type ResolvedConfig = Config & {
  s3: Config["s3"] & { endpoint: string };
  chain: Config["chain"] & { rpcUrl: string };
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws a ConfigError naming every bad variable (values are never echoed). */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most deployment tools.
  const env = Object.fromEntries(
    Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ""),
  );
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`));
  }
  const e = parsed.data;
  const problems = envProblems(env, e);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env: e.NODE_ENV,
    version: packageJson.version,
    http: httpConfig(e),
    log: { level: e.LOG_LEVEL, pretty: e.NODE_ENV === "development" },
    rateLimits: e.RATE_LIMITS,
    db: databaseConfig(e),
    redis: redisConfig(e),
    s3: s3Config(e),
    chain: chainConfig(e),
    indexer: indexerConfig(e),
    auth: authConfig(e),
    fx: fxConfig(e),
    kyc: {
      encryptionKey: Buffer.from(e.KYC_ENCRYPTION_KEY, "base64"),
      previousEncryptionKeys: e.KYC_PREVIOUS_ENCRYPTION_KEYS.map((k) => Buffer.from(k, "base64")),
      unconfirmedUploadHours: e.KYC_UNCONFIRMED_UPLOAD_HOURS,
      requireVerifiedEmail: e.KYC_REQUIRE_VERIFIED_EMAIL,
    },
    audit: { exportKeySeed: Buffer.from(e.AUDIT_EXPORT_PRIVATE_KEY, "base64") },
    worker: { concurrency: e.WORKER_CONCURRENCY },
    webhooks: webhookConfig(e),
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM,
      sweepSeconds: e.MAIL_SWEEP_SECONDS,
      maxAttempts: e.MAIL_MAX_ATTEMPTS,
      retryBaseMs: e.MAIL_RETRY_BASE_MS,
    },
    operations: {
      confirmations: e.CHAIN_CONFIRMATIONS,
      stuckBlocks: e.OPERATIONS_STUCK_BLOCKS,
      sweepSeconds: e.OPERATIONS_SWEEP_SECONDS,
    },
    notifications: { dispatchSeconds: e.NOTIFICATIONS_DISPATCH_SECONDS },
    dataDir: e.DATA_DIR,
    migrationsDir: resolve(repoRoot, "drizzle"),
  };
}

function redisConfig(e: Env): Config["redis"] {
  const password = e.REDIS_PASSWORD;
  return {
    url: e.REDIS_URL,
    cluster: e.REDIS_CLUSTER_NODES.length > 0 ? { nodes: e.REDIS_CLUSTER_NODES, password } : undefined,
    sentinel:
      e.REDIS_SENTINELS.length > 0 && e.REDIS_SENTINEL_NAME
        ? { sentinels: e.REDIS_SENTINELS, name: e.REDIS_SENTINEL_NAME, password }
        : undefined,
    keyPrefix: e.REDIS_KEY_PREFIX,
    commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    breakerMs: e.REDIS_BREAKER_MS,
  };
}

function httpConfig(e: Env): Config["http"] {
  return {
    host: e.HOST,
    port: e.PORT,
    corsOrigins: e.CORS_ORIGINS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    readyTimeoutMs: e.READY_TIMEOUT_MS,
    systemInfoCacheMs: e.SYSTEM_INFO_CACHE_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    metricsToken: e.METRICS_TOKEN,
    processes: e.KIT_PROCESSES === undefined ? undefined : resolveProcessCount(e.KIT_PROCESSES),
  };
}

function databaseConfig(e: Env): Config["db"] {
  const directUrl = e.DATABASE_DIRECT_URL ?? e.DATABASE_URL;
  return {
    url: e.DATABASE_URL,
    directUrl,
    readUrl: e.DATABASE_READ_URL,
    readMaxLagSeconds: e.DATABASE_READ_MAX_LAG_SECONDS,
    poolMax: e.DATABASE_POOL_MAX,
    migrate: e.DATABASE_MIGRATE,
    preparedStatements: e.DATABASE_PREPARED_STATEMENTS ?? directUrl === e.DATABASE_URL,
  };
}

/** `auto` is one api process per core this process may use. */
export function resolveProcessCount(value: number | "auto"): number {
  return value === "auto" ? availableParallelism() : value;
}

function s3Config(e: Env): Config["s3"] {
  return {
    endpoint: e.S3_ENDPOINT,
    region: e.S3_REGION,
    accessKey: e.S3_ACCESS_KEY,
    secretKey: e.S3_SECRET_KEY,
    buckets: {
      kycDocuments: e.S3_BUCKET_KYC_DOCUMENTS,
      tokenMetadata: e.S3_BUCKET_TOKEN_METADATA,
      userUploads: e.S3_BUCKET_USER_UPLOADS,
    },
    publicEndpoint: e.S3_PUBLIC_ENDPOINT,
  };
}

function chainConfig(e: Env): Config["chain"] {
  return {
    id: e.CHAIN_ID,
    rpcUrl: e.RPC_URL,
    anvilPort: e.ANVIL_PORT,
    deploymentFile: e.CHAIN_DEPLOYMENT_FILE ?? resolve(e.DATA_DIR, "chain", `deployment-${e.CHAIN_ID}.json`),
    agentPrivateKey: e.CHAIN_AGENT_PRIVATE_KEY,
    claimSignerPrivateKey: e.CLAIM_SIGNER_PRIVATE_KEY,
  };
}

function indexerConfig(e: Env): Config["indexer"] {
  return {
    tokens: e.INDEXER_TOKENS,
    factory: e.INDEXER_FACTORY,
    confirmations: e.INDEXER_CONFIRMATIONS,
    pollIntervalMs: e.INDEXER_POLL_MS,
    maxLagBlocks: e.INDEXER_MAX_LAG_BLOCKS,
    maxBlockRange: e.INDEXER_MAX_BLOCK_RANGE,
    reorgWindow: e.INDEXER_REORG_WINDOW,
  };
}

function authConfig(e: Env): Config["auth"] {
  return {
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ""),
    secret: e.BETTER_AUTH_SECRET,
    trustProxyHops: e.TRUST_PROXY_HOPS,
    bootstrapAdmin:
      e.BOOTSTRAP_ADMIN_EMAIL && e.BOOTSTRAP_ADMIN_PASSWORD
        ? { email: e.BOOTSTRAP_ADMIN_EMAIL, password: e.BOOTSTRAP_ADMIN_PASSWORD }
        : undefined,
  };
}

function webhookConfig(e: Env): Config["webhooks"] {
  return {
    // A laptop's receivers live on localhost; elsewhere, only when asked for.
    allowPrivate: e.WEBHOOK_ALLOW_PRIVATE ?? e.NODE_ENV === "development",
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    retryFirstMs: e.WEBHOOK_RETRY_FIRST_MS,
    retryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
    retryForSeconds: e.WEBHOOK_RETRY_FOR_SECONDS,
    disableAfterSeconds: e.WEBHOOK_DISABLE_SECONDS,
    sweepSeconds: e.WEBHOOK_SWEEP_SECONDS,
  };
}

function fxConfig(e: Env): Config["fx"] {
  return {
    providers: e.FX_PROVIDERS,
    ecbUrl: e.FX_ECB_URL,
    erApiUrl: e.FX_ERAPI_URL.replace(/\/$/, ""),
    refreshEverySeconds: e.FX_REFRESH_EVERY,
    rateTtlSeconds: e.FX_RATE_TTL_SECONDS,
    baseCurrency: e.FX_BASE_CURRENCY,
    // On a laptop with no way out, stale bundled rates beat an empty page; elsewhere, never.
    offlineSnapshot: e.FX_OFFLINE_SNAPSHOT ?? e.NODE_ENV === "development",
  };
}

/** Narrows a Config once every outside service has an address; says which is missing otherwise. */
export function requireResolved(config: Config): ResolvedConfig {
  const missing = [config.s3.endpoint ? undefined : "S3_ENDPOINT", config.chain.rpcUrl ? undefined : "RPC_URL"].filter(
    Boolean,
  );
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((name) => `${name}: must be set (or start the local stack with \`bun run dev\`, which provides it)`),
    );
  }
  return config as ResolvedConfig;
}
