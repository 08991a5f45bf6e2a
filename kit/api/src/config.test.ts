import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, requireResolved } from "./config";

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

const production = {
  NODE_ENV: "production",
  DATABASE_URL: "postgres://kit:pw@db:5432/kit",
  REDIS_URL: "redis://redis:6379",
  S3_ENDPOINT: "http://minio:9000",
  S3_ACCESS_KEY: "kit-prod",
  S3_SECRET_KEY: "a-long-random-secret",
  RPC_URL: "http://node:8545",
  PUBLIC_URL: "https://kit.example.com",
  BETTER_AUTH_SECRET: "0123456789abcdef0123456789abcdef-prod",
  KYC_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
  AUDIT_EXPORT_PRIVATE_KEY: Buffer.alloc(32, 9).toString("base64"),
  METRICS_TOKEN: "a-long-random-metrics-token",
  CHAIN_AGENT_PRIVATE_KEY: `0x${"a1".repeat(32)}`,
  CLAIM_SIGNER_PRIVATE_KEY: `0x${"b2".repeat(32)}`,
  SMTP_URL: "smtp://mail:587",
  MAIL_FROM: "Kit <no-reply@kit.example.com>",
};

describe("loadConfig", () => {
  test("KIT_PROCESSES: unset is one process without a supervisor; auto is one per core; 0 and words are refused", () => {
    expect(loadConfig({}).http.processes).toBeUndefined();
    expect(loadConfig({ KIT_PROCESSES: "3" }).http.processes).toBe(3);
    expect(loadConfig({ KIT_PROCESSES: "auto" }).http.processes).toBe(availableParallelism());
    expect(problemsOf({ KIT_PROCESSES: "0" })).toEqual(["KIT_PROCESSES: expected at least 1 process, or auto"]);
    expect(problemsOf({ KIT_PROCESSES: "many" })).toEqual([
      "KIT_PROCESSES: expected a number of processes (1 to 256) or auto",
    ]);
  });

  test("development needs no variables at all", () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.chain.anvilPort).toBe(8545);
    expect(config.db.url).toBe("postgres://postgres@127.0.0.1:5432/kit");
    expect(config.redis.keyPrefix).toBe("kit:");
    expect(config.s3.endpoint).toBeUndefined();
    expect(config.log.pretty).toBe(true);
  });

  test("database: the direct URL defaults to DATABASE_URL; prepared statements are off when it differs (a pooler), unless set", () => {
    const pooled = "postgres://kit@pgbouncer:6432/kit";
    const direct = "postgres://kit@db:5432/kit";
    const plain = loadConfig({ DATABASE_URL: pooled });
    expect(plain.db).toMatchObject({ url: pooled, directUrl: pooled, preparedStatements: true });
    expect(plain.db.readUrl).toBeUndefined();
    const behind = loadConfig({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: direct, DATABASE_READ_URL: direct });
    expect(behind.db).toMatchObject({ url: pooled, directUrl: direct, readUrl: direct, preparedStatements: false });
    expect(loadConfig({ DATABASE_URL: pooled, DATABASE_DIRECT_URL: pooled }).db.preparedStatements).toBe(true);
    const forced = { DATABASE_URL: pooled, DATABASE_DIRECT_URL: direct, DATABASE_PREPARED_STATEMENTS: "true" };
    expect(loadConfig(forced).db.preparedStatements).toBe(true);
    expect(problemsOf({ DATABASE_READ_URL: "mysql://replica" })[0]).toStartWith("DATABASE_READ_URL:");
    expect(problemsOf({ DATABASE_DIRECT_URL: "db:5432" })[0]).toStartWith("DATABASE_DIRECT_URL:");
  });

  test("each bad value is named with what is expected, without echoing it", () => {
    const problems = problemsOf({ PORT: "abc", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud", S3_SECRET_KEY: "" });
    expect(problems.find((p) => p.startsWith("PORT:"))).toContain("port");
    expect(problems.find((p) => p.startsWith("DATABASE_URL:"))).toContain("postgres://");
    expect(problems.find((p) => p.startsWith("LOG_LEVEL:"))).toBeDefined();
    expect(problems.join("\n")).not.toContain("mysql://x");
    expect(problems).toHaveLength(3); // an empty variable counts as unset
  });

  test("auth settings: a short secret, half a bootstrap admin and an unknown rate-limit shape are refused", () => {
    expect(problemsOf({ BETTER_AUTH_SECRET: "short" })[0]).toBe("BETTER_AUTH_SECRET: expected at least 32 characters");
    expect(problemsOf({ BOOTSTRAP_ADMIN_EMAIL: "root@example.com" })[0]).toContain("set both or neither");
    expect(problemsOf({ RATE_LIMITS: "{nope" })[0]).toStartWith("RATE_LIMITS: expected JSON");
    expect(problemsOf({ RATE_LIMITS: '{"default":{"limit":0,"windowSeconds":60}}' })[0]).toStartWith("RATE_LIMITS");
    expect(loadConfig({ RATE_LIMITS: '{"default":{"limit":100,"windowSeconds":60}}' }).rateLimits).toEqual({
      default: { limit: 100, windowSeconds: 60 },
    });
    expect(loadConfig({ PORT: "4000" }).auth.publicUrl).toBe("http://localhost:4000");
  });

  test("METRICS_TOKEN: optional outside production, at least 16 characters, never echoed", () => {
    expect(loadConfig({}).http.metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: "0123456789abcdef" }).http.metricsToken).toBe("0123456789abcdef");
    expect(problemsOf({ METRICS_TOKEN: "short-token" })).toEqual(["METRICS_TOKEN: expected at least 16 characters"]);
  });

  test("Redis: one server, a Cluster or Sentinels, exactly one of them, each named with the fix", () => {
    const cluster = loadConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002" });
    expect(cluster.redis.cluster?.nodes).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(cluster.redis.sentinel).toBeUndefined();
    const sentinel = loadConfig({ REDIS_SENTINELS: "s1:26379,s2:26379", REDIS_SENTINEL_NAME: "mymaster" });
    expect(sentinel.redis.sentinel).toEqual({
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26379 },
      ],
      name: "mymaster",
      password: undefined,
    });
    expect(sentinel.redis.cluster).toBeUndefined();
    expect(problemsOf({ REDIS_URL: "redis://r:6379", REDIS_CLUSTER_NODES: "r:7000" })).toEqual([
      "REDIS_URL and REDIS_CLUSTER_NODES: set only one (REDIS_URL for one server, REDIS_CLUSTER_NODES for a Redis Cluster, REDIS_SENTINELS with REDIS_SENTINEL_NAME for Sentinel)",
    ]);
    expect(
      problemsOf({ REDIS_CLUSTER_NODES: "r:7000", REDIS_SENTINELS: "s:26379", REDIS_SENTINEL_NAME: "m" })[0],
    ).toStartWith("REDIS_CLUSTER_NODES and REDIS_SENTINELS: set only one");
    expect(problemsOf({ REDIS_SENTINELS: "s:26379" })[0]).toStartWith(
      "REDIS_SENTINEL_NAME: must be set with REDIS_SENTINELS",
    );
    expect(problemsOf({ REDIS_SENTINEL_NAME: "m" })[0]).toStartWith(
      "REDIS_SENTINEL_NAME: only used with REDIS_SENTINELS",
    );
    expect(problemsOf({ REDIS_CLUSTER_NODES: "redis://r:7000" })[0]).toStartWith(
      "REDIS_CLUSTER_NODES.0: expected host:port entries",
    );
    expect(problemsOf({ REDIS_URL: "redis://r:6379", REDIS_PASSWORD: "secret-pw" })[0]).toStartWith(
      "REDIS_PASSWORD: with REDIS_URL, put the password in the URL",
    );
    expect(problemsOf({ REDIS_KEY_PREFIX: "kit{a}:" })[0]).toStartWith("REDIS_KEY_PREFIX: expected no { or }");
    // Production takes any one of the three as Redis's address.
    const { REDIS_URL: _, ...withoutUrl } = production;
    expect(problemsOf({ ...withoutUrl, REDIS_CLUSTER_NODES: "r:7000" })).toEqual([]);
    expect(problemsOf(withoutUrl)).toEqual(["REDIS_URL: must be set in production"]);
  });

  test("ports outside 0-65535 and non-integers are refused", () => {
    for (const value of ["70000", "-1", "80.5"]) expect(problemsOf({ PORT: value })[0]).toStartWith("PORT:");
  });

  test("production refuses development defaults and missing service addresses", () => {
    const problems = problemsOf({ NODE_ENV: "production", S3_SECRET_KEY: "S3RVER" });
    for (const name of [
      "DATABASE_URL",
      "REDIS_URL",
      "S3_ENDPOINT",
      "S3_ACCESS_KEY",
      "RPC_URL",
      "PUBLIC_URL",
      "BETTER_AUTH_SECRET",
      "KYC_ENCRYPTION_KEY",
      "AUDIT_EXPORT_PRIVATE_KEY",
      "METRICS_TOKEN",
      "CHAIN_AGENT_PRIVATE_KEY",
      "CLAIM_SIGNER_PRIVATE_KEY",
      "SMTP_URL",
      "MAIL_FROM",
    ]) {
      expect(problems.some((p) => p.startsWith(`${name}:`))).toBe(true);
    }
    expect(problems).toContain("S3_SECRET_KEY: the development default is refused in production");
    expect(loadConfig(production).log.pretty).toBe(false);
  });

  test("KYC keys: 32 bytes of base64, current plus previous ones; the development key is refused in production", () => {
    const current = Buffer.alloc(32, 1).toString("base64");
    const previous = Buffer.alloc(32, 2).toString("base64");
    const config = loadConfig({ KYC_ENCRYPTION_KEY: current, KYC_PREVIOUS_ENCRYPTION_KEYS: ` ${previous} ` });
    expect(config.kyc.encryptionKey.equals(Buffer.alloc(32, 1))).toBe(true);
    expect(config.kyc.previousEncryptionKeys.map((k) => k.toString("base64"))).toEqual([previous]);
    for (const bad of ["short", Buffer.alloc(16).toString("base64"), "not base64 at all!!"]) {
      expect(problemsOf({ KYC_ENCRYPTION_KEY: bad })).toEqual([
        "KYC_ENCRYPTION_KEY: expected 32 random bytes in base64 (openssl rand -base64 32)",
      ]);
    }
    expect(problemsOf({ KYC_PREVIOUS_ENCRYPTION_KEYS: `${previous},oops` })[0]).toStartWith(
      "KYC_PREVIOUS_ENCRYPTION_KEYS",
    );
    const devKey = loadConfig({}).kyc.encryptionKey.toString("base64");
    expect(problemsOf({ ...production, KYC_ENCRYPTION_KEY: devKey })).toEqual([
      "KYC_ENCRYPTION_KEY: the development default is refused in production",
    ]);
  });

  test("the development KYC key is refused in production however it is written, and among the previous keys", () => {
    const devKey = loadConfig({}).kyc.encryptionKey.toString("base64");
    expect(devKey).toEndWith("=");
    for (const variant of [`${devKey}\n`, ` ${devKey} `, devKey.replace(/=+$/, "")]) {
      expect(problemsOf({ ...production, KYC_ENCRYPTION_KEY: variant })).toEqual([
        "KYC_ENCRYPTION_KEY: the development default is refused in production",
      ]);
    }
    const other = Buffer.alloc(32, 9).toString("base64");
    for (const previous of [devKey, devKey.replace(/=+$/, ""), `${other}, ${devKey}\n`]) {
      expect(problemsOf({ ...production, KYC_PREVIOUS_ENCRYPTION_KEYS: previous })).toEqual([
        "KYC_PREVIOUS_ENCRYPTION_KEYS: the development key is refused in production",
      ]);
    }
    // Outside production the development key may decrypt old rows (a laptop's database).
    expect(loadConfig({ KYC_PREVIOUS_ENCRYPTION_KEYS: devKey }).kyc.previousEncryptionKeys).toHaveLength(1);
    expect(
      problemsOf({ ...production, BETTER_AUTH_SECRET: "kit-development-secret-do-not-use-in-production\n" }),
    ).toEqual(["BETTER_AUTH_SECRET: the development default is refused in production"]);
  });

  test("the export key: an Ed25519 seed, 32 bytes of base64, never echoed; the development one refused in production", () => {
    const seed = Buffer.alloc(32, 3);
    expect(loadConfig({ AUDIT_EXPORT_PRIVATE_KEY: seed.toString("base64") }).audit.exportKeySeed).toEqual(seed);
    expect(loadConfig({}).audit.exportKeySeed).toHaveLength(32);
    const short = Buffer.alloc(16, 3).toString("base64");
    const problems = problemsOf({ AUDIT_EXPORT_PRIVATE_KEY: short });
    expect(problems).toEqual([
      "AUDIT_EXPORT_PRIVATE_KEY: expected an Ed25519 private key seed: 32 random bytes in base64 (openssl rand -base64 32)",
    ]);
    expect(problems.join("\n")).not.toContain(short);
    const devSeed = loadConfig({}).audit.exportKeySeed;
    // However it is written (unpadded base64, stray whitespace), the published seed is refused.
    for (const variant of [
      devSeed.toString("base64"),
      devSeed.toString("base64").replace(/=+$/, ""),
      ` ${devSeed.toString("base64")}\n`,
    ]) {
      expect(problemsOf({ ...production, AUDIT_EXPORT_PRIVATE_KEY: variant })).toEqual([
        "AUDIT_EXPORT_PRIVATE_KEY: the development default is refused in production",
      ]);
    }
  });

  test("production needs both chain keys set: anvil's well-known keys are never a fallback there", () => {
    for (const name of ["CHAIN_AGENT_PRIVATE_KEY", "CLAIM_SIGNER_PRIVATE_KEY"] as const) {
      const { [name]: _left, ...rest } = production;
      const problems = problemsOf(rest);
      expect(problems).toEqual([`${name}: must be set in production`]);
      expect(problems.join("\n")).not.toContain(production.CHAIN_AGENT_PRIVATE_KEY.slice(2));
      expect(problems.join("\n")).not.toContain(production.CLAIM_SIGNER_PRIVATE_KEY.slice(2));
    }
    const both = loadConfig(production).chain;
    expect([both.agentPrivateKey, both.claimSignerPrivateKey]).toEqual([
      production.CHAIN_AGENT_PRIVATE_KEY as `0x${string}`,
      production.CLAIM_SIGNER_PRIVATE_KEY as `0x${string}`,
    ]);
    // Development and tests keep the fallback (chain-accounts.ts uses anvil's keys on anvil).
    expect(loadConfig({ NODE_ENV: "test" }).chain.agentPrivateKey).toBeUndefined();
  });

  test("a config without S3 or chain addresses cannot start a server", () => {
    expect(() => requireResolved(loadConfig({}))).toThrow(/S3_ENDPOINT[\s\S]*RPC_URL/);
    expect(requireResolved(loadConfig(production)).chain.rpcUrl).toBe("http://node:8545");
  });
});

// Each starts Bun on main.ts, which loads the whole app: slow on a loaded 2-core CI machine.
setDefaultTimeout(90_000);

describe("the process", () => {
  const main = join(import.meta.dir, "main.ts");
  const run = (env: Record<string, string>, args: string[] = []) =>
    Bun.spawnSync(["bun", main, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stderr: "pipe",
      stdout: "pipe",
    });

  test("a bad value stops start-up with exit code 1 and names the variable", () => {
    const result = run({ PORT: "not-a-port" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toContain("PORT: expected a port number");
  });

  test("production with development secrets stops with exit code 1", () => {
    const result = run({ ...production, S3_SECRET_KEY: "S3RVER" });
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toContain("S3_SECRET_KEY: the development default is refused in production");
  });

  test("production without a chain key stops with exit code 1 naming it", () => {
    const { CLAIM_SIGNER_PRIVATE_KEY: _unset, ...rest } = production;
    const result = run(rest);
    expect(result.exitCode).toBe(1);
    const stderr = result.stderr.toString();
    expect(stderr).toContain("CLAIM_SIGNER_PRIVATE_KEY: must be set in production");
    expect(stderr).not.toContain(production.CHAIN_AGENT_PRIVATE_KEY.slice(2));
  });

  test("an unknown role stops with exit code 1", () => {
    const result = run(production, ["--role", "miner"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toContain("unknown role miner");
  });
});
