import type pg from "pg";
import type { ResolvedConfig } from "../config";
import type { Auth } from "../domains/auth/auth";
import type { Chain } from "../infra/chain";
import type { Database } from "../infra/db";
import type { Logger } from "../infra/log";
import type { RateLimitResult } from "../infra/rate-limiter";
import type { Redis } from "../infra/redis";
import type { Storage } from "../infra/storage";
import type { JobQueue } from "../jobs/names";
import type { RateLimitRules } from "./rate-limit-rules";

/** The long-lived clients of one process. Services take the parts they need. */
export interface Deps {
  config: ResolvedConfig;
  pool: pg.Pool;
  db: Database;
  redis: Redis;
  storage: Storage;
  chain: Chain;
  log: Logger;
  auth: Auth;
  /** Queues jobs for the worker role (any process may enqueue). */
  jobs: JobQueue;
  rateLimitRules: RateLimitRules;
  startedAt: number;
}

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
