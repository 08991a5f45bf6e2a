import type { Logger } from "../infra/log";

/** What Kit's Hono middlewares share for one request (`c.get` / `c.set`). */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The request's logger: the process's, with the request id on every line (http/access-log.ts). */
    log: Logger;
    /**
     * The access log's and metrics' label for a request that reached a procedure (its dotted name,
     * from rpc/handlers.ts through the context's `recordProcedure`) or a better-auth endpoint.
     */
    route?: string;
  };
}
