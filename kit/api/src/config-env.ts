// The environment's shape: every variable Kit reads, its parser and its default, and the rules a
// production environment must also meet. config.ts applies them to process.env and builds the Config.
import { resolve } from "node:path";
import { z } from "zod";

export const repoRoot = resolve(import.meta.dir, "../../..");

const DEV_S3_KEY = "S3RVER"; // s3rver accepts only this access key id
const DEV_AUTH_SECRET = "kit-development-secret-do-not-use-in-production";
// 32 bytes of base64, for laptops and tests only (refused in production, like the secrets above).
const DEV_KYC_KEY = "a2l0LWRldmVsb3BtZW50LWt5Yy1rZXktbm90LXVzZSE=";
// The Ed25519 seed that signs dossiers on laptops and in tests (refused in production): published,
// so a dossier signed with it proves nothing.
const DEV_AUDIT_EXPORT_KEY = "a2l0LWRldmVsb3BtZW50LWRvc3NpZXIta2V5LXVzZSE=";

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

/** How many api processes to run under the supervisor: a count, or `auto` (one per core). */
export const processCount = z.union(
  [
    z.literal("auto"),
    z.coerce
      .number({ message: "expected a number of processes or auto" })
      .int("expected a whole number of processes or auto")
      .min(1, "expected at least 1 process, or auto")
      .max(256, "expected at most 256 processes"),
  ],
  { error: "expected a number of processes (1 to 256) or auto" },
);

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

/** `host:port` of a Redis Cluster seed node or a Sentinel (IPv6 in brackets: `[::1]:26379`). */
const redisNode = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:/@[\]]+):\d{1,5}$/, "expected host:port entries, e.g. 10.0.0.1:6379,10.0.0.2:6379")
  .transform((v) => {
    const colon = v.lastIndexOf(":");
    return { host: v.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(v.slice(colon + 1)) };
  })
  .refine((node) => node.port > 0 && node.port <= 65535, "expected a port between 1 and 65535");

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

/** 32 random bytes in base64 (an AES-256 key, an Ed25519 seed). Never echoed. */
const key32 = (what: string) =>
  z
    .string()
    .trim()
    .refine(
      (v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, "base64").length === 32,
      `expected ${what}: 32 random bytes in base64 (openssl rand -base64 32)`,
    );

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
  KIT_PROCESSES: processCount.optional(),

  DATABASE_URL: url(["postgres", "postgresql"]).default("postgres://postgres@127.0.0.1:5432/kit"),
  DATABASE_DIRECT_URL: url(["postgres", "postgresql"]).optional(),
  DATABASE_READ_URL: url(["postgres", "postgresql"]).optional(),
  DATABASE_READ_MAX_LAG_SECONDS: positiveInt("a number of seconds").default(5),
  DATABASE_PREPARED_STATEMENTS: bool.optional(),
  DATABASE_POOL_MAX: positiveInt("a pool size").default(10),
  DATABASE_MIGRATE: bool.default(true),

  REDIS_URL: url(["redis", "rediss"]).default("redis://127.0.0.1:6379"),
  REDIS_CLUSTER_NODES: commaList("").pipe(z.array(redisNode)),
  REDIS_SENTINELS: commaList("").pipe(z.array(redisNode)),
  REDIS_SENTINEL_NAME: z.string().trim().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[^{}]*$/, "expected no { or }: a brace would change the Redis Cluster slot of Kit's hash-tagged keys")
    .default("kit:"),
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
  NOTIFICATIONS_DISPATCH_SECONDS: positiveInt("a number of seconds").default(5),

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

  WEBHOOK_ALLOW_PRIVATE: bool.optional(),
  WEBHOOK_TIMEOUT_MS: positiveInt("a timeout in milliseconds").max(60_000, "expected at most 60000 ms").default(10_000),
  WEBHOOK_RETRY_FIRST_MS: positiveInt("a delay in milliseconds").default(30_000),
  WEBHOOK_RETRY_MAX_MS: positiveInt("a delay in milliseconds").default(60 * 60 * 1000),
  WEBHOOK_RETRY_FOR_SECONDS: positiveInt("a number of seconds").default(24 * 60 * 60),
  WEBHOOK_DISABLE_SECONDS: positiveInt("a number of seconds").default(24 * 60 * 60),
  WEBHOOK_SWEEP_SECONDS: positiveInt("a number of seconds").default(5),

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

  SMTP_URL: url(["smtp", "smtps"]).optional(),
  MAIL_FROM: z
    .string()
    .trim()
    .regex(/^([^<>\r\n]+<)?[^\s<>@]+@[^\s<>@]+>?$/, "expected an address such as Kit <no-reply@example.com>")
    .default("Kit <no-reply@kit.localhost>"),
  MAIL_SWEEP_SECONDS: positiveInt("a number of seconds").default(15),
  MAIL_MAX_ATTEMPTS: positiveInt("a number of tries").default(8),
  MAIL_RETRY_BASE_MS: positiveInt("a delay in milliseconds").default(30_000),
  KYC_ENCRYPTION_KEY: aesKey.default(DEV_KYC_KEY),
  KYC_PREVIOUS_ENCRYPTION_KEYS: commaList("").pipe(z.array(aesKey)),
  KYC_UNCONFIRMED_UPLOAD_HOURS: positiveInt("a number of hours").default(24),
  AUDIT_EXPORT_PRIVATE_KEY: key32("an Ed25519 private key seed").default(DEV_AUDIT_EXPORT_KEY),
  KYC_REQUIRE_VERIFIED_EMAIL: bool.default(true),
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
  // Signs KYC dossiers: with the published development seed anyone could forge one.
  "AUDIT_EXPORT_PRIVATE_KEY",
  // /metrics is on the same port as the API: not for the whole internet to read.
  "METRICS_TOKEN",
  // Without them Kit would act on chain with anvil's published keys wherever the node says it is anvil.
  "CHAIN_AGENT_PRIVATE_KEY",
  "CLAIM_SIGNER_PRIVATE_KEY",
  // Verification and reset mails must reach people; the default sender names no real domain.
  "SMTP_URL",
  "MAIL_FROM",
] as const;
const DEV_KYC_KEY_BYTES = Buffer.from(DEV_KYC_KEY, "base64");
const DEV_AUDIT_EXPORT_KEY_BYTES = Buffer.from(DEV_AUDIT_EXPORT_KEY, "base64");
/**
 * Whether a variable holds a development default, compared as the value is used: a secret with
 * stray whitespace, or the KYC key re-encoded (unpadded, wrapped), is still the published default.
 */
const isDevSecret: Partial<Record<(typeof requiredInProduction)[number], (e: Env) => boolean>> = {
  S3_ACCESS_KEY: (e) => e.S3_ACCESS_KEY.trim() === DEV_S3_KEY,
  S3_SECRET_KEY: (e) => e.S3_SECRET_KEY.trim() === DEV_S3_KEY,
  BETTER_AUTH_SECRET: (e) => e.BETTER_AUTH_SECRET.trim() === DEV_AUTH_SECRET,
  KYC_ENCRYPTION_KEY: (e) => isDevKycKey(e.KYC_ENCRYPTION_KEY),
  AUDIT_EXPORT_PRIVATE_KEY: (e) => Buffer.from(e.AUDIT_EXPORT_PRIVATE_KEY, "base64").equals(DEV_AUDIT_EXPORT_KEY_BYTES),
};
function isDevKycKey(base64: string): boolean {
  return Buffer.from(base64, "base64").equals(DEV_KYC_KEY_BYTES);
}

export type Env = z.infer<typeof envSchema>;

/**
 * What the schema cannot say about one variable alone: pairs set together, and production's
 * refusal of missing variables and development secrets. `env` holds the variables as set.
 */
export function envProblems(env: Record<string, string>, e: Env): string[] {
  const problems: string[] = [];
  problems.push(...redisProblems(env, e));
  if ((e.BOOTSTRAP_ADMIN_EMAIL === undefined) !== (e.BOOTSTRAP_ADMIN_PASSWORD === undefined)) {
    problems.push("BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD: set both or neither");
  }
  if (e.NODE_ENV === "production") {
    for (const name of requiredInProduction) {
      // Redis is given by one of three variables (redisProblems checks that there is exactly one).
      if (name === "REDIS_URL" && (env.REDIS_CLUSTER_NODES || env.REDIS_SENTINELS)) continue;
      if (env[name] === undefined) problems.push(`${name}: must be set in production`);
      else if (isDevSecret[name]?.(e)) problems.push(`${name}: the development default is refused in production`);
    }
    if (e.KYC_PREVIOUS_ENCRYPTION_KEYS.some(isDevKycKey)) {
      problems.push("KYC_PREVIOUS_ENCRYPTION_KEYS: the development key is refused in production");
    }
  }
  return problems;
}

/** Redis is one server (REDIS_URL), a Cluster (REDIS_CLUSTER_NODES) or a Sentinel-watched primary (REDIS_SENTINELS): exactly one. */
function redisProblems(env: Record<string, string>, e: Env): string[] {
  const given = ["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"].filter((name) => env[name] !== undefined);
  const problems: string[] = [];
  if (given.length > 1) {
    problems.push(
      `${given.join(" and ")}: set only one (REDIS_URL for one server, REDIS_CLUSTER_NODES for a Redis Cluster, REDIS_SENTINELS with REDIS_SENTINEL_NAME for Sentinel)`,
    );
  }
  if (e.REDIS_SENTINELS.length > 0 && e.REDIS_SENTINEL_NAME === undefined) {
    problems.push(
      "REDIS_SENTINEL_NAME: must be set with REDIS_SENTINELS (the master name the sentinels monitor, e.g. mymaster)",
    );
  }
  if (e.REDIS_SENTINEL_NAME !== undefined && e.REDIS_SENTINELS.length === 0) {
    problems.push(
      "REDIS_SENTINEL_NAME: only used with REDIS_SENTINELS (host:port of each sentinel); set them or remove it",
    );
  }
  if (e.REDIS_PASSWORD !== undefined && given.includes("REDIS_URL")) {
    problems.push("REDIS_PASSWORD: with REDIS_URL, put the password in the URL (redis://:password@host:6379) instead");
  }
  return problems;
}
