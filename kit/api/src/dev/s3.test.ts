// The development S3 (s3rver) answers a PUT only once the object is whole, as S3 and MinIO do:
// a read after the answer, or during a rewrite, never finds it empty or half-written.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalS3, startLocalS3 } from "./s3";

let s3: LocalS3;
let directory: string;
// Unsigned path-style requests: s3rver does not check signatures.
const url = (key: string) => `${s3.endpoint}/bucket/${key}`;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "kit-s3-"));
  s3 = await startLocalS3({ directory });
  expect((await fetch(`${s3.endpoint}/bucket`, { method: "PUT" })).status).toBe(200);
});

afterAll(async () => {
  await s3.stop();
  await rm(directory, { recursive: true, force: true });
});

test("each PUT's bytes are there when it is answered, and reads during rewrites get one whole version", async () => {
  const versions = ["a", "b", "c"].map((letter) => letter.repeat(2 * 1024 * 1024));
  let stop = false;
  const seen = new Set<string>();
  const reader = (async () => {
    while (!stop) {
      try {
        const response = await fetch(url("doc.txt"));
        const body = await response.text();
        if (response.status === 200) seen.add(versions.includes(body) ? (body[0] ?? "") : `partial:${body.length}`);
        else if (response.status !== 404) seen.add(`HTTP ${response.status}`);
      } catch (error) {
        seen.add(String(error));
      }
    }
  })();
  const afterPut: string[] = [];
  for (let i = 0; i < 12; i++) {
    const version = versions[i % versions.length] ?? "";
    expect((await fetch(url("doc.txt"), { method: "PUT", body: version })).status).toBe(200);
    const read = await (await fetch(url("doc.txt"))).text();
    afterPut.push(read === version ? "same" : `other:${read.length}`);
  }
  stop = true;
  await reader;
  expect(afterPut).toEqual(Array(12).fill("same"));
  expect([...seen].filter((s) => !["a", "b", "c"].includes(s))).toEqual([]);
  // Nothing left beside the object, and a listing names only it.
  const listing = await (await fetch(`${s3.endpoint}/bucket?list-type=2`)).text();
  expect(listing.match(/<Key>[^<]*<\/Key>/g)).toEqual(["<Key>doc.txt</Key>"]);
  expect((await readdir(join(directory, "bucket"))).filter((f) => f.includes("partial"))).toEqual([]);
});
