// Token metadata: a JSON document per token in the public `token-metadata` bucket
// (`{address}/metadata.json`) and a logo beside it (`{address}/logo.png`), addressed by the
// lowercase token address. Writes are read-modify-write of one object, so they are serialised per
// token by a Postgres advisory lock held across the read and the write: two replicas updating the
// same token cannot both pass the immutability check against the same old document. Readers
// (tokens.get, portfolios) take the document from a copy in Redis that every write replaces.
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Config } from "../../config";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import type { Database, Transaction } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import { isMissingObject, isStorageOutage, type Storage } from "../../infra/storage";
import { getCurrency } from "../exchange-rates/currencies";
import {
  ASSET_CLASSES,
  type CreateLogoUploadInput,
  IMMUTABLE_FIELDS,
  type LogoUpload,
  type TokenMetadata,
  type UpdateMetadataInput,
} from "./contract-metadata";

export interface MetadataDeps {
  config: Pick<Config, "s3">;
  db: Database;
  storage: Storage;
  chain: Chain;
  log: Logger;
  redis: Redis;
}

/** How long a presigned logo upload URL stays valid. */
const LOGO_URL_VALIDITY_SECONDS = 15 * 60;
const STORAGE_TIMEOUT_MS = 3_000;

export const metadataKey = (token: string) => `${token.toLowerCase()}/metadata.json`;
/** The Redis copy of a token's document (a missing document is copied too, as the empty one). */
export const metadataCacheKey = (token: string) => `cache:token-metadata:${token.toLowerCase()}`;
/** Bounds how long a copy can outlive a write that could not replace it (Redis away at that moment). */
const METADATA_CACHE_SECONDS = 60;
const logoKey = (token: string) => `${token.toLowerCase()}/logo.png`;

/** What metadata.json holds. `version` is the document format, for later migrations. */
const storedMetadata = z.object({
  version: z.literal(1),
  description: z.string().nullable(),
  assetClass: z.enum(ASSET_CLASSES).nullable(),
  isin: z.string().nullable(),
  price: z.string().nullable(),
  priceCurrency: z.string().nullable(),
  documents: z.array(z.object({ name: z.string(), url: z.string() })),
  /** The kind's terms, fixed by tokens.create; absent from documents written before (null). */
  terms: z
    .record(z.string(), z.union([z.string(), z.boolean()]))
    .nullable()
    .default(null),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
type StoredMetadata = z.infer<typeof storedMetadata>;

const EMPTY: StoredMetadata = {
  version: 1,
  description: null,
  assetClass: null,
  isin: null,
  price: null,
  priceCurrency: null,
  documents: [],
  terms: null,
  updatedAt: null,
  updatedBy: null,
};

// ---------------------------------------------------------------------------------------------
// The object store

function storageUnavailable(): KitError {
  return new KitError(
    "SERVICE_UNAVAILABLE",
    "The token metadata store is unavailable; nothing was changed. Retry shortly.",
  );
}

/** S3 calls that answer an outage with SERVICE_UNAVAILABLE (never a 500). */
async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
}

/** Where browsers read an object of the public bucket. */
function publicUrl(config: Pick<Config, "s3">, key: string): string {
  const endpoint = (config.s3.publicEndpoint ?? config.s3.endpoint ?? "").replace(/\/$/, "");
  return `${endpoint}/${config.s3.buckets.tokenMetadata}/${key}`;
}

/**
 * Lets anyone GET the bucket's objects (metadata.json, logos), as DESIGN.md has it. Never fails
 * the start: s3rver (development, tests) has no policies and serves anonymous reads anyway; a store
 * that refuses (e.g. AWS with Block Public Access) is logged, for an operator to allow reads there.
 */
export async function allowPublicMetadataReads(storage: Storage, log: Logger): Promise<void> {
  const bucket = storage.buckets.tokenMetadata;
  const policy = {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { AWS: ["*"] }, Action: ["s3:GetObject"], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  };
  try {
    await storage.client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
  } catch (error) {
    if ((error as { name?: string }).name === "NotImplemented") return;
    log.warn(
      { bucket, err: { name: (error as Error)?.name } },
      "could not make the token metadata bucket publicly readable; logo and metadata URLs need anonymous GET",
    );
  }
}

async function readStored(deps: MetadataDeps, token: string): Promise<StoredMetadata> {
  const { storage } = deps;
  let body: string;
  try {
    const object = await storage.client.send(
      new GetObjectCommand({ Bucket: storage.buckets.tokenMetadata, Key: metadataKey(token) }),
      { abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS) },
    );
    body = (await object.Body?.transformToString("utf8")) ?? "";
  } catch (error) {
    if (isMissingObject(error)) return EMPTY;
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
  const result = storedMetadata.safeParse(parseJson(body));
  // Only Kit writes the object; a document it cannot read is a fault to fix, not the caller's.
  if (!result.success) throw new Error(`metadata.json of ${token} is not a metadata document Kit wrote`);
  return result.data;
}

/** The document as readers see it: the Redis copy, else the object store (then copied). */
async function readStoredCopy(deps: MetadataDeps, token: string): Promise<StoredMetadata> {
  const key = metadataCacheKey(token);
  const copy = await deps.redis.get(key).catch(() => null);
  if (copy) {
    const parsed = storedMetadata.safeParse(parseJson(copy));
    if (parsed.success) return parsed.data;
  }
  const stored = await readStored(deps, token);
  // NX: a write that landed while this read was on its way has already put its newer copy there.
  await deps.redis.set(key, JSON.stringify(stored), "EX", METADATA_CACHE_SECONDS, "NX").catch(() => {});
  return stored;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The logo's public URL, versioned by its ETag so that a new upload is not hidden by caches; null without one. */
async function logoUrl(deps: MetadataDeps, token: string): Promise<string | null> {
  try {
    const head = await deps.storage.client.send(
      new HeadObjectCommand({ Bucket: deps.storage.buckets.tokenMetadata, Key: logoKey(token) }),
      { abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS) },
    );
    const version = head.ETag?.replace(/"/g, "");
    return `${publicUrl(deps.config, logoKey(token))}${version ? `?v=${encodeURIComponent(version)}` : ""}`;
  } catch (error) {
    if (isMissingObject(error)) return null;
    if (isStorageOutage(error)) throw storageUnavailable();
    throw error;
  }
}

function present(stored: StoredMetadata, logo: string | null): TokenMetadata {
  const { version: _v, ...rest } = stored;
  return { ...rest, logoUrl: logo };
}

/** A token's metadata (empty fields when none was ever set). */
export async function getTokenMetadata(deps: MetadataDeps, token: string): Promise<TokenMetadata> {
  const [stored, logo] = await Promise.all([readStoredCopy(deps, token), logoUrl(deps, token)]);
  return present(stored, logo);
}

/** Price and currency only, for valuations: no logo lookup. */
export async function getTokenPrice(
  deps: MetadataDeps,
  token: string,
): Promise<{ price: string; currency: string } | null> {
  const stored = await readStoredCopy(deps, token);
  return stored.price && stored.priceCurrency ? { price: stored.price, currency: stored.priceCurrency } : null;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Applies `input` over the stored document (fields left out keep their value, null clears). */
export async function updateTokenMetadata(
  deps: MetadataDeps,
  userId: string,
  input: UpdateMetadataInput,
): Promise<TokenMetadata> {
  if (input.priceCurrency && !(await getCurrency(deps, input.priceCurrency))) {
    const message = `${input.priceCurrency} is not a currency Kit knows (ISO 4217); GET /api/fx/currencies lists them.`;
    throw new KitError("BAD_REQUEST", message, [{ path: "priceCurrency", message }]);
  }
  const token = input.address;
  await guarded(() =>
    deps.storage.client.send(new HeadBucketCommand({ Bucket: deps.storage.buckets.tokenMetadata }), {
      abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS),
    }),
  );
  const written = await deps.db.transaction(async (tx) => {
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`token-metadata:${token.toLowerCase()}`}, 0))`,
    );
    const current = await readStored(deps, token);
    const changed = IMMUTABLE_FIELDS.filter(
      (field) => input[field] !== undefined && current[field] !== null && input[field] !== current[field],
    );
    if (changed.length > 0) {
      throw new KitError(
        "CONFLICT",
        `${changed.map((f) => `${f} is ${current[f]}`).join("; ")}: ${changed.join(" and ")} cannot change once set.`,
      );
    }
    const next: StoredMetadata = {
      version: 1,
      description: input.description === undefined ? current.description : input.description,
      assetClass: input.assetClass ?? current.assetClass,
      isin: input.isin ?? current.isin,
      price: input.price === undefined ? current.price : input.price,
      priceCurrency: input.priceCurrency === undefined ? current.priceCurrency : input.priceCurrency,
      documents: input.documents ?? current.documents,
      terms: current.terms,
      updatedAt: new Date().toISOString(),
      updatedBy: userId,
    };
    await writeDocument(deps, token, next);
    return next;
  });
  deps.log.info({ token, userId }, "token metadata updated");
  return present(written, await logoUrl(deps, token));
}

/**
 * The document of a token Kit is creating (tokens.create), written whole: kind, ISIN and terms
 * from the request, inside the caller's transaction (which holds the token's advisory lock until it
 * ends). The caller has checked that no contract exists at `token` yet, so a document already there
 * belongs to no token (an earlier creation that failed) and is replaced.
 */
export async function writeCreationMetadata(
  deps: MetadataDeps,
  tx: Transaction,
  userId: string | null,
  token: string,
  document: {
    description: string | null;
    assetClass: StoredMetadata["assetClass"];
    isin: string;
    terms: Record<string, string | boolean>;
  },
): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`token-metadata:${token.toLowerCase()}`}, 0))`);
  await writeDocument(deps, token, { ...EMPTY, ...document, updatedAt: new Date().toISOString(), updatedBy: userId });
}

/** Puts the document and replaces the Redis copy; the caller holds the token's advisory lock. */
async function writeDocument(deps: MetadataDeps, token: string, next: StoredMetadata): Promise<void> {
  await guarded(() =>
    deps.storage.client.send(
      new PutObjectCommand({
        Bucket: deps.storage.buckets.tokenMetadata,
        Key: metadataKey(token),
        Body: JSON.stringify(next),
        ContentType: "application/json",
        CacheControl: "no-cache",
      }),
      { abortSignal: AbortSignal.timeout(STORAGE_TIMEOUT_MS) },
    ),
  );
  // Still under the lock, so copies are replaced in the order the documents were written.
  await deps.redis.set(metadataCacheKey(token), JSON.stringify(next), "EX", METADATA_CACHE_SECONDS).catch((err) => {
    deps.log.warn(
      { token, err },
      `token metadata copy not replaced; readers may see the previous one for up to ${METADATA_CACHE_SECONDS} s`,
    );
  });
}

/** A presigned PUT for `{address}/logo.png`, bound to the declared type and size. */
export async function createLogoUpload(deps: MetadataDeps, input: CreateLogoUploadInput): Promise<LogoUpload> {
  const key = logoKey(input.address);
  const signedAt = Date.now();
  const uploadUrl = await getSignedUrl(
    deps.storage.presigner,
    new PutObjectCommand({
      Bucket: deps.storage.buckets.tokenMetadata,
      Key: key,
      ContentType: input.contentType,
      ContentLength: input.size,
    }),
    { expiresIn: LOGO_URL_VALIDITY_SECONDS, signableHeaders: new Set(["content-type", "content-length"]) },
  );
  return {
    uploadUrl,
    headers: { "content-type": input.contentType },
    expiresAt: new Date(signedAt + LOGO_URL_VALIDITY_SECONDS * 1000).toISOString(),
    publicUrl: publicUrl(deps.config, key),
  };
}
