// The one place that reads the environment. Everything else receives a `Config`.
import { resolve } from "node:path";
import { z } from "zod";
import packageJson from "../package.json" with { type: "json" };

const repoRoot = resolve(import.meta.dir, "../../..");

const DEV_S3_KEY = "S3RVER"; // s3rver accepts only this access key id
const DEV_AUTH_SECRET = "kit-development-secret-do-not-use-in-production";
// 32 bytes of base64, for laptops and tests only (refused in production, like the secrets above).
const DEV_KYC_KEY = "a2l0LWRldmVsb3BtZW50LWt5Yy1rZXktbm90LXVzZSE=";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const port = z.coerce
  .number({ message: "expected a port number" })
  .int("expected a whole port number")
  .min(0, "expected a port between 0 and 65535")
  .max(65535, "expected a port between 0 and 65535");

const url = (protocols: string[]) =>
  z
    .url({ message: `expected a URL (${protocols.join(", ")})` })
    .refine(
      (value) => protocols.includes(new URL(value).protocol.replace(/:$/, "")),
      `expected a URL starting with ${protocols.map((p) => `${p}://`).join(" or ")}`,
    );

const positiveInt = (what: string) =>
  z.coerce
    .number({ message: `expected ${what}` })
    .int(`expected ${what}`)
    .positive(`expected ${what}`);

/** "a, b,,c" → ["a", "b", "c"]. */
const commaList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean),
    );

/** `0xabc…` or `0xabc…@12345` (the block to start indexing from). */
const indexerAddress = z
  .string()
  .trim()
  .regex(/^0x[0-9a-fA-F]{40}(@\d+)?$/, "expected 0x-addresses, each optionally followed by @startBlock")
  .transform((v) => {
    const [address, block] = v.split("@");
    return { address: (address as string).toLowerCase(), startBlock: block === undefined ? undefined : Number(block) };
  });

/** Never echoed: a ConfigError names the variable only. */
const privateKey = z
  .string()
  .trim()
  .regex(/^0x[0-9a-fA-F]{64}$/, "expected a private key: 0x and 64 hex digits")
  .transform((v) => v as `0x${string}`);

const aesKey = z
  .string()
  .trim()
  .refine(
    (v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, "base64").length === 32,
    "expected 32 random bytes in base64 (openssl rand -base64 32)",
  );

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  PORT: port.default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  CORS_ORIGINS: commaList("http://localhost:3000,http://localhost:5173").pipe(z.array(url(["http", "https"]))),
  BODY_LIMIT_BYTES: positiveInt("a size in bytes").default(1024 * 1024),
  READY_TIMEOUT_MS: positiveInt("a timeout in milliseconds").default(2000),
  SYSTEM_INFO_CACHE_MS: positiveInt("a duration in milliseconds").default(2000),
  SHUTDOWN_TIMEOUT_MS: positiveInt("a timeout in milliseconds").default(10_000),
  METRICS_TOKEN: z.string().min(16, "expected at least 16 characters").optional(),

  DATABASE_URL: url(["postgres", "postgresql"]).default("postgres://postgres@127.0.0.1:5432/kit"),
  DATABASE_POOL_MAX: positiveInt("a pool size").default(10),
  DATABASE_MIGRATE: bool.default(true),

  REDIS_URL: url(["redis", "rediss"]).default("redis://127.0.0.1:6379"),
  REDIS_KEY_PREFIX: z.string().default("kit:"),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt("a timeout in milliseconds").default(500),
  REDIS_BREAKER_MS: positiveInt("a duration in milliseconds").default(1000),

  S3_ENDPOINT: url(["http", "https"]).optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_ACCESS_KEY: z.string().min(1).default(DEV_S3_KEY),
  S3_SECRET_KEY: z.string().min(1).default(DEV_S3_KEY),
  S3_BUCKET_KYC_DOCUMENTS: z.string().min(3).default("kyc-documents"),
  S3_BUCKET_TOKEN_METADATA: z.string().min(3).default("token-metadata"),
  S3_BUCKET_USER_UPLOADS: z.string().min(3).default("user-uploads"),
  S3_PUBLIC_ENDPOINT: url(["http", "https"]).optional(),

  RPC_URL: url(["http", "https", "ws", "wss"]).optional(),
  ANVIL_PORT: port.default(8545),
  CHAIN_DEPLOYMENT_FILE: z.string().min(1).optional(),
  CHAIN_AGENT_PRIVATE_KEY: privateKey.optional(),
  CLAIM_SIGNER_PRIVATE_KEY: privateKey.optional(),
  CHAIN_CONFIRMATIONS: positiveInt("a number of blocks").default(1),
  OPERATIONS_STUCK_BLOCKS: positiveInt("a number of blocks").default(20),
  OPERATIONS_SWEEP_SECONDS: positiveInt("a number of seconds").default(5),

  INDEXER_TOKENS: commaList("").pipe(z.array(indexerAddress)),
  INDEXER_FACTORY: indexerAddress.optional(),
  INDEXER_CONFIRMATIONS: z.coerce
    .number({ message: "expected a number of blocks" })
    .int("expected a whole number of blocks")
    .min(0, "expected 0 or more blocks")
    .default(0),
  INDEXER_POLL_MS: positiveInt("an interval in milliseconds").default(1000),
  INDEXER_MAX_LAG_BLOCKS: positiveInt("a number of blocks").default(50),
  INDEXER_MAX_BLOCK_RANGE: positiveInt("a number of blocks").default(10_000),
  INDEXER_REORG_WINDOW: positiveInt("a number of blocks").default(256),

  DATA_DIR: z.string().min(1).default(resolve(repoRoot, ".data")),

  FX_PROVIDERS: commaList("ecb,er-api").pipe(
    z.array(z.enum(["ecb", "er-api", "manual"], { message: "expected ecb, er-api or manual" })).min(1),
  ),
  FX_ECB_URL: url(["http", "https"]).default("https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"),
  FX_ERAPI_URL: url(["http", "https"]).default("https://open.er-api.com/v6/latest"),
  FX_REFRESH_EVERY: positiveInt("a number of seconds").default(300),
  FX_RATE_TTL_SECONDS: positiveInt("a number of seconds").default(36 * 60 * 60),
  FX_OFFLINE_SNAPSHOT: bool.optional(),
  FX_BASE_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, "expected an ISO 4217 code such as EUR")
    .default("EUR"),
  WORKER_CONCURRENCY: positiveInt("a number of concurrent jobs").default(4),

  PUBLIC_URL: url(["http", "https"]).optional(),
  BETTER_AUTH_SECRET: z.string().min(32, "expected at least 32 characters").default(DEV_AUTH_SECRET),
  TRUST_PROXY_HOPS: z.coerce
    .number({ message: "expected the number of proxies in front of Kit" })
    .int("expected a whole number")
    .min(0, "expected 0 or more")
    .max(10, "expected at most 10")
    .default(0),
  RATE_LIMITS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return {};
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: 'expected JSON such as {"default":{"limit":300,"windowSeconds":60}}' });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(
        z.string(),
        z.object({ limit: z.number().int().positive(), windowSeconds: z.number().int().positive() }).strict(),
        { message: 'expected JSON such as {"default":{"limit":300,"windowSeconds":60}}' },
      ),
    ),
  CHAIN_ID: positiveInt("a chain id").default(31337),
  KYC_ENCRYPTION_KEY: aesKey.default(DEV_KYC_KEY),
  KYC_PREVIOUS_ENCRYPTION_KEYS: commaList("").pipe(z.array(aesKey)),
  KYC_UNCONFIRMED_UPLOAD_HOURS: positiveInt("a number of hours").default(24),
  BOOTSTRAP_ADMIN_EMAIL: z.email({ message: "expected an e-mail address" }).optional(),
  BOOTSTRAP_ADMIN_PASSWORD: z.string().min(12, "expected at least 12 characters").optional(),
});

/** Variables production must receive explicitly: their defaults only make sense on a laptop. */
const requiredInProduction = [
  "DATABASE_URL",
  "REDIS_URL",
  "S3_ENDPOINT",
  "S3_ACCESS_KEY",
  "S3_SECRET_KEY",
  "RPC_URL",
  "PUBLIC_URL",
  "BETTER_AUTH_SECRET",
  "KYC_ENCRYPTION_KEY",
  // /metrics is on the same port as the API: not for the whole internet to read.
  "METRICS_TOKEN",
  // Without them Kit would act on chain with anvil's published keys wherever the node says it is anvil.
  "CHAIN_AGENT_PRIVATE_KEY",
  "CLAIM_SIGNER_PRIVATE_KEY",
] as const;
const DEV_KYC_KEY_BYTES = Buffer.from(DEV_KYC_KEY, "base64");
/**
 * Whether a variable holds a development default, compared as the value is used: a secret with
 * stray whitespace, or the KYC key re-encoded (unpadded, wrapped), is still the published default.
 */
const isDevSecret: Partial<Record<(typeof requiredInProduction)[number], (e: Env) => boolean>> = {
  S3_ACCESS_KEY: (e) => e.S3_ACCESS_KEY.trim() === DEV_S3_KEY,
  S3_SECRET_KEY: (e) => e.S3_SECRET_KEY.trim() === DEV_S3_KEY,
  BETTER_AUTH_SECRET: (e) => e.BETTER_AUTH_SECRET.trim() === DEV_AUTH_SECRET,
  KYC_ENCRYPTION_KEY: (e) => isDevKycKey(e.KYC_ENCRYPTION_KEY),
};
function isDevKycKey(base64: string): boolean {
  return Buffer.from(base64, "base64").equals(DEV_KYC_KEY_BYTES);
}

type Env = z.infer<typeof envSchema>;

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
  };
  log: { level: Env["LOG_LEVEL"]; pretty: boolean };
  /** Overrides of the rate-limit rules' limits, by rule name (see rpc/rate-limit-rules.ts). */
  rateLimits: Record<string, { limit: number; windowSeconds: number }>;
  db: { url: string; poolMax: number; migrate: boolean };
  redis: {
    url: string;
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
  };
  worker: { concurrency: number };
  /** The token operations outbox (domains/operations). */
  operations: {
    /** Blocks a transaction needs (its own included) before its operation is confirmed. */
    confirmations: number;
    /** A transaction not mined this many blocks after its broadcast is replaced (same nonce, higher fee). */
    stuckBlocks: number;
    /** How often the worker resumes, confirms and re-checks operations whatever was queued. */
    sweepSeconds: number;
  };
  dataDir: string;
  migrationsDir: string;
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
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if ((e.BOOTSTRAP_ADMIN_EMAIL === undefined) !== (e.BOOTSTRAP_ADMIN_PASSWORD === undefined)) {
    problems.push("BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD: set both or neither");
  }
  if (e.NODE_ENV === "production") {
    for (const name of requiredInProduction) {
      if (env[name] === undefined) problems.push(`${name}: must be set in production`);
      else if (isDevSecret[name]?.(e)) problems.push(`${name}: the development default is refused in production`);
    }
    if (e.KYC_PREVIOUS_ENCRYPTION_KEYS.some(isDevKycKey)) {
      problems.push("KYC_PREVIOUS_ENCRYPTION_KEYS: the development key is refused in production");
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env: e.NODE_ENV,
    version: packageJson.version,
    http: {
      host: e.HOST,
      port: e.PORT,
      corsOrigins: e.CORS_ORIGINS,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      readyTimeoutMs: e.READY_TIMEOUT_MS,
      systemInfoCacheMs: e.SYSTEM_INFO_CACHE_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      metricsToken: e.METRICS_TOKEN,
    },
    log: { level: e.LOG_LEVEL, pretty: e.NODE_ENV === "development" },
    rateLimits: e.RATE_LIMITS,
    db: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX, migrate: e.DATABASE_MIGRATE },
    redis: {
      url: e.REDIS_URL,
      keyPrefix: e.REDIS_KEY_PREFIX,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      breakerMs: e.REDIS_BREAKER_MS,
    },
    s3: {
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
    },
    chain: {
      id: e.CHAIN_ID,
      rpcUrl: e.RPC_URL,
      anvilPort: e.ANVIL_PORT,
      deploymentFile: e.CHAIN_DEPLOYMENT_FILE ?? resolve(e.DATA_DIR, "chain", `deployment-${e.CHAIN_ID}.json`),
      agentPrivateKey: e.CHAIN_AGENT_PRIVATE_KEY,
      claimSignerPrivateKey: e.CLAIM_SIGNER_PRIVATE_KEY,
    },
    indexer: {
      tokens: e.INDEXER_TOKENS,
      factory: e.INDEXER_FACTORY,
      confirmations: e.INDEXER_CONFIRMATIONS,
      pollIntervalMs: e.INDEXER_POLL_MS,
      maxLagBlocks: e.INDEXER_MAX_LAG_BLOCKS,
      maxBlockRange: e.INDEXER_MAX_BLOCK_RANGE,
      reorgWindow: e.INDEXER_REORG_WINDOW,
    },
    auth: {
      publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ""),
      secret: e.BETTER_AUTH_SECRET,
      trustProxyHops: e.TRUST_PROXY_HOPS,
      bootstrapAdmin:
        e.BOOTSTRAP_ADMIN_EMAIL && e.BOOTSTRAP_ADMIN_PASSWORD
          ? { email: e.BOOTSTRAP_ADMIN_EMAIL, password: e.BOOTSTRAP_ADMIN_PASSWORD }
          : undefined,
    },
    fx: {
      providers: e.FX_PROVIDERS,
      ecbUrl: e.FX_ECB_URL,
      erApiUrl: e.FX_ERAPI_URL.replace(/\/$/, ""),
      refreshEverySeconds: e.FX_REFRESH_EVERY,
      rateTtlSeconds: e.FX_RATE_TTL_SECONDS,
      baseCurrency: e.FX_BASE_CURRENCY,
      // On a laptop with no way out, stale bundled rates beat an empty page; elsewhere, never.
      offlineSnapshot: e.FX_OFFLINE_SNAPSHOT ?? e.NODE_ENV === "development",
    },
    kyc: {
      encryptionKey: Buffer.from(e.KYC_ENCRYPTION_KEY, "base64"),
      previousEncryptionKeys: e.KYC_PREVIOUS_ENCRYPTION_KEYS.map((k) => Buffer.from(k, "base64")),
      unconfirmedUploadHours: e.KYC_UNCONFIRMED_UPLOAD_HOURS,
    },
    worker: { concurrency: e.WORKER_CONCURRENCY },
    operations: {
      confirmations: e.CHAIN_CONFIRMATIONS,
      stuckBlocks: e.OPERATIONS_STUCK_BLOCKS,
      sweepSeconds: e.OPERATIONS_SWEEP_SECONDS,
    },
    dataDir: e.DATA_DIR,
    migrationsDir: resolve(repoRoot, "drizzle"),
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
