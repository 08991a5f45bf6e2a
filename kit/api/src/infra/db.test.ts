import { afterAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createEmptyDatabase, dropDatabase } from "../../test/databases";
import { loadConfig } from "../config";
import { createDatabase, migrateDatabase } from "./db";
import { createLogger } from "./log";

const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
const log = createLogger(config);
const created: string[] = [];
afterAll(async () => {
  for (const name of created) await dropDatabase(name);
});

async function freshDatabase() {
  const database = await createEmptyDatabase();
  created.push(database.name);
  return database;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const journalEntries = async () =>
  (JSON.parse(await readFile(join(config.migrationsDir, "meta/_journal.json"), "utf8")) as { entries: unknown[] })
    .entries.length;

describe("migrations", () => {
  test("two processes starting at once both succeed and apply each migration once; a rerun is a no-op", async () => {
    const { url } = await freshDatabase();
    const migrate = () =>
      Bun.spawn(["bun", join(import.meta.dir, "../migrate.ts")], {
        env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: url },
        stderr: "pipe",
      });
    const runs = [migrate(), migrate()];
    const codes = await Promise.all(runs.map((p) => p.exited));
    expect(codes).toEqual([0, 0]);

    const countApplied = async () =>
      Number((await query<{ n: string }>(url, "select count(*) as n from drizzle.__drizzle_migrations"))[0]?.n);
    expect(await countApplied()).toBe(await journalEntries());
    const extensions = await query<{ extname: string }>(url, "select extname from pg_extension");
    expect(extensions.map((e) => e.extname)).toEqual(expect.arrayContaining(["pg_trgm", "citext"]));

    expect(await migrate().exited).toBe(0);
    expect(await countApplied()).toBe(await journalEntries());
  });

  test("the advisory lock serialises concurrent migrators, even for migrations that are not idempotent", async () => {
    // A migration that fails if applied twice (CREATE TABLE without IF NOT EXISTS, one INSERT).
    const folder = await mkdtemp(join(tmpdir(), "kit-migrations-"));
    await mkdir(join(folder, "meta"));
    await writeFile(
      join(folder, "0000_race.sql"),
      "CREATE TABLE race (id int primary key);\n--> statement-breakpoint\nINSERT INTO race VALUES (1);",
    );
    await writeFile(
      join(folder, "meta/_journal.json"),
      JSON.stringify({
        version: "7",
        dialect: "postgresql",
        entries: [{ idx: 0, version: "7", when: 1, tag: "0000_race", breakpoints: true }],
      }),
    );
    const { url } = await freshDatabase();
    const pools = Array.from({ length: 4 }, () => createDatabase({ db: { ...config.db, url } }, log).pool);
    try {
      const results = await Promise.allSettled(pools.map((pool) => migrateDatabase(pool, folder, log)));
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
      expect(await query(url, "select * from race")).toEqual([{ id: 1 }]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
      await rm(folder, { recursive: true, force: true });
    }
  });
});
