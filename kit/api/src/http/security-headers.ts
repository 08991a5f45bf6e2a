// What every answer carries for browsers: a Content-Security-Policy and the other secure headers,
// and CORS for the configured origins only.
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { ResolvedConfig } from "../config";
import { consoleContentSecurityPolicy, isConsolePath } from "./console";

export function securityHeaders(config: ResolvedConfig): MiddlewareHandler {
  const apiHeaders = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      frameAncestors: ["'none'"],
    },
  });
  // The console also shows KYC documents from the object store (see http/console.ts).
  const consoleHeaders = secureHeaders({ contentSecurityPolicy: consoleContentSecurityPolicy(config) });
  return (c, next) => (isConsolePath(c.req.path) ? consoleHeaders : apiHeaders)(c, next);
}

export function corsForConfiguredOrigins(config: ResolvedConfig): MiddlewareHandler {
  return cors({
    origin: config.http.corsOrigins,
    credentials: true,
    allowHeaders: ["content-type", "authorization", "x-request-id"],
    // set-auth-token: the bearer plugin's token, which wallet and mobile clients read after sign-in.
    exposeHeaders: [
      "x-request-id",
      "retry-after",
      "ratelimit-limit",
      "ratelimit-remaining",
      "ratelimit-reset",
      "set-auth-token",
    ],
    maxAge: 600,
  });
}
