// Bucket CORS: a dApp's page PUTs documents to presigned URLs itself, across origins, so each bucket
// must answer the browser's preflight for Kit's origins (and only for them).
import { describe, expect, test } from "bun:test";
import { createTestKit } from "../../test/kit";

const kit = await createTestKit({ env: { CORS_ORIGINS: "https://app.example.com" } });

function preflight(bucket: string, origin: string): Promise<Response> {
  return fetch(`${kit.s3.endpoint}/${bucket}/some/key`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type,x-amz-checksum-sha256",
    },
  });
}

describe("ensureBuckets", () => {
  test("every bucket allows PUT and GET from CORS_ORIGINS and PUBLIC_URL", async () => {
    for (const bucket of Object.values(kit.deps.storage.buckets)) {
      for (const origin of ["https://app.example.com", kit.config.auth.publicUrl]) {
        const response = await preflight(bucket, origin);
        expect(response.status).toBe(200);
        expect(response.headers.get("access-control-allow-methods")).toContain("PUT");
        expect(response.headers.get("access-control-allow-headers")).toContain("x-amz-checksum-sha256");
      }
    }
  });

  test("another origin's preflight is refused", async () => {
    const response = await preflight(kit.deps.storage.buckets.kycDocuments, "https://evil.example.net");
    expect(response.status).toBe(403);
  });
});
