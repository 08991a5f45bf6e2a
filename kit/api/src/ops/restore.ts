// `bun run kit restore --from DIR`: a backup of ./backup.ts into an empty database and empty
// buckets, after every file's checksum is verified. Nothing existing is ever overwritten.
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3ServiceException } from "@aws-sdk/client-s3";
import type pg from "pg";
import type { Config } from "../config";
import { createDatabase } from "../infra/db";
import type { Logger } from "../infra/log";
import { ensureBuckets, type Storage } from "../infra/storage";
import { backupStorage, mapLimited, OBJECT_CONCURRENCY } from "./backup";
import { BUCKET_ROLES, DATABASE_FILE, type Manifest, readJournal, readVerifiedManifest } from "./backup-manifest";
import { BackupError, runPostgresTool, serverVersion, toolVersion } from "./postgres-tools";

export interface RestoreSummary {
  manifest: Manifest;
  objects: number;
  ms: number;
}

/** Environment variable naming each bucket, for messages. */
const BUCKET_VARIABLES = {
  kycDocuments: "S3_BUCKET_KYC_DOCUMENTS",
  tokenMetadata: "S3_BUCKET_TOKEN_METADATA",
  userUploads: "S3_BUCKET_USER_UPLOADS",
} as const;

export async function restoreBackup(deps: { config: Config; log: Logger }, directory: string): Promise<RestoreSummary> {
  const started = performance.now();
  const manifest = await readVerifiedManifest(directory);
  const storage = backupStorage(deps.config);
  await requireKnownMigrations(manifest, deps.config.migrationsDir);
  const { pool } = createDatabase({ db: { url: deps.config.db.directUrl, poolMax: 1 } }, deps.log);
  try {
    const server = await serverVersion(pool).catch((error: Error) => {
      throw new BackupError(
        `cannot connect to DATABASE_URL (${error.message}): create an empty database (createdb <name>) and point DATABASE_URL at it`,
      );
    });
    if (server.major < manifest.database.serverMajor)
      throw new BackupError(
        `the backup comes from PostgreSQL ${manifest.database.serverVersion} and DATABASE_URL's server is ${server.version}: restore into PostgreSQL ${manifest.database.serverMajor} or newer`,
      );
    await toolVersion("pg_restore", {
      major: Math.max(manifest.database.pgDumpMajor, server.major),
      why: "the pg_dump that made the backup or the database server",
    });
    await requireEmptyDatabase(pool);
  } finally {
    await pool.end();
  }
  await requireEmptyBuckets(storage);

  // One transaction: a restore that fails leaves the database as empty as it found it.
  await runPostgresTool("pg_restore", deps.config.db.directUrl, [
    "--no-owner",
    "--no-privileges",
    "--exit-on-error",
    "--single-transaction",
    join(directory, DATABASE_FILE),
  ]);
  await ensureBuckets(storage, deps.log);
  const objects = manifest.files.filter((file) => file.object);
  let sent = 0;
  await mapLimited(objects, OBJECT_CONCURRENCY, async (file) => {
    const object = file.object;
    if (!object) return;
    await storage.client
      .send(
        new PutObjectCommand({
          Bucket: storage.buckets[object.bucket],
          Key: object.key,
          Body: createReadStream(join(directory, file.path)),
          ContentLength: file.size,
          ContentType: object.contentType,
          Metadata: object.metadata,
          // A store that checks checksums (S3, MinIO) refuses bytes other than the verified ones.
          ChecksumSHA256: Buffer.from(file.sha256, "hex").toString("base64"),
        }),
      )
      .catch((error: Error) => {
        throw new BackupError(
          `the database is restored and ${sent} of ${objects.length} objects; sending ${file.path} to bucket ${storage.buckets[object.bucket]} failed (${error.name}: ${error.message}). Empty the database and the buckets, then run restore again`,
        );
      });
    sent++;
  });
  return { manifest, objects: sent, ms: Math.round(performance.now() - started) };
}

/** A backup made at a migration this Kit does not have would be run by code that does not know its tables. */
async function requireKnownMigrations(manifest: Manifest, migrationsDir: string): Promise<void> {
  const journal = await readJournal(migrationsDir);
  const newest = journal.at(-1);
  const level = manifest.database.migrations;
  if (newest && level.latestAt > newest.when)
    throw new BackupError(
      `the backup's database is at a newer migration (${level.applied} applied) than this Kit knows (${newest.tag}): restore with Kit ${manifest.kitVersion}, which made it`,
    );
}

async function requireEmptyDatabase(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ name: string; total: number }>(
    `select n.nspname || '.' || c.relname as name, count(*) over ()::int as total
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      order by 1 limit 3`,
  );
  if (rows.length > 0)
    throw new BackupError(
      `the database of DATABASE_URL is not empty (${rows[0]?.total} tables, views or sequences, e.g. ${rows.map((row) => row.name).join(", ")}): restore never overwrites; create an empty database (createdb <name>), point DATABASE_URL at it and run restore again`,
    );
}

async function requireEmptyBuckets(storage: Storage): Promise<void> {
  for (const role of BUCKET_ROLES) {
    const bucket = storage.buckets[role];
    const exists = await storage.client.send(new HeadBucketCommand({ Bucket: bucket })).then(
      () => true,
      (error) => {
        if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return false;
        throw new BackupError(
          `cannot reach bucket ${bucket} (${(error as Error).name}): check S3_ENDPOINT and its credentials`,
        );
      },
    );
    if (!exists) continue;
    // One page at most; no MaxKeys, as s3rver (development) fails a listing it has to truncate.
    const { KeyCount } = await storage.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    if ((KeyCount ?? 0) > 0)
      throw new BackupError(
        `bucket ${bucket} (${BUCKET_VARIABLES[role]}) holds objects: restore never overwrites; name an empty or new bucket in ${BUCKET_VARIABLES[role]}, or empty this one, and run restore again`,
      );
  }
}
