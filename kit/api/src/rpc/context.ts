import type { Deps } from "../deps";
import type { Caller, CallerUser } from "../domains/auth/session";
import type { Metrics } from "../infra/metrics";

/**
 * What every procedure receives: the process's clients plus this request's own facts. The HTTP
 * layer (http/rpc-mount.ts) builds it per request. What a call leaves behind besides its answer
 * goes through the two explicit channels below, never through fields a handler fills for the HTTP
 * layer to read back.
 */
export interface RequestContext extends Deps {
  requestId: string;
  /** Client address as seen by the server (the proxy's when behind one). */
  clientIp: () => string | undefined;
  headers: Headers;
  /**
   * Headers for the response (Set-Cookie from better-auth, RateLimit-*, Retry-After). oRPC's
   * ResponseHeadersPlugin (rpc/handlers.ts) adds them to the answer, error answers included.
   */
  resHeaders: Headers;
  /** The process's counters the access middleware adds to (calls refused by a rule, calls let through without Redis). */
  metrics: Pick<Metrics, "rateLimited" | "rateLimitFailOpen">;
  /**
   * Called once per call by the handlers' interceptor (rpc/handlers.ts) with the procedure's dotted
   * name, when the path matched one: the HTTP layer labels its access log line and metrics with it.
   */
  recordProcedure: (name: string) => void;
}

/** A caller the access middleware let through as a signed-in user: by session or by API key (`via`). */
export type SignedInCaller = Extract<Caller, { kind: "user" }>;

/** What a procedure built from `userProcedure` (rpc/implement.ts) receives. */
export interface UserContext extends RequestContext {
  caller: SignedInCaller;
  /** `caller.user`, the signed-in user. */
  user: CallerUser;
}
