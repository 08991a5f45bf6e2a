// `bun run db:migrate`: applies pending migrations and exits (the api also does this at start).
import { ConfigError, loadConfig } from "./config";
import { migrateDirect } from "./infra/db";
import { createLogger } from "./infra/log";

try {
  const config = loadConfig();
  await migrateDirect(config, createLogger(config));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `migration failed: ${(error as Error).message}`);
  process.exit(1);
}
