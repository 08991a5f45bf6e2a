// A backup folder's manifest.json: what each file is, its size and SHA-256, the migration level of
// the database and who made it. Written last, so a folder without one is a backup that did not finish.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { z } from "zod";
import { BackupError } from "./postgres-tools";

export const MANIFEST_FILE = "manifest.json";
export const DATABASE_FILE = "database.dump";
const FORMAT = "kit-backup/1";

/** The buckets by their role (config's names), not by their names, which a restore may change. */
export const BUCKET_ROLES = ["kycDocuments", "tokenMetadata", "userUploads"] as const;
export type BucketRole = (typeof BUCKET_ROLES)[number];

/** An object's file: numbered, so no key (any bytes a client chose) ever becomes a path. */
export const objectFile = (role: BucketRole, index: number) => `objects/${role}/${index}`;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const fileEntry = z.object({
  // Only the paths a backup writes: a manifest cannot send a restore outside its folder.
  path: z
    .string()
    .regex(new RegExp(`^(${DATABASE_FILE.replace(".", "\\.")}|objects/(${BUCKET_ROLES.join("|")})/\\d+)$`)),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  object: z
    .object({
      bucket: z.enum(BUCKET_ROLES),
      key: z.string().min(1),
      contentType: z.string().optional(),
      metadata: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});
export type FileEntry = z.infer<typeof fileEntry>;

const manifestSchema = z.object({
  format: z.literal(FORMAT),
  kitVersion: z.string(),
  createdAt: z.iso.datetime(),
  database: z.object({
    file: z.literal(DATABASE_FILE),
    serverVersion: z.string(),
    serverMajor: z.number().int(),
    pgDumpVersion: z.string(),
    pgDumpMajor: z.number().int(),
    migrations: z.object({ applied: z.number().int(), latest: z.string().nullable(), latestAt: z.number() }),
  }),
  buckets: z.record(z.enum(BUCKET_ROLES), z.object({ name: z.string(), objects: z.number().int() })),
  files: z.array(fileEntry),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const manifestFormat = FORMAT;

/** Size and SHA-256 of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { size, sha256: hash.digest("hex") };
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? listFiles(root, join(dir, entry.name)) : [relative(root, join(dir, entry.name))],
    ),
  );
  return nested.flat();
}

/**
 * The manifest of a finished backup, once every file it lists has its size and SHA-256 and no other
 * file is there; otherwise a BackupError naming the first file that differs.
 */
export async function readVerifiedManifest(directory: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(directory, MANIFEST_FILE), "utf8");
  } catch {
    throw new BackupError(
      `${join(directory, MANIFEST_FILE)} is missing: ${directory} is not a finished backup (a backup writes its manifest last)`,
    );
  }
  let parsed: z.ZodSafeParseResult<Manifest>;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(text));
  } catch {
    throw new BackupError(`${MANIFEST_FILE} in ${directory} is not JSON: the backup is damaged; use another one`);
  }
  if (!parsed.success)
    throw new BackupError(
      `${MANIFEST_FILE} in ${directory} is not a ${FORMAT} manifest (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}): the backup is damaged or made by another tool`,
    );
  const manifest = parsed.data;
  const listed = new Set(manifest.files.map((file) => file.path));
  if (!listed.has(DATABASE_FILE)) throw new BackupError(`${MANIFEST_FILE} in ${directory} lists no ${DATABASE_FILE}`);
  const present = await listFiles(directory);
  const unlisted = present.find((path) => path !== MANIFEST_FILE && !listed.has(path));
  if (unlisted)
    throw new BackupError(
      `${join(directory, unlisted)} is not in the manifest: the backup was changed after it was made`,
    );
  for (const file of manifest.files) {
    const path = join(directory, file.path);
    const actual = await hashFile(path).catch(() => undefined);
    if (!actual) throw new BackupError(`${path} is missing: the backup is incomplete; use another one`);
    if (actual.size !== file.size || actual.sha256 !== file.sha256)
      throw new BackupError(
        `${path} does not match the manifest (${actual.size} bytes, SHA-256 ${actual.sha256}; expected ${file.size} bytes, ${file.sha256}): the file changed after the backup; use another backup`,
      );
  }
  return manifest;
}

/** The database's migration level: drizzle's own table, named by this Kit's migration journal. */
export async function migrationLevel(
  query: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>,
  migrationsDir: string,
): Promise<Manifest["database"]["migrations"]> {
  const journal = await readJournal(migrationsDir);
  const { rows } = await query(
    "select count(*)::int as applied, max(created_at)::text as latest_at from drizzle.__drizzle_migrations",
  ).catch(() => {
    throw new BackupError(
      "the database has no Kit migrations (drizzle.__drizzle_migrations): is DATABASE_URL Kit's database?",
    );
  });
  const latestAt = Number(rows[0]?.latest_at ?? 0);
  return {
    applied: Number(rows[0]?.applied ?? 0),
    latest: journal.find((entry) => entry.when === latestAt)?.tag ?? null,
    latestAt,
  };
}

/** This Kit's migrations, oldest first. */
export async function readJournal(migrationsDir: string): Promise<Array<{ tag: string; when: number }>> {
  const text = await readFile(join(migrationsDir, "meta", "_journal.json"), "utf8");
  return (JSON.parse(text) as { entries: Array<{ tag: string; when: number }> }).entries;
}

/** Refuses a directory that holds anything: a backup never overwrites. */
export async function requireEmptyDirectory(directory: string): Promise<void> {
  const entries = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw new BackupError(`cannot read ${directory} (${error.code}): choose a folder Kit may write`);
  });
  if (entries.length > 0)
    throw new BackupError(`${directory} is not empty: a backup never overwrites; give a new folder to --to`);
}
