// What every procedure shares: the error map (so the typed client knows every code it can see)
// and the access metadata one middleware enforces (rpc/access.ts).
import { oc } from "@orpc/contract";
import { z } from "zod";
import type { Permissions } from "../domains/auth/permissions";
import type { RateLimitRuleName } from "./rate-limit-rules";

export interface KitMeta {
  /** `public`: anyone; `user` (the default): a signed-in, unbanned user. */
  access?: "public" | "user";
  /** Actions the caller's role must grant (and the API key, when called with one). */
  permission?: Permissions;
  /** The rate-limit rule counted for each call; `default` when absent. */
  rateLimit?: RateLimitRuleName;
}

export const validationIssue = z.object({
  path: z.string().meta({ description: "Dotted path of the offending field; empty for the whole input" }),
  message: z.string(),
});

export const base = oc.$meta<KitMeta>({}).errors({
  BAD_REQUEST: {
    status: 400,
    message: "The request is invalid.",
    data: z.object({ issues: z.array(validationIssue) }).optional(),
  },
  UNAUTHORIZED: { status: 401, message: "Sign in to continue." },
  FORBIDDEN: { status: 403, message: "You are not allowed to do this." },
  NOT_FOUND: { status: 404, message: "Not found." },
  CONFLICT: { status: 409, message: "The resource changed or already exists; reload and try again." },
  PRECONDITION_FAILED: { status: 412, message: "A precondition for this action is not met." },
  // A dependency outage during an action that must not half-happen (e.g. a ban while Redis is down).
  SERVICE_UNAVAILABLE: { status: 503, message: "A service Kit depends on is unavailable; retry shortly." },
  TOO_MANY_REQUESTS: {
    status: 429,
    message: "Too many requests; retry later.",
    data: z.object({ retryAfterSeconds: z.number().int().nonnegative() }).optional(),
  },
});
