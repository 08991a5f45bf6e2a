// Migration 0020 on rows saved before it: the old `kyc_status` e-mail switch becomes each KYC
// event's, and what has no counterpart in the catalogue (push, token transfers, FX alerts, the one
// webhook URL) goes. Applied to a database migrated up to the migration before it.
import { afterAll, expect, test } from "bun:test";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEmptyDatabase, dropDatabase } from "../../../test/databases";
import { loadConfig } from "../../config";
import { createDatabase, migrateDatabase } from "../../infra/db";
import { createLogger } from "../../infra/log";

const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
const log = createLogger(config);
const database = await createEmptyDatabase();
const before = await mkdtemp(join(tmpdir(), "kit-migrations-"));
afterAll(async () => {
  await dropDatabase(database.name);
  await rm(before, { recursive: true, force: true });
});

const MIGRATION = "0020_notifications";

test("0020 maps the kyc_status e-mail switch to every KYC event and drops what has no counterpart", async () => {
  // The migrations before this one, as a folder of their own.
  await cp(config.migrationsDir, before, { recursive: true });
  const journalPath = join(before, "meta/_journal.json");
  const journal = JSON.parse(await readFile(journalPath, "utf8")) as { entries: { tag: string }[] };
  journal.entries = journal.entries.slice(
    0,
    journal.entries.findIndex((entry) => entry.tag === MIGRATION),
  );
  await writeFile(journalPath, JSON.stringify(journal));

  const { pool } = createDatabase({ ...config, db: { ...config.db, url: database.url } }, log);
  try {
    await migrateDatabase(pool, before, log);
    await pool.query(`insert into "user" (id, name, email, role, created_at, updated_at) values
      ('u1', 'One', 'one@example.com', 'investor', now(), now()),
      ('u2', 'Two', 'two@example.com', 'investor', now(), now())`);
    await pool.query(`insert into notification_settings (user_id, event_type, channel, enabled, webhook_url, updated_at) values
      ('u1', 'kyc_status', 'email', false, null, '2026-01-01T00:00:00Z'),
      ('u1', 'kyc_status', 'push', true, null, now()),
      ('u1', 'kyc_status', 'webhook', true, 'https://hooks.example.com/kit', now()),
      ('u1', 'fx_alert', 'email', true, null, now()),
      ('u2', 'token_transfer', 'email', true, null, now())`);

    await migrateDatabase(pool, config.migrationsDir, log);

    const { rows } = await pool.query<{ user_id: string; event_type: string; channel: string; enabled: boolean }>(
      "select user_id, event_type, channel, enabled from notification_settings order by user_id, event_type",
    );
    const kycEvents = [
      "kyc.approval_expiring",
      "kyc.approved",
      "kyc.changes_requested",
      "kyc.rejected",
      "kyc.revoked",
      "kyc.submitted",
    ];
    expect(rows).toEqual(
      kycEvents.map((event_type) => ({ user_id: "u1", event_type, channel: "email", enabled: false })),
    );
    const columns = await pool.query<{ column_name: string }>(
      "select column_name from information_schema.columns where table_name = 'notification_settings'",
    );
    expect(columns.rows.map((c) => c.column_name)).not.toContain("webhook_url");
    // The new rules hold: an old event name is refused now.
    await expect(
      pool.query(`insert into notification_settings (user_id, event_type, channel, enabled, updated_at)
        values ('u2', 'kyc_status', 'email', true, now())`),
    ).rejects.toThrow(/notification_settings_event_check/);
  } finally {
    await pool.end();
  }
});
