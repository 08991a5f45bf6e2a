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

export function errorResponse(c: Context, error: HttpError): Response {
  const body = { defined: error.status < 500, ...error };
  // The RPC protocol wraps payloads as { json, meta }; REST callers get the plain object.
  const payload = c.req.path.startsWith("/rpc/") ? { json: body, meta: [] } : body;
  return c.json(payload, error.status);
}
