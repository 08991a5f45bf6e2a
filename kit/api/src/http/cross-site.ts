// Cross-site request forgery, refused before a procedure runs. A browser attaches Kit's session
// cookie to requests that another page starts (a form post, a no-cors fetch, a beacon), and some
// of those need no CORS preflight; oRPC parses their bodies (form fields, multipart, a JSON text
// without a content type) into procedure input all the same. Two rules close that door:
// - a body on /rpc and /api is JSON or nothing: no procedure takes form data, files or text
//   (uploads go to the object store with presigned URLs), and a JSON content type is one a
//   cross-origin page cannot send without a preflight, which CORS answers for CORS_ORIGINS only;
// - a request that carries cookies and changes something (any method but GET, HEAD, OPTIONS)
//   must come from a trusted origin when a browser sent it (an Origin or Sec-Fetch-Site header
//   says so). Callers without cookies (bearer tokens, API keys) and clients that are not
//   browsers (no Origin, no Sec-Fetch-Site) are not concerned: no browser sends their credentials
//   on another page's behalf.
import type { Context, MiddlewareHandler } from "hono";
import { errorResponse } from "./errors";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The only body type /rpc and /api take; oRPC also parses a body without a content type as JSON. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json";
}

export function refuseCrossSiteRequests(trustedOrigins: readonly string[]): MiddlewareHandler {
  const trusted = new Set(trustedOrigins.map((origin) => new URL(origin).origin));
  return async (c, next) => {
    const method = c.req.method;
    if (SAFE_METHODS.has(method)) return next();
    const contentType = c.req.header("content-type");
    if (c.req.raw.body !== null && !isJsonContentType(contentType)) {
      return errorResponse(c, {
        code: "UNSUPPORTED_MEDIA_TYPE",
        status: 415,
        message: `Send the body as application/json (got ${describeType(contentType)}); form data, files and text are not taken here.`,
      });
    }
    if (c.req.header("cookie") !== undefined && !fromTrustedPage(c, trusted)) {
      const origin = c.req.header("origin");
      return errorResponse(c, {
        code: "FORBIDDEN",
        status: 403,
        message: origin
          ? `Requests with a session cookie must come from a trusted origin; ${origin.slice(0, 200)} is not one (PUBLIC_URL, CORS_ORIGINS). Other callers use a bearer token or an API key.`
          : "Requests with a session cookie must come from a page of a trusted origin (PUBLIC_URL, CORS_ORIGINS). Other callers use a bearer token or an API key.",
      });
    }
    return next();
  };
}

/**
 * A browser names the page's origin in `Origin` on every request that is not a GET or HEAD, and
 * says in `Sec-Fetch-Site` (which no page can set) how it relates to the target. A request with
 * neither came from something that is not a browser, which no other page can drive.
 */
function fromTrustedPage(c: Context, trusted: Set<string>): boolean {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  if (origin !== undefined) {
    if (trusted.has(origin)) return true;
    // The page is Kit's own (the console), reached under another name than PUBLIC_URL.
    return site === "same-origin" || origin === new URL(c.req.url).origin;
  }
  return site === undefined || site === "same-origin" || site === "none";
}

function describeType(contentType: string | undefined): string {
  const type = contentType?.split(";")[0]?.trim().slice(0, 100);
  return type ? type : "no content type";
}
