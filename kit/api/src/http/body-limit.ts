import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ResolvedConfig } from "../config";
import { errorResponse } from "./errors";

/** `BODY_LIMIT_BYTES` for /api/auth, /api and /rpc, answered as the caller's BAD_REQUEST. */
export function limitBody(config: ResolvedConfig) {
  return bodyLimit({
    maxSize: config.http.bodyLimitBytes,
    onError: (c) =>
      errorResponse(c, {
        code: "BAD_REQUEST",
        status: 400,
        message: `The request body is larger than ${config.http.bodyLimitBytes} bytes; send less data.`,
        data: { issues: [{ path: "", message: `body exceeds ${config.http.bodyLimitBytes} bytes` }] },
      }),
  });
}

/** What /api/auth, /api and /rpc check of a body before anyone reads it: its size, then its nesting (http/nesting.ts). */
export interface BodyGuards {
  limitBody: MiddlewareHandler;
  boundNesting: MiddlewareHandler;
}
