import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { ResolvedConfig } from "../config";
import type { Logger } from "./log";

export interface Storage {
  client: S3Client;
  /** Signs URLs for browsers: the same store, addressed by its public endpoint. Never sends. */
  presigner: S3Client;
  buckets: ResolvedConfig["s3"]["buckets"];
  /** Origins whose pages PUT and GET presigned URLs themselves (the dApp): the buckets' CORS rule. */
  browserOrigins: string[];
}

/** A failure to reach the store (refused, reset, timed out, 5xx), as opposed to an answer from it. */
export function isStorageOutage(error: unknown): boolean {
  if (error instanceof S3ServiceException) return (error.$metadata.httpStatusCode ?? 500) >= 500;
  const { name, code } = error as { name?: string; code?: unknown };
  return name === "AbortError" || name === "TimeoutError" || (typeof code === "string" && /^E[A-Z]+$/.test(code));
}

/** The store's answer that the object is not there: `NotFound` to a HEAD, `NoSuchKey` to a GET. */
export function isMissingObject(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === "NotFound" || error.name === "NoSuchKey" || error.$metadata.httpStatusCode === 404)
  );
}

export function createStorage(
  config: Pick<ResolvedConfig, "s3"> & {
    http?: Pick<ResolvedConfig["http"], "corsOrigins">;
    auth?: Pick<ResolvedConfig["auth"], "publicUrl">;
  },
): Storage {
  const client = s3Client(config, config.s3.endpoint);
  const presigner =
    config.s3.publicEndpoint && config.s3.publicEndpoint !== config.s3.endpoint
      ? s3Client(config, config.s3.publicEndpoint)
      : client;
  // The dApp's origins, and Kit's own for the pages it serves (the console).
  const browserOrigins = config.http
    ? [...new Set([...(config.auth ? [config.auth.publicUrl] : []), ...config.http.corsOrigins])]
    : [];
  return { client, presigner, buckets: config.s3.buckets, browserOrigins };
}

function s3Client(config: Pick<ResolvedConfig, "s3">, endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: config.s3.region,
    credentials: { accessKeyId: config.s3.accessKey, secretAccessKey: config.s3.secretKey },
    forcePathStyle: true,
    // Otherwise presigned PUT URLs carry the CRC32 of an empty body, which S3/MinIO reject.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 2,
  });
}

/** Creates the buckets of DESIGN.md that do not exist yet (idempotent; safe for concurrent starts). */
export async function ensureBuckets(storage: Storage, log: Logger): Promise<void> {
  for (const bucket of Object.values(storage.buckets)) {
    try {
      await storage.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (!(error instanceof S3ServiceException) || error.$metadata.httpStatusCode !== 404) throw error;
      try {
        await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
        log.info({ bucket }, "bucket created");
      } catch (createError) {
        const name = (createError as Error).name;
        if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw createError;
      }
    }
    if (storage.browserOrigins.length > 0) await allowBrowserOrigins(storage, bucket, log);
  }
}

/**
 * A browser uploads to (and reads from) presigned URLs across origins: without a CORS rule on the
 * bucket its preflight is refused. MinIO has no bucket CORS (it answers NotImplemented) and allows
 * every origin unless MINIO_API_CORS_ALLOW_ORIGIN says otherwise; any other refusal is only logged,
 * as server-side use of the bucket does not depend on it.
 */
async function allowBrowserOrigins(storage: Storage, bucket: string, log: Logger): Promise<void> {
  try {
    await storage.client.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: storage.browserOrigins,
              AllowedMethods: ["PUT", "GET", "HEAD"],
              AllowedHeaders: ["*"],
              ExposeHeaders: ["ETag"],
              MaxAgeSeconds: 600,
            },
          ],
        },
      }),
    );
  } catch (error) {
    const name = (error as Error).name;
    if (name === "NotImplemented")
      log.debug({ bucket }, "bucket CORS not supported by the store; left to its settings");
    else log.warn({ bucket, err: error }, "could not set the bucket's CORS rule; browser uploads may be refused");
  }
}

export async function pingStorage(storage: Storage, signal: AbortSignal): Promise<void> {
  await storage.client.send(new ListBucketsCommand({}), { abortSignal: signal });
}

/**
 * A PUT URL for exactly one object: the content type, length and SHA-256 are signed, so a store
 * that checks signatures and checksums (S3, MinIO) refuses any other upload. `headers` are the ones
 * the browser must send as they are (it adds content-length itself). s3rver checks neither, so
 * whoever reads the object back checks size and hash again.
 */
export async function presignPut(
  storage: Storage,
  object: { bucket: string; key: string; contentType: string; size: number; sha256: string },
  expiresInSeconds: number,
): Promise<{ uploadUrl: string; headers: Record<string, string>; expiresAt: string }> {
  const checksum = Buffer.from(object.sha256, "hex").toString("base64");
  const signedAt = Date.now();
  const uploadUrl = await getSignedUrl(
    storage.presigner,
    new PutObjectCommand({
      Bucket: object.bucket,
      Key: object.key,
      ContentType: object.contentType,
      ContentLength: object.size,
      ChecksumSHA256: checksum,
    }),
    {
      expiresIn: expiresInSeconds,
      // The presigner leaves content-type unsigned and moves x-amz-* headers into the query string
      // by default; both must stay signed headers for the store to hold the browser to them.
      signableHeaders: new Set(["content-type"]),
      unhoistableHeaders: new Set(["x-amz-checksum-sha256"]),
    },
  );
  return {
    uploadUrl,
    headers: { "content-type": object.contentType, "x-amz-checksum-sha256": checksum },
    expiresAt: new Date(signedAt + expiresInSeconds * 1000).toISOString(),
  };
}
