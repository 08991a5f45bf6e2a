import type { Context } from "hono";
import { getConnInfo } from "hono/bun";

/**
 * The caller's address. Behind `hops` proxies, each appends the address it saw to
 * X-Forwarded-For, so the client is the entry `hops` from the right; anything further left was
 * written by the client itself and is not believed.
 */
export function clientAddress(c: Context, hops: number): string | undefined {
  if (hops > 0) {
    const entries = (c.req.header("x-forwarded-for") ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean);
    const candidate = entries[entries.length - hops] ?? entries[0];
    if (candidate) return candidate;
  }
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // in-process requests (tests) have no socket
  }
}
