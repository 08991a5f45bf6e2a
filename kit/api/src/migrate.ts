// `bun run db:migrate`: applies pending migrations and exits (the api also does this at start).
import { ConfigError, loadConfig } from "./config";
import { createDatabase, migrateDatabase } from "./infra/db";
import { createLogger } from "./infra/log";

try {
  const config = loadConfig();
  const log = createLogger(config);
  const { pool } = createDatabase(config, log);
  try {
    await migrateDatabase(pool, config.migrationsDir, log);
  } finally {
    await pool.end();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `migration failed: ${(error as Error).message}`);
  process.exit(1);
}
