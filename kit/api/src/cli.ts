// `bun run kit <command>`: operator commands that must not be HTTP endpoints (`bun run kit help` lists them).
import { createPublicKey, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "./config";
import { runWalkthrough, WalkthroughError } from "./dev/walkthrough";
import { exportKeyFromSeed } from "./domains/audit/export-key";
import { verifyAuditChain } from "./domains/audit/verify";
import { createAuth } from "./domains/auth/auth";
import { keyStatements } from "./domains/auth/permission-statements";
import { isRoleName, ROLE_NAMES, unknownKeyGrants } from "./domains/auth/permissions";
import { createPasswordUser } from "./domains/auth/service";
import { loadVerificationKey, verifyDossier } from "./domains/kyc/dossier-verify";
import { resetChainIndex, resetTokenIndex } from "./domains/tokens/index-reset";
import { createDatabase, type Database, migrateDirect } from "./infra/db";
import { createLogger, type Logger } from "./infra/log";
import { createRedis, type Redis, redisReady } from "./infra/redis";
import { createBackup } from "./ops/backup";
import { readErasureLedgerFile, reapplyErasures, writeErasureLedgerFile } from "./ops/erasure-ledger-file";
import { reportKeyUsage } from "./ops/key-usage-report";
import { BackupError } from "./ops/postgres-tools";
import { restoreBackup } from "./ops/restore";
import { RestartError, requestRollingRestart } from "./processes/restart";
import { stateFilePath } from "./processes/state-file";
import { resolveRateLimitRules } from "./rpc/rate-limit-rules";

const usage = [
  `usage: bun run kit users:create --email <e-mail> --role <${ROLE_NAMES.join("|")}> [--password <password>] [--name <name>]`,
  "       bun run kit keys:create --email <owner e-mail> --grant <subject:action[,action]> [--grant …] [--name <name>] [--expires-in-days <days>]",
  "       bun run kit indexer:reset --chain-id <id> [--token <address>]",
  "       bun run kit kyc:keys [--reencrypt]",
  "       bun run kit demo:walkthrough [--url <Kit's public URL>]",
  "       bun run kit audit:verify",
  "       bun run kit dossier:verify <dossier.zip> [--key <public key: PEM or JSON file, or URL of /api/audit/export-key>]",
  "       bun run kit backup --to <new folder>",
  "       bun run kit restart [--port <port>] [--timeout <seconds>]",
  "       bun run kit restore --from <backup folder> [--erasures <ledger.json>]",
  "       bun run kit kyc:erasures --out <ledger.json> | --apply <ledger.json>",
  "       bun run kit help",
  "",
  "  users:create    a user with a role (a password is generated and printed once unless given)",
  "  keys:create     an API key carrying grants, printed once",
  "  indexer:reset   forget a chain's (or one token's) index, to re-read it from the chain",
  "  kyc:keys        KYC data keys and legacy rows per master key; --reencrypt re-wraps them under the current key",
  "  demo:walkthrough  against `bun run dev`: an admin, an investor's KYC approved, a wallet verified on chain",
  "  audit:verify    walk the audit trail's hash chain; names the first row changed or removed (exit 1)",
  "  dossier:verify  check a KYC dossier offline: its signature, then every file against its manifest (exit 1 naming each failure)",
  "  backup          pg_dump of the database, every bucket's objects and a manifest of checksums",
  "  restore         a backup into an empty database and empty buckets, after checking every checksum",
  "  restart         rolling restart of the api processes of `bun run start --processes N` (one at a time, none refused)",
  "  restore         a backup into an empty database and empty buckets, after checking every checksum;",
  "                  --erasures destroys again the KYC data keys the ledger names (erased after the backup)",
  "  kyc:erasures    the erasure ledger: --out writes the destroyed KYC data keys, --apply destroys them here",
].join("\n");

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/** better-auth as the CLI uses it: no chain (no SIWE contract wallets), the configured limits. */
function cliAuth(config: Config, db: Database, redis: Redis, log: Logger) {
  return createAuth({ config, db, redis, chain: null, log, rateLimitRules: resolveRateLimitRules(config.rateLimits) });
}

const [command, ...rest] = process.argv.slice(2);
if (command === "indexer:reset") await resetIndex(rest);
else if (command === "users:create") await createUser(rest);
else if (command === "keys:create") await createKey(rest);
else if (command === "kyc:keys") await kycKeys(rest);
else if (command === "demo:walkthrough") await walkthrough(rest);
else if (command === "audit:verify") await auditVerify();
else if (command === "dossier:verify") await dossierVerify(rest);
else if (command === "backup" || command === "restore") await backupOrRestore(command, rest);
else if (command === "restart") await restart(rest);
else if (command === "kyc:erasures") await kycErasures(rest);
else if (command === "help" || command === "--help" || command === "-h") process.stdout.write(`${usage}\n`);
else fail(command ? `unknown command: ${command}\n${usage}` : usage);

function loadConfigOrFail(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig();
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
}

/**
 * Forgets what the indexer stored for one chain; the next indexer re-reads it from each token's
 * first block. Refused while an indexer of that chain runs (it holds the lock this takes).
 * With --token, only that token (see resetTokenIndex): allowed while indexers run if it is
 * quarantined.
 */
async function resetIndex(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { "chain-id": { type: "string" }, token: { type: "string" } },
    strict: true,
  });
  const chainId = Number(values["chain-id"]);
  if (!Number.isSafeInteger(chainId) || chainId <= 0)
    fail(`--chain-id: expected a chain id such as 1 or 31337\n${usage}`);
  const token = values.token?.trim().toLowerCase();
  if (token !== undefined && !/^0x[0-9a-f]{40}$/.test(token))
    fail(`--token: expected a token address, 0x and 40 hex digits\n${usage}`);
  const config = loadConfigOrFail();
  // The indexer's lock is a session lock: one connection straight to Postgres, not through a pooler.
  const { pool } = createDatabase(
    { db: { url: config.db.directUrl, poolMax: 1 } },
    createLogger({ log: { level: "warn", pretty: config.log.pretty } }),
  );
  const client = await pool.connect();
  try {
    if (token) {
      const result = await resetTokenIndex(client, chainId, token);
      if (result.outcome === "not-found") fail(`token ${token} is not indexed on chain ${chainId}`);
      if (result.outcome === "busy")
        fail(
          `an indexer is running for chain ${chainId} and token ${token} is not quarantined: stop every indexer process first, then run this again`,
        );
      process.stdout.write(
        result.outcome === "forgotten"
          ? `forgot token ${token} (${result.removed} rows); an indexer adds it again from INDEXER_TOKENS within 10 s (or at its next start) and reads it from its start block\n`
          : `forgot token ${token}'s index (${result.removed} rows); the indexer reads it again from its creation block\n`,
      );
      return;
    }
    const reset = await resetChainIndex(client, chainId);
    if (!reset)
      fail(`an indexer is running for chain ${chainId}: stop every indexer process first, then run this again`);
    process.stdout.write(`forgot chain ${chainId}'s index (${reset.removed} rows); start an indexer to re-read it\n`);
  } finally {
    client.release();
    await pool.end();
  }
}

async function createUser(rest: string[]): Promise<void> {
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: "string" },
      role: { type: "string" },
      password: { type: "string" },
      name: { type: "string" },
    },
    strict: true,
  });
  if (!values.email || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email))
    fail(`--email: expected an e-mail address\n${usage}`);
  if (!isRoleName(values.role)) fail(`--role: expected one of ${ROLE_NAMES.join(", ")}\n${usage}`);
  if (values.password !== undefined && values.password.length < 12) fail("--password: expected at least 12 characters");

  const config = loadConfigOrFail();
  const log = createLogger({ log: { level: "warn", pretty: config.log.pretty } });
  const { pool, db } = createDatabase(config, log);
  const redis = createRedis(config, log, "cli");
  try {
    await redisReady(redis, 5_000);
    if (config.db.migrate) await migrateDirect(config, log);
    const generated = values.password === undefined;
    // 24 random bytes: ~190 bits, printed once and never stored in clear.
    const password = values.password ?? randomBytes(24).toString("base64url");
    const user = await createPasswordUser(
      {
        db,
        auth: cliAuth(config, db, redis, log),
      },
      { email: values.email, password, role: values.role, name: values.name },
    );
    if (!user)
      fail(`a user with e-mail ${values.email.toLowerCase()} already exists; change its role with users.setRole`);
    process.stdout.write(`created ${user.role} ${user.email} (id ${user.id})\n`);
    if (generated) process.stdout.write(`password (shown once): ${password}\n`);
  } finally {
    await pool.end();
    redis.disconnect();
  }
}

/** The first-hour walkthrough (dev/walkthrough.ts) against a running Kit; the admin is made here, as users:create does. */
async function walkthrough(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { url: { type: "string" } }, strict: true });
  const config = loadConfigOrFail();
  const url = (values.url ?? config.auth.publicUrl).replace(/\/$/, "");
  const log = createLogger({ log: { level: "warn", pretty: config.log.pretty } });
  const { pool, db } = createDatabase(config, log);
  const redis = createRedis(config, log, "cli");
  try {
    await redisReady(redis, 5_000);
    await runWalkthrough({
      url,
      chainId: config.chain.id,
      createAdmin: async (email, password) => {
        const made = await createPasswordUser(
          { db, auth: cliAuth(config, db, redis, log) },
          { email, password, role: "admin", name: "Walkthrough Admin" },
        );
        if (!made) throw new Error(`a user with e-mail ${email} already exists`);
      },
      say: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (error) {
    fail(error instanceof WalkthroughError ? error.message : `walkthrough failed: ${String(error)}`);
  } finally {
    await pool.end();
    redis.disconnect();
  }
}

/** `kyc:read,submit` and `me:read` → { kyc: ["read", "submit"], me: ["read"] }; null when malformed. */
function parseGrants(specs: string[]): Record<string, string[]> | null {
  const grants: Record<string, string[]> = {};
  for (const spec of specs) {
    const [subject, actions, extra] = spec.split(":");
    if (!subject || !actions || extra !== undefined) return null;
    grants[subject] = [...new Set([...(grants[subject] ?? []), ...actions.split(",").filter(Boolean)])];
  }
  return grants;
}

/**
 * An API key for a user, carrying the grants given (keys are allow-lists: one with no grant can
 * call public procedures only, so at least one is required). The key is printed once.
 */
async function createKey(rest: string[]): Promise<void> {
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: "string" },
      grant: { type: "string", multiple: true },
      name: { type: "string" },
      "expires-in-days": { type: "string" },
    },
    strict: true,
  });
  const vocabulary = Object.entries(keyStatements)
    .map(([subject, actions]) => `${subject}:${actions.join(",")}`)
    .join("  ");
  if (!values.email) fail(`--email: expected the key owner's e-mail address\n${usage}`);
  const grants = parseGrants(values.grant ?? []);
  if (!grants || Object.keys(grants).length === 0)
    fail(`--grant: expected at least one, as subject:action[,action]; the grants are\n  ${vocabulary}`);
  const unknown = unknownKeyGrants(grants);
  if (unknown.length > 0) fail(`--grant: unknown ${unknown.join(", ")}; the grants are\n  ${vocabulary}`);
  const days = values["expires-in-days"] === undefined ? null : Number(values["expires-in-days"]);
  if (days !== null && !(Number.isInteger(days) && days >= 1 && days <= 365))
    fail("--expires-in-days: expected a whole number of days from 1 to 365");

  const config = loadConfigOrFail();
  const log = createLogger({ log: { level: "warn", pretty: config.log.pretty } });
  const { pool, db } = createDatabase(config, log);
  const redis = createRedis(config, log, "cli");
  try {
    await redisReady(redis, 5_000);
    const auth = cliAuth(config, db, redis, log);
    const owner = await (await auth.$context).internalAdapter.findUserByEmail(values.email.toLowerCase());
    if (!owner) fail(`no user has the e-mail ${values.email.toLowerCase()}; create one with users:create`);
    const created = await auth.api.createApiKey({
      body: {
        userId: owner.user.id,
        name: values.name,
        permissions: grants,
        expiresIn: days === null ? null : days * 24 * 3600,
      },
    });
    const described = Object.entries(grants)
      .map(([subject, actions]) => `${subject}: ${actions.join(", ")}`)
      .join("; ");
    process.stdout.write(`created an API key for ${owner.user.email} (id ${created.id}) granting ${described}\n`);
    process.stdout.write(`key (shown once): ${created.key}\n`);
  } finally {
    await pool.end();
    redis.disconnect();
  }
}

/**
 * How far a KYC master-key rotation stands (ops/key-usage-report.ts); `--reencrypt` runs the
 * kyc.reencrypt-pii job's work here and now.
 */
async function kycKeys(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { reencrypt: { type: "boolean", default: false } }, strict: true });
  const config = loadConfigOrFail();
  const log = createLogger({ log: { level: "warn", pretty: config.log.pretty } });
  const { pool, db } = createDatabase(config, log);
  try {
    process.stdout.write(await reportKeyUsage({ db, log }, config, { reencrypt: values.reencrypt }));
  } finally {
    await pool.end();
  }
}

/** SIGHUP to the supervisor serving PORT (or --port), then waits until each process was replaced. */
async function restart(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string" }, timeout: { type: "string", default: "600" } },
    strict: true,
  });
  const config = loadConfigOrFail();
  const port = values.port === undefined ? config.http.port : Number(values.port);
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`restart: --port expects a port number\n${usage}`);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) fail(`restart: --timeout expects seconds\n${usage}`);
  try {
    const { before, after } = await requestRollingRestart(stateFilePath(config.dataDir, port), timeoutSeconds * 1000);
    for (const replaced of after) {
      const old = before.find((p) => p.slot === replaced.slot)?.pid;
      process.stdout.write(`${replaced.slot}: pid ${old ?? "-"} → ${replaced.pid ?? "- (restarting)"}\n`);
    }
    process.stdout.write("rolling restart done\n");
  } catch (error) {
    if (error instanceof RestartError) fail(error.message);
    throw error;
  }
}

/** Exit 0 with the row count and head hash when the chain holds; 1 naming the first bad row. */
async function auditVerify(): Promise<void> {
  const config = loadConfigOrFail();
  const { pool, db } = createDatabase(config, createLogger({ log: { level: "warn", pretty: config.log.pretty } }));
  try {
    const report = await verifyAuditChain(db);
    if (report.broken) {
      fail(
        `audit trail broken at row ${report.broken.id}: ${report.broken.problem} (${report.rows} rows before it hold)`,
      );
    }
    process.stdout.write(`audit trail holds: ${report.rows} rows, head ${report.head}\n`);
  } finally {
    await pool.end();
  }
}

/** Exit 0 when the signature and every file hold; 1 naming each failure (domains/kyc/dossier-verify.ts). */
async function dossierVerify(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { key: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) fail(`dossier:verify: expected one dossier file\n${usage}`);
  const key = values.key
    ? await loadVerificationKey(values.key).catch((error: Error) => fail(`--key: ${error.message}`))
    : createPublicKey(exportKeyFromSeed(loadConfigOrFail().audit.exportKeySeed).publicKeyPem);
  const archive = await readFile(file).catch((error: Error) => fail(`${file}: ${error.message}`));
  const verdict = verifyDossier(archive, key);
  if (verdict.problems.length > 0) {
    fail(`dossier ${file} does not hold:\n${verdict.problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  const m = verdict.manifest ?? {};
  process.stdout.write(
    `dossier holds: ${verdict.files} files, application ${String(m.applicationId)}, exported by ${String(m.exportedBy)} at ${String(m.exportedAt)}, signed with key ${String(m.keyId)}\n`,
  );
}

/** `backup --to DIR` and `restore --from DIR` (ops/backup.ts, ops/restore.ts; docs/operations.md). */
async function backupOrRestore(command: "backup" | "restore", args: string[]): Promise<void> {
  const flag = command === "backup" ? "to" : "from";
  const options = { to: { type: "string" }, from: { type: "string" }, erasures: { type: "string" } } as const;
  const { values } = parseArgs({ args, options, strict: true });
  const directory = values[flag];
  if (typeof directory !== "string" || directory === "") fail(`--${flag}: expected a folder\n${usage}`);
  const misplaced = (command === "backup" ? ["from", "erasures"] : ["to"]).find((o) => o in values);
  if (misplaced) fail(`${command} takes no --${misplaced}\n${usage}`);
  // Read before anything is restored: a bad ledger refuses the restore instead of leaving keys it should have destroyed.
  const ledger =
    typeof values.erasures === "string"
      ? await readErasureLedgerFile(values.erasures).catch((error: Error) => fail(error.message))
      : undefined;
  const config = loadConfigOrFail();
  const log = createLogger({ log: { level: "warn", pretty: config.log.pretty } });
  try {
    if (command === "backup") {
      const { manifest, ms } = await createBackup({ config, log }, directory);
      const objects = manifest.files.length - 1;
      const bytes = manifest.files.reduce((sum, file) => sum + file.size, 0);
      process.stdout.write(
        `backed up the database (migration ${manifest.database.migrations.latest ?? "unknown"}) and ${objects} objects, ${bytes} bytes, to ${directory} in ${ms} ms\n`,
      );
    } else {
      const { manifest, objects, ms } = await restoreBackup({ config, log }, directory);
      process.stdout.write(
        `restored the backup of ${manifest.createdAt} (Kit ${manifest.kitVersion}): the database and ${objects} objects in ${ms} ms\n`,
      );
      if (ledger) process.stdout.write(`${await reapplyErasures(config, log, ledger)}\n`);
    }
  } catch (error) {
    fail(error instanceof BackupError ? `${command} refused: ${error.message}` : `${command} failed: ${String(error)}`);
  }
}

/** `kyc:erasures --out FILE` (the live database's tombstones) or `--apply FILE` (destroy them here). */
async function kycErasures(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: "string" }, apply: { type: "string" } }, strict: true });
  if ((values.out === undefined) === (values.apply === undefined))
    fail(`kyc:erasures: give --out or --apply\n${usage}`);
  const config = loadConfigOrFail();
  const log = createLogger({ log: { level: "warn", pretty: config.log.pretty } });
  try {
    const said = values.apply
      ? await reapplyErasures(config, log, await readErasureLedgerFile(values.apply))
      : await writeErasureLedgerFile(config, log, values.out as string);
    process.stdout.write(`${said}\n`);
  } catch (error) {
    fail(
      error instanceof BackupError ? `kyc:erasures refused: ${error.message}` : `kyc:erasures failed: ${String(error)}`,
    );
  }
}
