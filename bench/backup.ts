// Backup and restore time (issue 19, the RTO in docs/operations.md): a Kit database (the migrated
// schema) with a filler table of N MB of random rows (uuid key, text, jsonb, a timestamp index),
// M objects of 512 KiB in kyc-documents on an s3rver; `createBackup`, then `restoreBackup` into an
// empty database and a second s3rver, as `bun run kit backup` / `restore` run them. Reported: the
// sizes, each phase's wall time and the restore's seconds per GB.
//
//   bun bench/backup.ts [--database-mb 100] [--objects 200]
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../kit/api/src/config";
import { startLocalS3 } from "../kit/api/src/dev/s3";
import { createDatabase } from "../kit/api/src/infra/db";
import { createLogger, type Logger } from "../kit/api/src/infra/log";
import { createStorage, ensureBuckets, presignPut } from "../kit/api/src/infra/storage";
import { createBackup, mapLimited } from "../kit/api/src/ops/backup";
import { restoreBackup } from "../kit/api/src/ops/restore";
import {
  createEmptyDatabase,
  createTestDatabase,
  dropDatabase,
  ensureTemplateDatabase,
} from "../kit/api/test/databases";
import { machineInfo, note, print, printSummary, runBench, table, today } from "./lib/report";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { "database-mb": { type: "string" }, objects: { type: "string" } },
});
const databaseMb = Number(values["database-mb"] ?? 100);
const objectCount = Number(values.objects ?? 200);
const OBJECT_BYTES = 512 * 1024;

const machine = machineInfo();
const work = await mkdtemp(join(tmpdir(), "kit-bench-backup-"));
const source = await createTestDatabase(await ensureTemplateDatabase());
const fresh = await createEmptyDatabase();
const stores = [
  await startLocalS3({ directory: await mkdtemp(join(work, "s3-")) }),
  await startLocalS3({ directory: await mkdtemp(join(work, "s3-")) }),
];
const cleanUp = async () => {
  for (const store of stores) await store.stop();
  await dropDatabase(source.name);
  await dropDatabase(fresh.name);
  await rm(work, { recursive: true, force: true });
};

async function fill(url: string, log: Logger): Promise<string> {
  const { pool: client } = createDatabase({ db: { url, poolMax: 1 } }, log);
  try {
    await client.query(
      "create table bench_filler (id uuid primary key default gen_random_uuid(), note text, data jsonb, at timestamptz default now())",
    );
    await client.query("create index bench_filler_at_idx on bench_filler (at)");
    // ~1 KiB a row, random hex (a correlated subquery, so each row draws its own): no flattering compression.
    await client.query(
      `insert into bench_filler (note, data)
       select (select string_agg(md5(random()::text || i || g), '') from generate_series(1, 20) i),
              jsonb_build_object('k', (select string_agg(md5(random()::text || i || g), '') from generate_series(1, 8) i))
         from generate_series(1, $1) g`,
      [databaseMb * 1024],
    );
    const { rows } = await client.query<{ size: string }>("select pg_database_size(current_database())::text as size");
    return rows[0]?.size ?? "0";
  } finally {
    await client.end();
  }
}

/** Through a presigned PUT, as a browser uploads (the bench imports no S3 client of its own). */
async function putObject(
  storage: ReturnType<typeof createStorage>,
  key: string,
  body: Buffer<ArrayBuffer>,
): Promise<void> {
  const sha256 = createHash("sha256").update(body).digest("hex");
  const object = {
    bucket: storage.buckets.kycDocuments,
    key,
    contentType: "application/pdf",
    size: body.length,
    sha256,
  };
  const { uploadUrl, headers } = await presignPut(storage, object, 600);
  const response = await fetch(uploadUrl, { method: "PUT", headers, body });
  if (!response.ok) throw new Error(`PUT ${key}: ${response.status}`);
}

async function main(): Promise<void> {
  const env = { NODE_ENV: "test", LOG_LEVEL: "silent" };
  const [from, to] = stores.map((store, i) =>
    loadConfig({ ...env, DATABASE_URL: i === 0 ? source.url : fresh.url, S3_ENDPOINT: store.endpoint }),
  );
  if (!from || !to || !stores[0]) throw new Error("no stores");
  const log = createLogger(from);
  note(`filling ${databaseMb} MB of rows and ${objectCount} objects`);
  const databaseBytes = Number(await fill(source.url, log));
  const storage = createStorage({ ...from, s3: { ...from.s3, endpoint: stores[0].endpoint } });
  await ensureBuckets(storage, log);
  const body = randomBytes(OBJECT_BYTES);
  await mapLimited(
    Array.from({ length: objectCount }, (_, i) => i),
    8,
    (i) => putObject(storage, `app-${i}/passport/doc`, body),
  );
  note("backing up");
  const backup = await createBackup({ config: from, log }, join(work, "backup"));
  note("restoring");
  const restore = await restoreBackup({ config: to, log }, join(work, "backup"));
  const dumpBytes = backup.manifest.files[0]?.size ?? 0;
  const gb = (databaseBytes + objectCount * OBJECT_BYTES) / 1e9;
  const figures = {
    databaseMB: Math.round(databaseBytes / 1e6),
    dumpMB: Math.round(dumpBytes / 1e6),
    objects: objectCount,
    objectsMB: Math.round((objectCount * OBJECT_BYTES) / 1e6),
    backupMs: backup.ms,
    restoreMs: restore.ms,
    restoreSecondsPerGB: Math.round(restore.ms / 1000 / gb),
  };
  print(`# backup and restore, ${today()}, ${machine.cpus} × ${machine.cpuModel}`);
  print(
    table(
      ["database", "dump", "objects", "backup", "restore", "restore per GB"],
      [
        [
          `${figures.databaseMB} MB`,
          `${figures.dumpMB} MB`,
          `${objectCount} × 512 KiB`,
          `${(backup.ms / 1000).toFixed(1)} s`,
          `${(restore.ms / 1000).toFixed(1)} s`,
          `${figures.restoreSecondsPerGB} s`,
        ],
      ],
    ),
  );
  printSummary("backup", machine, figures);
  await cleanUp();
}

runBench("backup", main, { interrupt: () => {}, cleanUp });
