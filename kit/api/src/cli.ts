// `bun run kit <command>`: operator commands that must not be HTTP endpoints.
//   users:create --email <e-mail> --role <investor|issuer|kyc_reviewer|admin> [--password <pw>] [--name <name>]
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config";
import { createAuth } from "./domains/auth/auth";
import { isRoleName, ROLE_NAMES } from "./domains/auth/permissions";
import { createPasswordUser } from "./domains/auth/service";
import { createDatabase, migrateDatabase } from "./infra/db";
import { createLogger } from "./infra/log";
import { createRedis, redisReady } from "./infra/redis";

const usage = `usage: bun run kit users:create --email <e-mail> --role <${ROLE_NAMES.join("|")}> [--password <password>] [--name <name>]`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const [command, ...rest] = process.argv.slice(2);
if (command !== "users:create") fail(usage);

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

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  fail(error instanceof ConfigError ? error.message : String(error));
}
const log = createLogger({ log: { level: "warn", pretty: config.log.pretty } });
const { pool, db } = createDatabase(config, log);
const redis = createRedis(config, log, "cli");
try {
  await redisReady(redis, 5_000);
  if (config.db.migrate) await migrateDatabase(pool, config.migrationsDir, log);
  const generated = values.password === undefined;
  // 24 random bytes: ~190 bits, printed once and never stored in clear.
  const password = values.password ?? randomBytes(24).toString("base64url");
  const user = await createPasswordUser(
    { db, auth: createAuth({ config, db, redis, log }) },
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
