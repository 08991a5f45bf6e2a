import { isIPv6 } from "node:net";
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

/**
 * The unit one client holds, for limits that key on the address: an IPv4 address, or an IPv6 /64
 * (a host picks any address in its /64 at will, and privacy addresses change daily). An IPv4
 * address written as IPv6 (`::ffff:192.0.2.1`) is that IPv4 address.
 */
export function addressBlock(address: string): string {
  if (!isIPv6(address)) return address.toLowerCase();
  const lower = address.toLowerCase().split("%")[0] ?? "";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped?.[1]) return mapped[1];
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mappedHex?.[1] && mappedHex[2]) {
    const [high, low] = [Number.parseInt(mappedHex[1], 16), Number.parseInt(mappedHex[2], 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join(".");
  }
  const [head = "", tail] = lower.split("::");
  const left = head === "" ? [] : head.split(":");
  // Only the first four groups matter, so an embedded IPv4 tail counting as one group is harmless.
  const groups = tail === undefined ? left : [...left, "0", "0", "0", "0"];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}
