// Nesting depth, bounded before anything walks the input recursively. JSON.parse takes a body of
// 100,000 nested arrays in its stride, but every walk after it (oRPC's decoders, the NUL check,
// zod, a logger) is a recursion, or a copy per level: one such request held the event loop for
// seconds and then failed on the call stack. No procedure's input comes near this depth.
import type { MiddlewareHandler } from "hono";
import { isJsonContentType } from "./cross-site";
import { errorResponse } from "./errors";

export const MAX_INPUT_DEPTH = 32;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * How deep a JSON text nests objects and arrays, read byte by byte in one pass (no parse, no
 * recursion), stopping as soon as it passes `limit`. Brackets inside strings do not count. The
 * text need not be valid JSON: the parser judges that later, once the depth is known to be safe.
 * UTF-8 never uses these ASCII bytes inside a multi-byte character, so bytes are enough.
 */
export function jsonDepthExceeds(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/**
 * The depth a query string nests in oRPC's bracket notation (`a[b][c]=1` is 3), or as JSON in the
 * RPC face's `data` parameter, whichever is deeper than `limit` first.
 */
export function queryDepthExceeds(search: URLSearchParams, limit: number): boolean {
  for (const [key, value] of search) {
    let brackets = 1;
    for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === OPEN_ARRAY && ++brackets > limit) return true;
    if (key === "data" && jsonDepthExceeds(new TextEncoder().encode(value), limit)) return true;
  }
  return false;
}

/**
 * Nesting in a query string needs an opening bracket or brace, plain or percent-encoded: a query
 * without one (most GETs) is not parsed here at all.
 */
const MAY_NEST = /[[{]|%5b|%7b/i;

/** Refuses, as a BAD_REQUEST, a JSON body or a query string nested deeper than MAX_INPUT_DEPTH. */
export function boundNesting(limit = MAX_INPUT_DEPTH): MiddlewareHandler {
  const refuse = (where: "body" | "query string") => ({
    code: "BAD_REQUEST",
    status: 400 as const,
    message: `The ${where} nests objects or arrays deeper than ${limit} levels; send flatter input.`,
    data: { issues: [{ path: "", message: `nested deeper than ${limit} levels` }] },
  });
  return async (c, next) => {
    const url = c.req.url;
    const query = url.indexOf("?");
    if (query !== -1 && MAY_NEST.test(url.slice(query)) && queryDepthExceeds(new URL(url).searchParams, limit)) {
      return errorResponse(c, refuse("query string"));
    }
    // Bodies of other types are refused (cross-site.ts) or never parsed as structures.
    if (c.req.raw.body !== null && isJsonContentType(c.req.header("content-type"))) {
      // A copy: the handler reads the request's own body. Both are bounded by the body limit.
      const bytes = new Uint8Array(await c.req.raw.clone().arrayBuffer());
      if (jsonDepthExceeds(bytes, limit)) return errorResponse(c, refuse("body"));
    }
    return next();
  };
}
