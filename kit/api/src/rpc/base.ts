// What every procedure shares: the error map (so the typed client knows every code it can see)
// and the access metadata one middleware enforces (rpc/access.ts).
import { oc } from "@orpc/contract";
import { z } from "zod";
import type { KeyGrants, Permissions } from "../domains/auth/permission-statements";
import type { RateLimitRuleName } from "./rate-limit-names";

/**
 * The errors a procedure's own logic can answer (404, 409, 412, …). Those that follow from the rest
 * of its declaration (401/403 from `access`; 400, 429, 500, 503 for all) are added for it
 * (rpc/declared-errors.ts); each operation of /api/openapi.json lists exactly these.
 */
type DomainErrors = readonly ErrorCode[];

/** Anyone may call it, signed in or not (an API key needs no grant). */
interface PublicMeta {
  access: "public";
  permission?: never;
  keyGrant?: never;
  /** The rate-limit rule counted for each call; `default` when absent. */
  rateLimit?: RateLimitRuleName;
  errors?: DomainErrors;
}

/** A signed-in, unbanned user (the default). */
interface UserMeta {
  access?: "user";
  /** Actions the caller's role must grant. */
  permission?: Permissions;
  /**
   * What an API key must carry to call it (keys are an allow-list over every procedure). Required:
   * a procedure cannot be declared without deciding it; one with none is refused to every key, and
   * the authorization matrix's contract check fails (rpc/access.test.ts).
   */
  keyGrant: KeyGrants;
  rateLimit?: RateLimitRuleName;
  errors?: DomainErrors;
}

export type KitMeta = PublicMeta | UserMeta;

export const validationIssue = z.object({
  path: z.string().meta({ description: "Dotted path of the offending field; empty for the whole input" }),
  message: z.string(),
});

const badRequestData = z.object({ issues: z.array(validationIssue) }).optional();
const tooManyRequestsData = z.object({ retryAfterSeconds: z.number().int().nonnegative() }).optional();

/**
 * The error map every procedure shares. Named, so that declaration files (the typed client's) refer
 * to it once instead of repeating it in every procedure's type.
 * @public
 */
export type KitErrorMap = {
  BAD_REQUEST: { status: number; message: string; data: typeof badRequestData };
  UNAUTHORIZED: { status: number; message: string };
  FORBIDDEN: { status: number; message: string };
  NOT_FOUND: { status: number; message: string };
  CONFLICT: { status: number; message: string };
  PRECONDITION_FAILED: { status: number; message: string };
  SERVICE_UNAVAILABLE: { status: number; message: string };
  TOO_MANY_REQUESTS: { status: number; message: string; data: typeof tooManyRequestsData };
};

export const errorMap: KitErrorMap = {
  BAD_REQUEST: { status: 400, message: "The request is invalid.", data: badRequestData },
  UNAUTHORIZED: { status: 401, message: "Sign in to continue." },
  FORBIDDEN: { status: 403, message: "You are not allowed to do this." },
  NOT_FOUND: { status: 404, message: "Not found." },
  CONFLICT: { status: 409, message: "The resource changed or already exists; reload and try again." },
  PRECONDITION_FAILED: { status: 412, message: "A precondition for this action is not met." },
  // A dependency outage during an action that must not half-happen (e.g. a ban while Redis is down).
  SERVICE_UNAVAILABLE: { status: 503, message: "A service Kit depends on is unavailable; retry shortly." },
  TOO_MANY_REQUESTS: { status: 429, message: "Too many requests; retry later.", data: tooManyRequestsData },
};

export type ErrorCode = keyof KitErrorMap;

// No meta yet: a procedure that never declares one is refused to keys and flagged by the contract check.
export const base = oc.$meta<KitMeta>({} as KitMeta).errors(errorMap);
