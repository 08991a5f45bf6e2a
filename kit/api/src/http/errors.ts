// Errors answered by the HTTP layer itself (before or outside a procedure), in the same shape the
// oRPC handlers use, so every client parses them like any other typed error.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface HttpError {
  code: string;
  status: ContentfulStatusCode;
  message: string;
  data?: unknown;
}

/**
 * Retry-After on a 503 when nothing more precise is known: a dependency (Postgres, Redis, the
 * object store, the chain node) that went away is usually back within seconds (a restart, a
 * fail-over), and clients that honour the header then neither hammer Kit nor give up.
 */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

export function errorResponse(c: Context, error: HttpError): Response {
  // SERVICE_UNAVAILABLE is in every procedure's error map (rpc/base.ts): a typed answer too.
  const body = { defined: error.status < 500 || error.code === "SERVICE_UNAVAILABLE", ...error };
  // The RPC protocol wraps payloads as { json, meta }; REST callers get the plain object.
  const payload = c.req.path.startsWith("/rpc/") ? { json: body, meta: [] } : body;
  const response = c.json(payload, error.status);
  markRetryable(response);
  return response;
}

/** Every 503 tells when to come back (unless its producer already said). */
export function markRetryable(response: Response): Response {
  if (response.status === 503 && !response.headers.has("retry-after")) {
    response.headers.set("retry-after", String(OUTAGE_RETRY_AFTER_SECONDS));
  }
  return response;
}
