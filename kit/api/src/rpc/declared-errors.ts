// Which errors a procedure can answer, from what it already declares: who may call it (`access`)
// and the domain errors its meta lists (`errors`). The OpenAPI document
// lists exactly these per operation (http/openapi.ts); a procedure added later is described by its
// own declaration, with nothing to edit here.
import { type ErrorCode, errorMap, type KitMeta } from "./base";

/** What any server error is: not in the error map, never typed (a 500 is a bug). */
export const INTERNAL_ERROR = { code: "INTERNAL_SERVER_ERROR", status: 500 } as const;

/** The part of a procedure (contract or implemented) this reads. */
export interface ProcedureDeclaration {
  meta: KitMeta;
}

/**
 * The codes of the error map a procedure can answer, in the map's order:
 * - 400: every request is read before any procedure runs (a body that cannot be decoded, a query
 *   string or body nested too deep: http/nesting.ts), and an input is validated;
 * - 429: every call is counted against a rate-limit rule (its own or `default`);
 * - 503: every call may need a dependency that is down (the session store, Postgres);
 * - 401 and 403 unless public: no caller, or a role or API key without the grant;
 * - the domain errors its meta lists.
 */
export function declaredErrors({ meta }: ProcedureDeclaration): ErrorCode[] {
  const codes = new Set<ErrorCode>(["BAD_REQUEST", "TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE", ...(meta.errors ?? [])]);
  if (meta.access !== "public") {
    codes.add("UNAUTHORIZED");
    codes.add("FORBIDDEN");
  }
  return (Object.keys(errorMap) as ErrorCode[]).filter((code) => codes.has(code));
}

/** The HTTP statuses a procedure can answer with an error, 500 included. */
export function declaredErrorStatuses(procedure: ProcedureDeclaration): number[] {
  return [...declaredErrors(procedure).map((code) => errorMap[code].status), INTERNAL_ERROR.status];
}

/** Every procedure of a contract or router, by its dotted path (the OpenAPI operationId). */
export function procedureDeclarations(router: unknown, path: string[] = []): Map<string, ProcedureDeclaration> {
  const found = new Map<string, ProcedureDeclaration>();
  const visit = (node: unknown, at: string[]) => {
    if (typeof node !== "object" || node === null) return;
    const def = (node as { "~orpc"?: { meta?: KitMeta; errorMap?: unknown } })["~orpc"];
    if (def?.meta && def.errorMap) {
      found.set(at.join("."), { meta: def.meta });
      return;
    }
    for (const [key, child] of Object.entries(node)) visit(child, [...at, key]);
  };
  visit(router, path);
  return found;
}
