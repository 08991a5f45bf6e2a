// GET /api/kyc/review/{applicationId}/dossier: a streamed ZIP (domains/kyc/dossier.ts). Not an oRPC
// procedure: oRPC answers a file only as a Blob, whose size must be known — the whole archive in
// memory. So a plain Hono route, mounted behind the /api guards (http/rpc-mount.ts), that passes
// through the same access check as every procedure (rpc/access.ts: session, key grant, rate limit,
// ban) from a declaration shaped like a procedure's; /api/openapi.json describes it from that
// declaration (http/openapi.ts) and the authorization matrix calls it (rpc/access.test.ts).
import { ORPCError } from "@orpc/server";
import type { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Deps } from "../deps";
import { auditActorOf } from "../domains/audit/record";
import { contentDisposition } from "../domains/kyc/document-download";
import { exportDossier } from "../domains/kyc/dossier";
import { KitError } from "../errors";
import { isDatabaseUnavailable } from "../infra/db";
import type { Metrics } from "../infra/metrics";
import { checkAccess } from "../rpc/access";
import { errorMap, type KitMeta } from "../rpc/base";
import { DATABASE_UNAVAILABLE_MESSAGE } from "../rpc/handlers";
import type { AppEnv } from "./app-env";
import { errorResponse, type HttpError } from "./errors";
import { requestContext } from "./rpc-mount";

const exportGrant = { kyc: ["export" as const] };

/** An operation served outside oRPC, declared as a procedure is (its meta), for the docs and the tests. */
export interface HttpOperation {
  operationId: string;
  method: "GET";
  /** Under /api, with `{name}` path parameters as in the contracts. */
  path: string;
  tags: string[];
  summary: string;
  description: string;
  pathParameters: { name: string; description: string; format: "uuid" }[];
  /** The 200 answer's media type and what it is. */
  answer: { contentType: string; description: string };
  meta: KitMeta;
}

const DOSSIER_OPERATION: HttpOperation = {
  operationId: "kyc.review.dossier",
  method: "GET",
  path: "/kyc/review/{applicationId}/dossier",
  tags: ["kyc review"],
  summary: "An application's whole file as a signed ZIP, streamed; every export is logged and audited",
  description:
    "The decrypted application (application.json), every confirmed document's original bytes (documents/), the status history (history.json), the access log (access-log.json), the on-chain registrations and their transactions (onchain.json), and manifest.json (each file's name, size and SHA-256; the application, the exporter, the time) signed with Kit's export key: manifest.sig is the base64 Ed25519 signature over manifest.json's exact bytes, checked with the key of GET /api/audit/export-key or `bun run kit dossier:verify`. Not on /rpc: a binary stream is not an RPC answer. Never your own application.",
  pathParameters: [{ name: "applicationId", description: "The application's id (a UUID)", format: "uuid" }],
  answer: { contentType: "application/zip", description: "The dossier (stored ZIP entries, streamed)" },
  meta: {
    permission: exportGrant,
    keyGrant: exportGrant,
    rateLimit: "kyc.application-reads",
    errors: ["NOT_FOUND"],
  },
};

/** The operations this file serves, for /api/openapi.json and the authorization matrix. */
export const HTTP_OPERATIONS: readonly HttpOperation[] = [DOSSIER_OPERATION];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function mountDossierRoute(app: Hono<AppEnv>, deps: Deps, metrics: Metrics): void {
  app.get("/api/kyc/review/:applicationId/dossier", async (c) => {
    // Hono answers HEAD with the GET handler: an export that nobody receives is not one to record.
    if (c.req.method !== "GET") return c.notFound();
    const context = requestContext(c, deps, metrics);
    context.recordProcedure(DOSSIER_OPERATION.operationId);
    try {
      const caller = await checkAccess(context, DOSSIER_OPERATION.meta);
      if (caller.kind !== "user") throw new ORPCError("UNAUTHORIZED", { defined: true });
      const applicationId = c.req.param("applicationId");
      if (!UUID.test(applicationId)) {
        const message = "expected the application id (a UUID)";
        throw new KitError("BAD_REQUEST", `Invalid input: applicationId: ${message}`, [
          { path: "applicationId", message },
        ]);
      }
      const requester = {
        ipAddress: context.clientIp() ?? null,
        userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
      };
      const actor = auditActorOf({ ...context, caller });
      const dossier = await exportDossier(context, caller.user, applicationId, requester, actor);
      const headers = new Headers(context.resHeaders);
      headers.set("content-type", "application/zip");
      headers.set("content-disposition", contentDisposition(dossier.fileName));
      headers.set("cache-control", "no-store");
      return new Response(dossier.body, { status: 200, headers });
    } catch (error) {
      const shaped = httpErrorOf(error);
      if (!shaped) throw error;
      if (shaped.status === 503) c.get("log").warn({ err: error }, "dossier export answered 503");
      const response = errorResponse(c, shaped);
      context.resHeaders.forEach((value, name) => {
        response.headers.append(name, value);
      });
      return response;
    }
  });
}

/** The typed error a procedure would answer for `error`; undefined for a fault (a 500, app.onError). */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof ORPCError) {
    return { code: error.code, status: error.status as ContentfulStatusCode, message: error.message, data: error.data };
  }
  if (error instanceof KitError) {
    return {
      code: error.code,
      status: errorMap[error.code].status as ContentfulStatusCode,
      message: error.message,
      ...(error.issues ? { data: { issues: error.issues } } : {}),
    };
  }
  if (isDatabaseUnavailable(error)) {
    return { code: "SERVICE_UNAVAILABLE", status: 503, message: DATABASE_UNAVAILABLE_MESSAGE };
  }
  return undefined;
}
