// `bun run kit backup --to DIR`: the database as pg_dump's custom format, every bucket's objects
// (streamed, one file each) and manifest.json with each file's size and SHA-256 (docs/operations.md).
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Config } from "../config";
import { createDatabase } from "../infra/db";
import type { Logger } from "../infra/log";
import { createStorage, isMissingObject, type Storage } from "../infra/storage";
import {
  BUCKET_ROLES,
  type BucketRole,
  DATABASE_FILE,
  type FileEntry,
  hashFile,
  MANIFEST_FILE,
  type Manifest,
  manifestFormat,
  migrationLevel,
  objectFile,
  requireEmptyDirectory,
} from "./backup-manifest";
import { BackupError, runPostgresTool, serverVersion, toolVersion } from "./postgres-tools";

/** Objects fetched (or sent) at once: enough to hide a round trip, few enough for any store. */
export const OBJECT_CONCURRENCY = 8;

export interface BackupSummary {
  manifest: Manifest;
  ms: number;
}

/** The object store of the configuration; S3_ENDPOINT must be set (no s3rver is started here). */
export function backupStorage(config: Config): Storage {
  const endpoint = config.s3.endpoint;
  if (!endpoint)
    throw new BackupError(
      "S3_ENDPOINT is not set: point it at the object store (bun run dev's s3rver is on port 9000)",
    );
  return createStorage({ ...config, s3: { ...config.s3, endpoint } });
}

export async function createBackup(deps: { config: Config; log: Logger }, directory: string): Promise<BackupSummary> {
  const started = performance.now();
  const storage = backupStorage(deps.config);
  await requireEmptyDirectory(directory);
  await mkdir(directory, { recursive: true });
  const database = await dumpDatabase(deps, join(directory, DATABASE_FILE));
  const files: FileEntry[] = [{ path: DATABASE_FILE, ...(await hashFile(join(directory, DATABASE_FILE))) }];
  // After the dump: an object uploaded since is an orphan the restored database does not name,
  // while every object the dump names is still here unless it was deleted in between.
  const buckets = {} as Manifest["buckets"];
  for (const role of BUCKET_ROLES) {
    const copied = await copyBucket(storage, role, directory);
    buckets[role] = { name: storage.buckets[role], objects: copied.length };
    files.push(...copied);
  }
  const manifest: Manifest = {
    format: manifestFormat,
    kitVersion: deps.config.version,
    createdAt: new Date().toISOString(),
    database,
    buckets,
    files,
  };
  // Written last and renamed into place: a folder with a manifest is a finished backup.
  const partial = join(directory, `${MANIFEST_FILE}.partial`);
  await writeFile(partial, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(partial, join(directory, MANIFEST_FILE));
  return { manifest, ms: Math.round(performance.now() - started) };
}

/**
 * pg_dump in custom format, from a snapshot this function exports: the migration level in the
 * manifest is read in that same snapshot, so it is the dump's level even if a migration runs meanwhile.
 */
async function dumpDatabase(deps: { config: Config; log: Logger }, path: string): Promise<Manifest["database"]> {
  const { pool } = createDatabase({ db: { url: deps.config.db.directUrl, poolMax: 1 } }, deps.log);
  const client = await pool.connect().catch((error: Error) => {
    throw new BackupError(`cannot connect to DATABASE_URL (${error.message}): check it and that PostgreSQL runs`);
  });
  try {
    const server = await serverVersion(client);
    const pgDump = await toolVersion("pg_dump", { major: server.major, why: "the database server" });
    await client.query("begin isolation level repeatable read read only");
    const { rows } = await client.query<{ snapshot: string }>("select pg_export_snapshot() as snapshot");
    const migrations = await migrationLevel((sql) => client.query(sql), deps.config.migrationsDir);
    await runPostgresTool("pg_dump", deps.config.db.directUrl, [
      "--format=custom",
      `--snapshot=${rows[0]?.snapshot}`,
      `--file=${path}`,
    ]);
    await client.query("commit");
    return {
      file: DATABASE_FILE,
      serverVersion: server.version,
      serverMajor: server.major,
      pgDumpVersion: pgDump.version,
      pgDumpMajor: pgDump.major,
      migrations,
    };
  } finally {
    client.release(true);
    await pool.end();
  }
}

/** Every object of one bucket, page by page, each streamed to its numbered file. */
async function copyBucket(storage: Storage, role: BucketRole, directory: string): Promise<FileEntry[]> {
  const bucket = storage.buckets[role];
  await mkdir(join(directory, "objects", role), { recursive: true });
  const entries: FileEntry[] = [];
  let listed = 0;
  let token: string | undefined;
  do {
    const page = await storage.client
      .send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }))
      .catch((error: Error) => {
        if (error.name === "NoSuchBucket") return { Contents: [], NextContinuationToken: undefined };
        throw new BackupError(`cannot list bucket ${bucket} (${error.name}): check S3_ENDPOINT and its credentials`);
      });
    const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
    const first = listed + 1;
    listed += keys.length;
    const copied = await mapLimited(keys, OBJECT_CONCURRENCY, (key, i) =>
      downloadObject(storage, role, key, directory, first + i),
    );
    // An object deleted between the listing and its download is simply not in the backup.
    entries.push(...copied.filter((entry): entry is FileEntry => entry !== null));
    token = page.NextContinuationToken;
  } while (token);
  return entries;
}

async function downloadObject(
  storage: Storage,
  role: BucketRole,
  key: string,
  directory: string,
  index: number,
): Promise<FileEntry | null> {
  const bucket = storage.buckets[role];
  const response = await storage.client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).catch((error) => {
    if (isMissingObject(error)) return null;
    throw error;
  });
  if (!response?.Body) return null;
  const body = response.Body;
  const source = body instanceof Readable ? body : Readable.fromWeb(body.transformToWebStream() as never);
  const hash = createHash("sha256");
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.byteLength;
      done(null, chunk);
    },
  });
  const path = objectFile(role, index);
  await pipeline(source, measure, createWriteStream(join(directory, path)));
  const metadata = response.Metadata && Object.keys(response.Metadata).length > 0 ? response.Metadata : undefined;
  return {
    path,
    size,
    sha256: hash.digest("hex"),
    object: { bucket: role, key, contentType: response.ContentType, metadata },
  };
}

/** `work` over `items`, at most `limit` at a time, results in the items' order. */
export async function mapLimited<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
