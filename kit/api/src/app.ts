// The Hono app, put together from the HTTP layer's pieces (http/), in the order a request meets them.
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { Deps } from "./deps";
import { accessLog } from "./http/access-log";
import type { AppEnv } from "./http/app-env";
import { mountAuth } from "./http/auth-mount";
import { limitBody } from "./http/body-limit";
import { CONSOLE_PREFIX, createConsoleRoutes } from "./http/console";
import { mountDevMail } from "./http/dev-mail";
import { createDocsRoutes } from "./http/docs";
import { mountDocumentDownloadRoute } from "./http/document-route";
import { mountDossierRoute } from "./http/dossier-route";
import { errorResponse } from "./http/errors";
import { boundNesting } from "./http/nesting";
import { openApiDocument } from "./http/openapi";
import { addOperationalRoutes, type OperationalOptions } from "./http/operational-routes";
import { mountRpc } from "./http/rpc-mount";
import { corsForConfiguredOrigins, securityHeaders } from "./http/security-headers";
import { createMetrics, type Metrics } from "./infra/metrics";
import { replicaMetrics } from "./infra/replica-guard";
import { router } from "./router";
import { createRpcHandlers } from "./rpc/handlers";

export interface App {
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>;
  hono: Hono<AppEnv>;
  metrics: Metrics;
}

export interface AppOptions extends OperationalOptions {
  /** The process's metrics, when other parts of it (the worker) count into the same registry. */
  metrics?: Metrics;
}

export function createApp(deps: Deps, options: AppOptions = {}): App {
  const { config } = deps;
  const metrics = options.metrics ?? createMetrics();
  // The api's lists are what reads the replica: it measures the lag from the start, and reports it.
  const replica = deps.dbRead !== deps.db ? deps.local.replica : undefined;
  if (replica) {
    replica.start();
    replicaMetrics(metrics.registry, replica);
  }
  const app = new Hono<AppEnv>();

  app.use(requestId({ limitLength: 64 }));
  app.use(accessLog(deps.log, metrics));
  app.use(securityHeaders(config));
  app.use(corsForConfiguredOrigins(config));

  addOperationalRoutes(app, deps, metrics, { ...options, replica });
  app.get(
    "/api/openapi.json",
    openApiDocument(router, async () => ({
      version: config.version,
      sessionCookieName: (await deps.auth.$context).authCookies.sessionToken.name,
    })),
  );
  app.route("/docs", createDocsRoutes());
  app.route(
    CONSOLE_PREFIX,
    createConsoleRoutes({
      devPublicUrl: config.env === "development" ? config.auth.publicUrl : undefined,
      devOutbox: Boolean(config.mail.devStoreDir) && config.env !== "production",
    }),
  );

  const guards = { limitBody: limitBody(config), boundNesting: boundNesting() };
  mountAuth(app, deps, guards);
  mountDevMail(app, deps);
  mountRpc(app, deps, metrics, createRpcHandlers(router), guards);
  // After the procedures: the /api guards run first, and a path no procedure matched reaches it.
  mountDossierRoute(app, deps, metrics);
  mountDocumentDownloadRoute(app, deps);

  app.notFound((c) =>
    errorResponse(c, { code: "NOT_FOUND", status: 404, message: `No route for ${c.req.method} ${c.req.path}.` }),
  );
  app.onError((error, c) => {
    c.get("log").error({ err: error }, "unhandled error");
    return errorResponse(c, { code: "INTERNAL_SERVER_ERROR", status: 500, message: "Internal server error." });
  });

  return { fetch: app.fetch, hono: app, metrics };
}

/** What a process without the api role answers on PORT: /health, /ready and /metrics, nothing else. */
export function createOperationalApp(deps: Deps, options: AppOptions = {}): App {
  const metrics = options.metrics ?? createMetrics();
  const app = new Hono<AppEnv>();
  addOperationalRoutes(app, deps, metrics, options);
  app.notFound((c) =>
    errorResponse(c, {
      code: "NOT_FOUND",
      status: 404,
      message: `No route for ${c.req.method} ${c.req.path}; this process serves /health, /ready and /metrics.`,
    }),
  );
  app.onError((error, c) => {
    deps.log.error({ err: error }, "unhandled error");
    return errorResponse(c, { code: "INTERNAL_SERVER_ERROR", status: 500, message: "Internal server error." });
  });
  return { fetch: app.fetch, hono: app, metrics };
}
