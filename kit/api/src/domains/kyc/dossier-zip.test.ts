// The signed ZIP is written as it is read: an entry's source is opened only when the reader gets
// there, a reader that stops early closes it, and the whole archive unzips to what went in.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { unzipSync } from "fflate";
import { exportKeyFromSeed } from "../audit/export-key";
import { jsonPart, readableOf, signedZip, type ZipPart } from "./dossier-zip";

const key = exportKeyFromSeed(Buffer.alloc(32, 5));
const MIB = 1024 * 1024;

/** A part of `chunks` chunks of 1 MiB, recording what the archive asked of it. */
function trackedPart(name: string, chunks: number, seen: string[]): ZipPart {
  return {
    name,
    chunks: async function* () {
      seen.push(`${name}: opened`);
      try {
        for (let i = 0; i < chunks; i++) {
          seen.push(`${name}: chunk ${i}`);
          yield new Uint8Array(MIB).fill(i + 1);
        }
      } finally {
        seen.push(`${name}: closed`);
      }
    },
  };
}

describe("signedZip", () => {
  test("pulls each source only as far as the reader has read", async () => {
    const seen: string[] = [];
    const parts = [trackedPart("a.bin", 3, seen), trackedPart("b.bin", 3, seen)];
    const reader = readableOf(signedZip(parts, {}, key, new Date()), () => {}).getReader();
    let read = 0;
    while (read < 1.5 * MIB) {
      const next = await reader.read();
      if (next.done) throw new Error("ended early");
      read += next.value.byteLength;
    }
    // Half-way through the second megabyte of a.bin: b.bin not opened, a.bin's third chunk not made.
    expect(seen).toEqual(["a.bin: opened", "a.bin: chunk 0", "a.bin: chunk 1"]);
    await reader.cancel();
    expect(seen.at(-1)).toBe("a.bin: closed");
    expect(seen.some((s) => s.startsWith("b.bin"))).toBe(false);
  });

  test("the archive holds every part, then the manifest with sizes and hashes, then its signature", async () => {
    const seen: string[] = [];
    const response = new Response(
      readableOf(
        signedZip([trackedPart("a.bin", 2, seen), jsonPart("x.json", { a: 1 })], { id: "x" }, key, new Date()),
        () => {},
      ),
    );
    const entries = unzipSync(new Uint8Array(await response.arrayBuffer()));
    expect(Object.keys(entries)).toEqual(["a.bin", "x.json", "manifest.json", "manifest.sig"]);
    const manifest = JSON.parse(new TextDecoder().decode(entries["manifest.json"]));
    expect(manifest).toEqual({
      id: "x",
      files: [
        {
          name: "a.bin",
          size: 2 * MIB,
          sha256: createHash("sha256")
            .update(entries["a.bin"] ?? new Uint8Array())
            .digest("hex"),
        },
        { name: "x.json", size: 13, sha256: createHash("sha256").update('{\n  "a": 1\n}\n').digest("hex") },
      ],
    });
    expect(seen).toEqual(["a.bin: opened", "a.bin: chunk 0", "a.bin: chunk 1", "a.bin: closed"]);
  });

  test("a source that fails errors the stream and is reported", async () => {
    const failing: ZipPart = {
      name: "broken.bin",
      chunks: async function* () {
        yield new Uint8Array(10);
        throw new Error("stored bytes differ");
      },
    };
    const reported: unknown[] = [];
    const body = readableOf(signedZip([failing], {}, key, new Date()), (error) => reported.push(error));
    await expect(new Response(body).arrayBuffer()).rejects.toThrow("stored bytes differ");
    expect(reported).toHaveLength(1);
  });
});
