// The backup round trip: data in every domain, `kit backup`, `kit restore` into a fresh database and
// fresh buckets on another store, then every table and every object compared. And the refusals.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomUUID } from "node:crypto";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { eq } from "drizzle-orm";
import pg from "pg";
import { createEmptyDatabase, dropDatabase } from "../../test/databases";
import { createTestKit } from "../../test/kit";
import { createApplicant, createSubmittedApplication } from "../../test/kyc";
import { insertBalances, insertToken, randomAddress } from "../../test/tokens";
import { createUser } from "../../test/users";
import { loadConfig, requireResolved } from "../config";
import { startLocalS3 } from "../dev/s3";
import { recordAudit } from "../domains/audit/record";
import { verifyAuditChain } from "../domains/audit/verify";
import { fxRates } from "../domains/exchange-rates/schema";
import { destroyApplicationDataKey } from "../domains/kyc/data-keys";
import { readDocumentBytes } from "../domains/kyc/document-seal";
import { kycApplications, kycDocuments } from "../domains/kyc/schema";
import { operationBatches } from "../domains/operation-batches/schema";
import { tokenGrants } from "../domains/operations/schema";
import { updateSystemSettings, updateUserSettings } from "../domains/settings/service";
import { webhookEndpoints } from "../domains/webhooks/schema";
import { createDatabase } from "../infra/db";
import { createStorage, type Storage } from "../infra/storage";
import { readVerifiedManifest } from "./backup-manifest";

setDefaultTimeout(60_000);

const kit = await createTestKit();
const work = await mkdtemp(join(tmpdir(), "kit-backup-"));
const targetDir = await mkdtemp(join(tmpdir(), "kit-s3-restored-"));
const target = await startLocalS3({ directory: targetDir });
const databases: string[] = [];
afterAll(async () => {
  await target.stop();
  for (const name of databases) await dropDatabase(name);
  await rm(work, { recursive: true, force: true });
  await rm(targetDir, { recursive: true, force: true });
});

/** The CLI in a child process; not spawnSync, as the kit's s3rver answers from this process's event loop. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const started = performance.now();
  const child = Bun.spawn(["bun", join(import.meta.dir, "..", "cli.ts"), ...args], {
    env: { PATH: process.env.PATH ?? "", ...kit.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [exitCode, out, err] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { exitCode, out, err, ms: Math.round(performance.now() - started) };
}

async function emptyDatabase(): Promise<{ name: string; url: string }> {
  const database = await createEmptyDatabase();
  databases.push(database.name);
  return database;
}

/** Rows per table, each table's rows hashed in primary-key order, and each sequence's position. */
async function databaseContents(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string; oid: number }>(
      `select format('%I.%I', n.nspname, c.relname) as name, c.oid::int as oid
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
          and n.nspname not like 'pg\\_%' order by 1`,
    );
    const contents: Record<string, string> = {};
    for (const { name, oid } of tables) {
      const { rows: keys } = await client.query<{ column: string }>(
        `select format('%I', a.attname) as column from pg_index i
           join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
          where i.indrelid = $1 and i.indisprimary order by array_position(i.indkey, a.attnum)`,
        [oid],
      );
      const order = keys.length > 0 ? keys.map((key) => `t.${key.column}`).join(", ") : "t::text";
      const { rows } = await client.query<{ count: number; hash: string }>(
        `select count(*)::int as count, md5(coalesce(string_agg(t::text, E'\\n' order by ${order}), '')) as hash from ${name} t`,
      );
      contents[name] = `${rows[0]?.count} rows ${rows[0]?.hash}`;
    }
    const { rows: sequences } = await client.query<{ name: string; last: string | null }>(
      "select schemaname || '.' || sequencename as name, last_value::text as last from pg_sequences",
    );
    for (const sequence of sequences) contents[`sequence ${sequence.name}`] = String(sequence.last);
    return contents;
  } finally {
    await client.end();
  }
}

/** Every object by bucket role: key, content type and the bytes' SHA-256. */
async function storeContents(storage: Storage): Promise<Record<string, string>> {
  const contents: Record<string, string> = {};
  for (const [role, bucket] of Object.entries(storage.buckets)) {
    const listed = await storage.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const { Key } of listed.Contents ?? []) {
      const object = await storage.client.send(new GetObjectCommand({ Bucket: bucket, Key }));
      const bytes = await object.Body?.transformToByteArray();
      contents[`${role}/${Key}`] = `${object.ContentType} ${createHash("sha256")
        .update(bytes ?? new Uint8Array())
        .digest("hex")}`;
    }
  }
  return contents;
}

/** Something in every domain that has tables, and objects in every bucket. */
async function makeData(): Promise<void> {
  const { db, storage } = kit.deps;
  const admin = await createUser(kit, "admin");
  const investor = await createUser(kit, "investor");
  await createSubmittedApplication(kit, await createApplicant(kit));
  await updateUserSettings(kit.deps, investor.id, { theme: "dark" });
  await updateSystemSettings(kit.deps, { userId: admin.id }, { kycValidityDays: 400 });
  await recordAudit(
    db,
    { userId: admin.id },
    { action: "user.role_changed", subject: { type: "user", id: investor.id } },
  );
  await db.insert(fxRates).values({
    base: "EUR",
    quote: "USD",
    provider: "manual",
    rate: "1.0842",
    effectiveAt: new Date(),
    fetchedAt: new Date(),
    setBy: admin.id,
  });
  const token = await insertToken(kit);
  await insertBalances(kit, token, { [randomAddress()]: "1000" });
  await db
    .insert(tokenGrants)
    .values({ chainId: kit.config.chain.id, token, userId: investor.id, grantedBy: admin.id });
  const batchFile = `batches/${randomUUID()}.csv`;
  const csv = "wallet,amount\n0x0000000000000000000000000000000000000001,5\n";
  await db.insert(operationBatches).values({
    chainId: kit.config.chain.id,
    token,
    kind: "mint",
    createdBy: investor.id,
    fileKey: batchFile,
    size: csv.length,
    sha256: createHash("sha256").update(csv).digest("hex"),
  });
  await db.insert(webhookEndpoints).values({
    ownerId: investor.id,
    url: "https://hooks.example.com/kit",
    eventTypes: ["kyc.approved"],
    secretCiphertext: Buffer.from("sealed secret"),
    secretKeyId: "k1",
  });
  const put = (Bucket: string, Key: string, Body: string | Uint8Array, ContentType: string) =>
    storage.client.send(new PutObjectCommand({ Bucket, Key, Body, ContentType }));
  await put(
    storage.buckets.tokenMetadata,
    `${token}/logo.png`,
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]),
    "image/png",
  );
  await put(storage.buckets.tokenMetadata, `${token}/metadata.json`, '{"name":"Test Bond"}', "application/json");
  await put(storage.buckets.userUploads, batchFile, csv, "text/csv");
}

test("a backup restored into a fresh database and fresh buckets holds every row and every object", async () => {
  await makeData();
  const source = await databaseContents(kit.config.db.url);
  // The check would see a domain left out: every domain's tables hold rows here.
  const empty = Object.entries(source).filter(
    ([name, value]) => !name.startsWith("sequence") && value.startsWith("0 "),
  );
  for (const table of ["user", "kyc_documents", "system_settings", "user_settings", "audit_events", "fx_rates"])
    expect(empty.map(([name]) => name)).not.toContain(`public.${table}`);
  for (const table of ["tokens", "token_grants", "operation_batches", "webhook_endpoints"])
    expect(empty.map(([name]) => name)).not.toContain(`public.${table}`);
  const sourceObjects = await storeContents(kit.deps.storage);
  expect(Object.keys(sourceObjects).filter((key) => key.startsWith("kycDocuments/")).length).toBe(2);

  const directory = join(work, "nightly");
  const backup = await cli(["backup", "--to", directory]);
  expect(backup.exitCode, backup.err).toBe(0);
  expect(backup.out).toContain("backed up the database (migration 00");
  const manifest = await readVerifiedManifest(directory);
  expect(manifest.kitVersion).toBe(kit.config.version);
  expect(manifest.database.migrations.latest).toMatch(/^\d{4}_/);
  expect(manifest.files.filter((file) => file.object).length).toBe(Object.keys(sourceObjects).length);

  const fresh = await emptyDatabase();
  const restoredEnv = {
    DATABASE_URL: fresh.url,
    S3_ENDPOINT: target.endpoint,
    S3_BUCKET_KYC_DOCUMENTS: "restored-kyc-documents",
    S3_BUCKET_TOKEN_METADATA: "restored-token-metadata",
    S3_BUCKET_USER_UPLOADS: "restored-user-uploads",
  };
  const restore = await cli(["restore", "--from", directory], restoredEnv);
  expect(restore.exitCode, restore.err).toBe(0);
  expect(restore.out).toContain(`restored the backup of ${manifest.createdAt}`);

  expect(await databaseContents(fresh.url)).toEqual(source);
  const restoredConfig = requireResolved(loadConfig({ ...kit.env, ...restoredEnv }));
  expect(await storeContents(createStorage(restoredConfig))).toEqual(sourceObjects);
  // The restored audit trail still verifies: its hash chain came across unchanged.
  const { pool, db } = createDatabase(restoredConfig, kit.deps.log);
  try {
    const chain = await verifyAuditChain(db);
    expect(chain.broken).toBeNull();
    expect(chain.rows).toBeGreaterThan(0);
  } finally {
    await pool.end();
  }

  // Never over existing data: a database with tables, then buckets with objects.
  const intoSource = await cli(["restore", "--from", directory]);
  expect(intoSource.exitCode).toBe(1);
  expect(intoSource.err).toContain("the database of DATABASE_URL is not empty");
  expect(intoSource.err).toContain("restore never overwrites");
  const another = await emptyDatabase();
  const intoFullBuckets = await cli(["restore", "--from", directory], { ...restoredEnv, DATABASE_URL: another.url });
  expect(intoFullBuckets.exitCode).toBe(1);
  expect(intoFullBuckets.err).toContain("bucket restored-kyc-documents (S3_BUCKET_KYC_DOCUMENTS) holds objects");
  expect(await databaseContents(another.url)).toEqual({});

  // A backup into a folder that holds something is refused too.
  const overwrite = await cli(["backup", "--to", directory]);
  expect(overwrite.exitCode).toBe(1);
  expect(overwrite.err).toContain("is not empty: a backup never overwrites");
});

test("a backup with one byte changed, a file added or no manifest is refused, naming the file", async () => {
  const directory = join(work, "to-tamper");
  expect((await cli(["backup", "--to", directory])).exitCode).toBe(0);
  const manifest = await readVerifiedManifest(directory);
  const fresh = await emptyDatabase();
  const env = { DATABASE_URL: fresh.url, S3_ENDPOINT: target.endpoint, S3_BUCKET_KYC_DOCUMENTS: "tampered-kyc" };

  for (const file of [manifest.files[0], manifest.files.find((entry) => entry.object?.bucket === "kycDocuments")]) {
    const copy = join(work, `tampered-${randomUUID()}`);
    await cp(directory, copy, { recursive: true });
    const path = join(copy, file?.path ?? "");
    const bytes = await readFile(path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
    await writeFile(path, bytes);
    const refused = await cli(["restore", "--from", copy], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.err).toContain(`${path} does not match the manifest`);
  }

  // A backup from a Kit with a migration this one does not have.
  const newer = join(work, "newer");
  await cp(directory, newer, { recursive: true });
  const future = { ...manifest.database.migrations, latestAt: manifest.database.migrations.latestAt + 1, latest: null };
  await writeFile(
    join(newer, "manifest.json"),
    JSON.stringify({ ...manifest, database: { ...manifest.database, migrations: future } }),
  );
  const fromNewer = await cli(["restore", "--from", newer], env);
  expect(fromNewer.exitCode).toBe(1);
  expect(fromNewer.err).toContain(`than this Kit knows`);
  expect(fromNewer.err).toContain(`restore with Kit ${manifest.kitVersion}, which made it`);

  const added = join(work, "added");
  await cp(directory, added, { recursive: true });
  await writeFile(join(added, "objects", "userUploads", "999"), "smuggled");
  await expect(readVerifiedManifest(added)).rejects.toThrow(
    `${join(added, "objects/userUploads/999")} is not in the manifest`,
  );
  await rm(join(added, "manifest.json"));
  await expect(readVerifiedManifest(added)).rejects.toThrow("is not a finished backup");
  // Nothing was restored by any of them.
  expect(await databaseContents(fresh.url)).toEqual({});
});

test("a pg_dump missing from PATH, or older than the server, is refused with what to install", async () => {
  const bin = await mkdtemp(join(work, "bin-"));
  await symlink(process.execPath, join(bin, "bun"));
  const missing = await cli(["backup", "--to", join(work, "no-pg-dump")], { PATH: bin });
  expect(missing.exitCode).toBe(1);
  expect(missing.err).toContain("pg_dump was not found on PATH: install the PostgreSQL");
  await writeFile(join(bin, "pg_dump"), "#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.22'\n", { mode: 0o755 });
  const old = await cli(["backup", "--to", join(work, "old-pg-dump")], { PATH: bin });
  expect(old.exitCode).toBe(1);
  expect(old.err).toMatch(/pg_dump on PATH is version 12\.22, older than the database server \(\d+\): install/);
});

test("an erasure after the backup: restore --erasures destroys that data key again, so the restored documents stay unreadable", async () => {
  const erasedApp = await createSubmittedApplication(kit, await createApplicant(kit));
  const kept = await createSubmittedApplication(kit, await createApplicant(kit));
  const directory = join(work, "before-erasure");
  expect((await cli(["backup", "--to", directory])).exitCode).toBe(0);
  // The erasure comes after the backup, which still holds the wrapped key.
  await kit.deps.db.transaction((tx) => destroyApplicationDataKey(tx, erasedApp.id));
  const ledger = join(work, `erasures-${randomUUID()}.json`);
  const exported = await cli(["kyc:erasures", "--out", ledger]);
  expect(exported.exitCode, exported.err).toBe(0);
  expect((await cli(["kyc:erasures", "--out", ledger])).err).toContain("never overwritten");

  const restoreInto = async (suffix: string, extra: string[]) => {
    const fresh = await emptyDatabase();
    const env = {
      DATABASE_URL: fresh.url,
      S3_ENDPOINT: target.endpoint,
      S3_BUCKET_KYC_DOCUMENTS: `erasure-${suffix}-kyc`,
      S3_BUCKET_TOKEN_METADATA: `erasure-${suffix}-metadata`,
      S3_BUCKET_USER_UPLOADS: `erasure-${suffix}-uploads`,
    };
    const restored = await cli(["restore", "--from", directory, ...extra], env);
    expect(restored.exitCode, restored.err).toBe(0);
    const config = requireResolved(loadConfig({ ...kit.env, ...env }));
    const { pool, db } = createDatabase(config, kit.deps.log);
    const deps = { db, storage: createStorage(config), local: kit.deps.local };
    const read = async (app: typeof kept) => {
      const [document] = await db
        .select()
        .from(kycDocuments)
        .where(eq(kycDocuments.id, app.documents[0]?.id ?? ""));
      if (!document) throw new Error("document not restored");
      return readDocumentBytes(deps, document).then(
        (bytes) => bytes.equals(Buffer.from(app.bytes.get(document.id) ?? [])),
        (error: Error) => error.name,
      );
    };
    const namesOf = async (app: typeof kept) =>
      (
        await db
          .select({ firstName: kycApplications.firstName, lastName: kycApplications.lastName })
          .from(kycApplications)
          .where(eq(kycApplications.id, app.id))
      )[0];
    try {
      return {
        out: restored.out,
        erased: await read(erasedApp),
        kept: await read(kept),
        erasedNames: await namesOf(erasedApp),
        keptNames: await namesOf(kept),
      };
    } finally {
      await pool.end();
    }
  };
  // Without the ledger the backup resurrects the key: exactly what the ledger is for.
  const plain = await restoreInto("plain", []);
  expect(plain).toMatchObject({ erased: true, kept: true });
  expect(plain.erasedNames?.lastName).toBeTruthy();
  const withLedger = await restoreInto("ledger", ["--erasures", ledger]);
  expect(withLedger).toMatchObject({ erased: "KycDataErasedError", kept: true });
  // The columns kept in clear (names, for the reviewers' search) are erased again too, not only the key.
  expect(withLedger.erasedNames).toEqual({ firstName: null, lastName: null });
  expect(withLedger.keptNames?.lastName).toBeTruthy();
  expect(withLedger.out).toMatch(
    /erasure ledger of .*: 1 data keys destroyed again, 0 already destroyed, \d+ applications not in this database/,
  );
});
