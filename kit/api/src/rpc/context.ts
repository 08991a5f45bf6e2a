import type { Deps } from "../deps";
import type { RateLimitResult } from "../infra/rate-limiter";

/** What every procedure receives: the process's clients plus this request's own facts. */
export interface RequestContext extends Deps {
  requestId: string;
  /** Client address as seen by the server (the proxy's when behind one). */
  clientIp: () => string | undefined;
  headers: Headers;
  /** Filled by the handler once the procedure is known; read by metrics and the access log. */
  trace: {
    procedure?: string;
    rateLimit?: RateLimitResult;
    /** The rule `rateLimit` was counted against. */
    rateLimitRule?: string;
    rateLimitFailedOpen?: boolean;
    setCookies?: string[];
  };
}
