import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import type { ResolvedConfig } from "../config";
import type { Logger } from "./log";

export interface Storage {
  client: S3Client;
  /** Signs URLs for browsers: the same store, addressed by its public endpoint. Never sends. */
  presigner: S3Client;
  buckets: ResolvedConfig["s3"]["buckets"];
}

export function createStorage(config: Pick<ResolvedConfig, "s3">): Storage {
  const client = s3Client(config, config.s3.endpoint);
  const presigner =
    config.s3.publicEndpoint && config.s3.publicEndpoint !== config.s3.endpoint
      ? s3Client(config, config.s3.publicEndpoint)
      : client;
  return { client, presigner, buckets: config.s3.buckets };
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
  }
}

export async function pingStorage(storage: Storage, signal: AbortSignal): Promise<void> {
  await storage.client.send(new ListBucketsCommand({}), { abortSignal: signal });
}
