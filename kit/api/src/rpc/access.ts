// The one middleware every procedure runs through: who is calling, may they, and within limits?
import { ORPCError } from "@orpc/server";
import type { KeyGrants, Permissions } from "../domains/auth/permission-statements";
import { keyGrants, roleGrants } from "../domains/auth/permissions";
import { type Caller, resolveCaller } from "../domains/auth/session";
import { setRateLimitHeaders } from "../infra/rate-limiter";
import type { KitMeta } from "./base";
import type { RequestContext, SignedInCaller } from "./context";

export async function checkAccess(context: RequestContext, meta: KitMeta): Promise<Caller> {
  const rule = context.rateLimitRules[meta.rateLimit ?? "default"];
  const { caller, rateLimit, setCookies } = await resolveCaller(
    context,
    context.headers,
    () => context.clientIp() ?? "unknown",
    rule,
  );
  for (const cookie of setCookies ?? []) context.resHeaders.append("set-cookie", cookie);
  if (rateLimit) {
    setRateLimitHeaders(context.resHeaders, rateLimit);
    if (!rateLimit.allowed) {
      context.metrics.rateLimited.inc({ rule: rule.name });
      throw new ORPCError("TOO_MANY_REQUESTS", {
        defined: true,
        message: `Too many requests; retry in ${rateLimit.resetSeconds} s.`,
        data: { retryAfterSeconds: rateLimit.resetSeconds },
      });
    }
  } else {
    context.metrics.rateLimitFailOpen.inc();
  }

  if (meta.access === "public") return caller;
  if (caller.kind !== "user") {
    throw new ORPCError("UNAUTHORIZED", {
      defined: true,
      message: "Sign in (cookie, bearer token or API key) to continue.",
    });
  }
  if (meta.permission && !roleGrants(caller.user.role, meta.permission)) {
    throw new ORPCError("FORBIDDEN", {
      defined: true,
      message: `This needs the permission ${describe(meta.permission)}, which your role does not grant.`,
    });
  }
  // A key is an allow-list: a procedure that names no grant is refused to every key.
  if (caller.via === "api-key" && !(meta.keyGrant && keyGrants(caller.keyGrants, meta.keyGrant))) {
    throw new ORPCError("FORBIDDEN", {
      defined: true,
      message: meta.keyGrant
        ? `This API key does not carry the grant ${describe(meta.keyGrant)}; use a key created with it.`
        : "No API key may call this; use a session.",
    });
  }
  return caller;
}

/**
 * For a check a handler makes itself (e.g. "may see any wallet"): the role must grant `permission`
 * and, when the caller came with an API key, the key must carry `keyGrant` too.
 */
export function callerMay(caller: SignedInCaller, permission: Permissions, keyGrant: KeyGrants): boolean {
  return (
    roleGrants(caller.user.role, permission) && (caller.via !== "api-key" || keyGrants(caller.keyGrants, keyGrant))
  );
}

function describe(grants: Record<string, readonly string[] | undefined>): string {
  return Object.entries(grants)
    .map(([subject, actions]) => `${subject}: ${(actions ?? []).join(", ")}`)
    .join("; ");
}

/**
 * PostgreSQL text cannot hold U+0000, so a string carrying one would fail deep in a query as a 500;
 * it is refused here, for every procedure, as the caller's error. A loop over an explicit stack, not
 * a recursion: its cost is one step per value, whatever the nesting (the HTTP layer bounds that
 * too), and the path is only spelled out for the value that is refused.
 */
export function rejectNulCharacters(input: unknown): void {
  const stack: WalkStep[] = [{ value: input, key: "", parent: undefined }];
  for (let step = stack.pop(); step; step = stack.pop()) {
    const { value } = step;
    if (typeof value === "string") {
      if (value.includes("\u0000")) throw nulCharacterError(pathOf(step));
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: String(i), parent: step });
    } else if (value && typeof value === "object") {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i] as [string, unknown];
        stack.push({ value: item, key, parent: step });
      }
    }
  }
}

interface WalkStep {
  value: unknown;
  key: string;
  parent: WalkStep | undefined;
}

function pathOf(step: WalkStep): string {
  const keys: string[] = [];
  for (let at: WalkStep | undefined = step; at?.parent; at = at.parent) keys.push(at.key);
  return keys.reverse().join(".");
}

function nulCharacterError(where: string): ORPCError<"BAD_REQUEST", unknown> {
  return new ORPCError("BAD_REQUEST", {
    defined: true,
    message: `Invalid input: ${where ? `${where}: ` : ""}text must not contain NUL (U+0000) characters`,
    data: { issues: [{ path: where, message: "text must not contain NUL (U+0000) characters" }] },
  });
}
