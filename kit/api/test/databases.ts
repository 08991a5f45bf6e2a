// Test databases: one migrated template per migration set, cloned per test file in ~100 ms.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { loadConfig } from "../src/config";
import { createDatabase, migrateDatabase } from "../src/infra/db";
import { createLogger } from "../src/infra/log";

const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
const server = new URL(config.db.url);
const TEMPLATE_LOCK_KEY = 7_352_915_002;

function databaseUrl(name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl("postgres") });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function migrationsHash(): Promise<string> {
  const hash = createHash("sha256");
  const files = (await readdir(config.migrationsDir, { recursive: true }))
    .filter((f) => /\.(sql|json)$/.test(f))
    .sort();
  for (const file of files) hash.update(file).update(await readFile(join(config.migrationsDir, file)));
  return hash.digest("hex").slice(0, 12);
}

/**
 * Returns the name of a template database holding every migration. Built once per migration set
 * and reused across runs; parallel test workers wait on an advisory lock while one builds it.
 */
export async function ensureTemplateDatabase(): Promise<string> {
  const name = `kit_tpl_${await migrationsHash()}`;
  return withAdmin(async (admin) => {
    await admin.query("select pg_advisory_lock($1)", [TEMPLATE_LOCK_KEY]);
    try {
      const { rows } = await admin.query<{ datistemplate: boolean }>(
        "select datistemplate from pg_database where datname = $1",
        [name],
      );
      if (rows[0]?.datistemplate) return name;
      // A half-built template (a crash mid-migration) is rebuilt from scratch.
      if (rows[0]) await admin.query(`drop database "${name}" with (force)`);
      await admin.query(`create database "${name}"`);
      const { pool } = createDatabase({ db: { ...config.db, url: databaseUrl(name) } }, createLogger(config));
      try {
        await migrateDatabase(pool, config.migrationsDir, createLogger(config));
      } finally {
        await pool.end();
      }
      // Marks the template complete; also refuses ordinary connections from lingering in it.
      await admin.query(`alter database "${name}" is_template true`);
      // Its build time: another checkout's template (other migrations) is left alone while recent.
      await admin.query(`comment on database "${name}" is 'built ${Date.now()}'`);
      await dropStaleDatabases(admin, name);
      return name;
    } finally {
      await admin.query("select pg_advisory_unlock($1)", [TEMPLATE_LOCK_KEY]);
    }
  });
}

/** Old templates, and test databases left behind by killed runs (named with their creation time). */
async function dropStaleDatabases(admin: pg.Client, keepTemplate: string): Promise<void> {
  const { rows } = await admin.query<{ datname: string; note: string | null }>(
    `select datname, shobj_description(oid, 'pg_database') as note from pg_database
      where datname like 'kit\\_tpl\\_%' or datname like 'kit\\_t\\_%'`,
  );
  const cutoff = Date.now() - 6 * 60 * 60 * 1000;
  for (const { datname, note } of rows) {
    const createdAt = Number((datname.match(/^kit_t_(\d+)_/) ?? note?.match(/^built (\d+)$/))?.[1] ?? 0);
    const stale = datname === keepTemplate ? false : createdAt < cutoff;
    if (!stale) continue;
    await admin.query(`alter database "${datname}" is_template false`);
    await admin.query(`drop database if exists "${datname}" with (force)`);
  }
}

/** A fresh database cloned from the template; returns its URL. */
export async function createTestDatabase(template: string): Promise<{ name: string; url: string }> {
  const name = `kit_t_${Date.now()}_${Math.random().toString(36).slice(2, 10)}`;
  await withAdmin((admin) => admin.query(`create database "${name}" template "${template}"`));
  return { name, url: databaseUrl(name) };
}

/** A fresh, empty database (for migration tests). */
export async function createEmptyDatabase(): Promise<{ name: string; url: string }> {
  const name = `kit_t_${Date.now()}_${Math.random().toString(36).slice(2, 10)}`;
  await withAdmin((admin) => admin.query(`create database "${name}"`));
  return { name, url: databaseUrl(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`drop database if exists "${name}" with (force)`));
}
