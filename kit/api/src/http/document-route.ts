// GET /api/kyc/document-downloads/{token}: the bytes of one KYC document, decrypted by Kit
// (domains/kyc/document-download.ts). The link is what a presigned URL of the object store was:
// handed out by kyc.documents.downloadUrl / kyc.review.documentUrl (which check who may see the
// document and record the access), valid 15 minutes, and enough by itself, so a browser can follow
// it. Not a procedure: its answer is a file, and it has no caller identity of its own to check.
import type { Hono } from "hono";
import type { Deps } from "../deps";
import { contentDisposition, DOCUMENT_DOWNLOADS_PATH, downloadLinkedDocument } from "../domains/kyc/document-download";
import type { AppEnv } from "./app-env";
import { httpErrorOf } from "./dossier-route";
import { errorResponse } from "./errors";

export function mountDocumentDownloadRoute(app: Hono<AppEnv>, deps: Deps): void {
  app.get(`${DOCUMENT_DOWNLOADS_PATH}/:token`, async (c) => {
    if (c.req.method !== "GET") return c.notFound();
    try {
      const document = await downloadLinkedDocument(deps, c.req.param("token"));
      return new Response(new Uint8Array(document.bytes), {
        status: 200,
        headers: {
          "content-type": document.contentType,
          "content-disposition": contentDisposition(document.fileName),
          "content-length": String(document.bytes.length),
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        },
      });
    } catch (error) {
      const shaped = httpErrorOf(error);
      if (!shaped) throw error;
      if (shaped.status === 503) c.get("log").warn({ err: error }, "document download answered 503");
      return errorResponse(c, shaped);
    }
  });
}
