// `bun run lint:openapi`: the two documents /docs shows (Kit's procedures, /api/openapi.json, and
// better-auth's endpoints as Kit serves them) written to a temporary folder and linted by Redocly,
// an independent reader of OpenAPI, with the rules in redocly.yaml. Needs no running service:
// better-auth describes its endpoints without touching its database or Redis.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config";
import { createAuth } from "../src/domains/auth/auth";
import { authDocumentOf } from "../src/http/auth-openapi";
import { generateOpenApiDocument } from "../src/http/openapi";
import { createDatabase } from "../src/infra/db";
import { createLogger } from "../src/infra/log";
import { router } from "../src/router";
import { resolveRateLimitRules } from "../src/rpc/rate-limit-rules";

const root = resolve(import.meta.dir, "../../..");
// The development defaults, whatever this shell's environment says: the same documents everywhere.
const config = loadConfig({});
const log = createLogger({ log: { ...config.log, level: "warn" } });
const { pool, db } = createDatabase(config, log);
const redis = new Redis({ lazyConnect: true });
const auth = createAuth({ config, db, redis, chain: null, log, rateLimitRules: resolveRateLimitRules({}) });

const dir = mkdtempSync(join(tmpdir(), "kit-openapi-"));
try {
  const sessionCookieName = (await auth.$context).authCookies.sessionToken.name;
  const files = {
    "kit-api.json": await generateOpenApiDocument(router, { version: config.version, sessionCookieName }),
    "kit-auth.json": await authDocumentOf(auth)(),
  };
  for (const [name, doc] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(doc, null, 2));
  const lint = spawnSync(
    join(root, "node_modules/.bin/redocly"),
    [
      "lint",
      // One line per problem: warnings are shown without burying the verdict.
      "--format",
      "stylish",
      "--max-problems",
      "1000",
      "--config",
      join(root, "redocly.yaml"),
      ...Object.keys(files).map((name) => join(dir, name)),
    ],
    { stdio: "inherit" },
  );
  process.exitCode = lint.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
  redis.disconnect();
  await pool.end();
}
