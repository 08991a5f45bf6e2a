// The one middleware every procedure runs through: who is calling, may they, and within limits?
import { ORPCError } from "@orpc/server";
import { roleGrants } from "../domains/auth/permissions";
import { type Caller, resolveCaller } from "../domains/auth/session";
import type { KitMeta } from "./base";
import type { RequestContext } from "./context";

/** The access middleware already refused anonymous callers of `user` procedures; this narrows the type. */
export function signedIn(caller: Caller): Extract<Caller, { kind: "user" }> {
  if (caller.kind !== "user") throw new ORPCError("UNAUTHORIZED", { defined: true });
  return caller;
}

export async function checkAccess(context: RequestContext, meta: KitMeta): Promise<Caller> {
  const rule = context.rateLimitRules[meta.rateLimit ?? "default"];
  const { caller, rateLimit, setCookies } = await resolveCaller(
    context,
    context.headers,
    () => context.clientIp() ?? "unknown",
    rule,
  );
  if (setCookies?.length) context.trace.setCookies = setCookies;
  if (rateLimit) {
    context.trace.rateLimit = rateLimit;
    context.trace.rateLimitRule = rule.name;
    if (!rateLimit.allowed) {
      throw new ORPCError("TOO_MANY_REQUESTS", {
        defined: true,
        message: `Too many requests; retry in ${rateLimit.resetSeconds} s.`,
        data: { retryAfterSeconds: rateLimit.resetSeconds },
      });
    }
  } else {
    context.trace.rateLimitFailedOpen = true;
  }

  if ((meta.access ?? "user") === "public") return caller;
  if (caller.kind !== "user") {
    throw new ORPCError("UNAUTHORIZED", {
      defined: true,
      message: "Sign in (cookie, bearer token or API key) to continue.",
    });
  }
  const required = meta.permission;
  if (required) {
    const byRole = roleGrants(caller.user.role, required);
    const byKey = caller.via !== "api-key" || keyGrants(caller.keyPermissions ?? {}, required);
    if (!byRole || !byKey) {
      const wanted = Object.entries(required)
        .map(([subject, actions]) => `${subject}: ${(actions ?? []).join(", ")}`)
        .join("; ");
      throw new ORPCError("FORBIDDEN", {
        defined: true,
        message: `This needs the permission ${wanted}, which your ${caller.via === "api-key" && byRole ? "API key" : "role"} does not grant.`,
      });
    }
  }
  return caller;
}

function keyGrants(granted: Record<string, string[] | undefined>, required: Record<string, string[] | undefined>) {
  return Object.entries(required).every(([subject, actions]) =>
    (actions ?? []).every((action) => (granted[subject] ?? []).includes(action)),
  );
}

/**
 * PostgreSQL text cannot hold U+0000, so a string carrying one would fail deep in a query as a 500;
 * it is refused here, for every procedure, as the caller's error.
 */
export function rejectNulCharacters(input: unknown, path: string[] = []): void {
  if (typeof input === "string") {
    if (input.includes("\u0000")) {
      const where = path.join(".");
      throw new ORPCError("BAD_REQUEST", {
        defined: true,
        message: `Invalid input: ${where ? `${where}: ` : ""}text must not contain NUL (U+0000) characters`,
        data: { issues: [{ path: where, message: "text must not contain NUL (U+0000) characters" }] },
      });
    }
  } else if (Array.isArray(input)) {
    for (const [i, item] of input.entries()) rejectNulCharacters(item, [...path, String(i)]);
  } else if (input && typeof input === "object") {
    for (const [key, value] of Object.entries(input)) rejectNulCharacters(value, [...path, key]);
  }
}
