// A signed ZIP, written as it is read: each entry's bytes pass through once (hashed and counted on
// the way), so a dossier of many documents never sits in memory; the manifest (every entry's name,
// size and SHA-256) and its signature come last, when all of that is known. Entries are stored,
// not deflated: documents are PDFs and images, already compressed, and a stored entry's bytes in
// the archive are the original bytes.
import { createHash } from "node:crypto";
import { Zip, ZipPassThrough } from "fflate";
import type { ExportKey } from "../audit/export-key";

export const MANIFEST_NAME = "manifest.json";
export const SIGNATURE_NAME = "manifest.sig";

export interface ZipPart {
  name: string;
  /** The entry's bytes, in chunks; read only when the archive reaches this entry. */
  chunks: () => AsyncIterable<Uint8Array>;
}

export interface ManifestFile {
  name: string;
  size: number;
  sha256: string;
}

/** What the manifest says besides its files (ids, who, when, the key). */
export type ManifestHeader = Record<string, unknown>;

/** The whole archive as chunks: `parts` in order, then manifest.json, then manifest.sig. */
export async function* signedZip(
  parts: AsyncIterable<ZipPart> | Iterable<ZipPart>,
  header: ManifestHeader,
  key: ExportKey,
  mtime: Date,
): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((error, chunk) => {
    if (error) failure = error;
    else out.push(chunk);
  });
  const drain = function* () {
    if (failure) throw failure;
    while (out.length > 0) yield out.shift() as Uint8Array;
  };
  const files: ManifestFile[] = [];
  const add = function* (name: string, data: Uint8Array) {
    const entry = new ZipPassThrough(name);
    entry.mtime = mtime;
    zip.add(entry);
    entry.push(data, true);
    yield* drain();
  };

  for await (const part of parts) {
    const entry = new ZipPassThrough(part.name);
    entry.mtime = mtime;
    zip.add(entry);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of part.chunks()) {
      hash.update(chunk);
      size += chunk.byteLength;
      entry.push(chunk, false);
      yield* drain();
    }
    entry.push(new Uint8Array(0), true);
    yield* drain();
    files.push({ name: part.name, size, sha256: hash.digest("hex") });
  }

  const manifest = new TextEncoder().encode(`${JSON.stringify({ ...header, files }, null, 2)}\n`);
  yield* add(MANIFEST_NAME, manifest);
  yield* add(SIGNATURE_NAME, new TextEncoder().encode(`${key.sign(manifest)}\n`));
  zip.end();
  yield* drain();
}

/** A JSON document as one entry (pretty, with a final newline: auditors read these). */
export function jsonPart(name: string, value: unknown): ZipPart {
  const bytes = new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  return {
    name,
    chunks: async function* () {
      yield bytes;
    },
  };
}

/**
 * A pull stream over `chunks`: the next chunk is made only when the reader wants it, so a slow
 * download slows the reads from the object store instead of filling memory; a reader that goes away
 * ends the generator (its `finally` blocks close what it opened).
 */
export function readableOf(chunks: AsyncGenerator<Uint8Array>, onError: (error: unknown) => void) {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          onError(error);
          controller.error(error);
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
