// Entry point: `bun src/main.ts --role api|worker|indexer|all` (default: all).
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, requireResolved } from "./config";
import { createLogger } from "./infra/log";
import { ROLES, type Role, startKit } from "./runtime";
import { handleShutdownSignals } from "./shutdown";

const { values } = parseArgs({ options: { role: { type: "string", default: "all" } }, strict: true });
const roles = parseRoles(values.role);

let config: ReturnType<typeof requireResolved>;
try {
  config = requireResolved(loadConfig());
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const log = createLogger(config, { role: roles.join(",") });
try {
  const kit = await startKit(config, roles, log);
  handleShutdownSignals(log, config.http.shutdownTimeoutMs, kit.stop);
} catch (error) {
  log.fatal({ err: error }, "start-up failed");
  process.exit(1);
}

function parseRoles(value: string): Role[] {
  if (value === "all") return [...ROLES];
  const roles = value.split(",").map((r) => r.trim());
  const unknown = roles.filter((r) => !ROLES.includes(r as Role));
  if (unknown.length > 0) {
    console.error(`--role: unknown role ${unknown.join(", ")}; expected one of ${[...ROLES, "all"].join(", ")}`);
    process.exit(1);
  }
  return roles as Role[];
}
