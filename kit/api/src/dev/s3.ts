// An S3-compatible server (s3rver) in-process, for development and tests. It accepts only the
// access key id "S3RVER" and does not verify signatures: see README, "S3 in development".
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import S3rver, { type S3rverObject, type S3rverStore } from "s3rver";

export interface LocalS3 {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startLocalS3(options: {
  directory: string;
  port?: number;
  keepData?: boolean;
}): Promise<LocalS3> {
  const server = new S3rver({
    port: options.port ?? 0,
    address: "127.0.0.1",
    directory: options.directory,
    silent: true,
    resetOnClose: !options.keepData,
  });
  commitBeforeAnswering(server.store);
  const { port } = await server.run();
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      stopped ??= server.close();
      await stopped;
    },
  };
}

/**
 * s3rver 3.7 answers a PUT before the object's bytes reach its file, and rewrites that file in
 * place: a read right after the answer, or during a write, may find it empty. S3 and MinIO answer
 * once the object is whole and replace it at once; this writes beside the object (a name that
 * listings skip), then renames, before the PUT is answered.
 */
function commitBeforeAnswering(store: S3rverStore): void {
  const putMetadata = store.putMetadata.bind(store);
  store.putObject = async (object: S3rverObject) => {
    const path = store.getResourcePath(object.bucket, object.key, "object");
    const partial = `${path}.${randomUUID()}.partial`;
    await mkdir(dirname(path), { recursive: true });
    const md5 = createHash("md5");
    let size = 0;
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(content, counted, createWriteStream(partial));
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    const digest = md5.digest("hex");
    // Its metadata and checksum files, replaced whole too: written under a scratch key, then renamed.
    const scratch = `${object.key}.${randomUUID()}.partial`;
    await putMetadata(object.bucket, scratch, object.metadata, digest);
    for (const resource of ["metadata.json", "object.md5"])
      await rename(
        store.getResourcePath(object.bucket, scratch, resource),
        store.getResourcePath(object.bucket, object.key, resource),
      );
    return { size, md5: digest };
  };
}
