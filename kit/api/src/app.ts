// The Hono app: cross-cutting middleware, operational routes, and the two oRPC handlers.
import { createHash, timingSafeEqual } from "node:crypto";
import { OpenAPIGenerator } from "@orpc/openapi";
import { ZodToJsonSchemaConverter } from "@orpc/zod/zod4";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { Deps } from "./deps";
import { CLIENT_IP_HEADER, trustedOrigins } from "./domains/auth/auth";
import { checkAuthAttempt, rememberSignInAddress, type SignInAttempt } from "./domains/auth/brute-force";
import { checkDependencies } from "./domains/system/service";
import type { RunningIndexer } from "./domains/tokens/indexer";
import { clientAddress } from "./http/client-ip";
import { CONSOLE_PREFIX, consoleContentSecurityPolicy, createConsoleRoutes, isConsolePath } from "./http/console";
import { refuseCrossSiteRequests } from "./http/cross-site";
import { createDocsRoutes } from "./http/docs";
import { errorResponse, markRetryable } from "./http/errors";
import { boundNesting } from "./http/nesting";
import { isDatabaseUnavailable } from "./infra/db";
import { createMetrics, type Metrics } from "./infra/metrics";
import type { RateLimitResult } from "./infra/rate-limiter";
import type { RunningWorker } from "./jobs/worker";
import { router } from "./router";
import type { RequestContext } from "./rpc/context";
import { createRpcHandlers, DATABASE_UNAVAILABLE_MESSAGE } from "./rpc/handlers";

type AppEnv = { Variables: { requestId: string; trace: RequestContext["trace"]; log: Deps["log"] } };

/** Fixed routes are labelled by their pattern; procedures by their name; the rest as one bucket. */
const OPERATIONAL_ROUTES = new Set(["/health", "/ready", "/metrics", "/api/openapi.json", "/docs", "/console"]);

export interface App {
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>;
  hono: Hono<AppEnv>;
  metrics: Metrics;
}

export interface AppOptions {
  /** The process's metrics, when other parts of it (the worker) count into the same registry. */
  metrics?: Metrics;
  /** Set when this process runs the worker: /ready then reports each job's last outcome. */
  worker?: Pick<RunningWorker, "status">;
  /** Set when this process runs the indexer: /ready then reports it (lagging too far: not ready). */
  indexer?: Pick<RunningIndexer, "status">;
}

export function createApp(deps: Deps, options: AppOptions = {}): App {
  const { config } = deps;
  const metrics = options.metrics ?? createMetrics();
  // Every rule's series exists from the start, so an alert on its rate sees 0 rather than nothing.
  for (const rule of Object.keys(deps.rateLimitRules)) metrics.rateLimited.inc({ rule }, 0);
  const handlers = createRpcHandlers(router);
  const app = new Hono<AppEnv>();

  app.use(requestId({ limitLength: 64 }));
  app.use(async (c, next) => {
    const started = performance.now();
    const trace: RequestContext["trace"] = {};
    const log = deps.log.child({ reqId: c.get("requestId") });
    c.set("trace", trace);
    c.set("log", log);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const path = c.req.path;
    const route =
      trace.procedure ??
      (OPERATIONAL_ROUTES.has(path)
        ? path
        : path.startsWith("/docs/")
          ? "/docs/*"
          : path.startsWith("/console/")
            ? "/console/*"
            : "unmatched");
    const labels = { method: c.req.method, route, status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
    // Paths only, never query strings: they can carry search terms typed by users.
    if (path !== "/health" && path !== "/metrics") {
      log.info(
        { method: c.req.method, path, route, status: c.res.status, ms: Math.round(seconds * 10_000) / 10 },
        "request",
      );
    }
  });
  const apiHeaders = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      frameAncestors: ["'none'"],
    },
  });
  // The console also shows KYC documents from the object store (see http/console.ts).
  const consoleHeaders = secureHeaders({ contentSecurityPolicy: consoleContentSecurityPolicy(config) });
  app.use((c, next) => (isConsolePath(c.req.path) ? consoleHeaders : apiHeaders)(c, next));
  app.use(
    cors({
      origin: config.http.corsOrigins,
      credentials: true,
      allowHeaders: ["content-type", "authorization", "x-request-id"],
      // set-auth-token: the bearer plugin's token, which wallet and mobile clients read after sign-in.
      exposeHeaders: [
        "x-request-id",
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "set-auth-token",
      ],
      maxAge: 600,
    }),
  );

  addOperationalRoutes(app, deps, metrics, options.worker, options.indexer);

  let spec: Promise<unknown> | undefined;
  app.get("/api/openapi.json", async (c) => {
    spec ??= new OpenAPIGenerator({ schemaConverters: [new ZodToJsonSchemaConverter()] }).generate(router, {
      info: {
        title: "Kit API",
        version: config.version,
        description: "REST face of Kit's procedures. The typed client uses the same procedures over /rpc.",
      },
      servers: [{ url: "/api" }],
    });
    return c.json(await spec);
  });
  app.route("/docs", createDocsRoutes());
  app.route(
    CONSOLE_PREFIX,
    createConsoleRoutes({ devPublicUrl: config.env === "development" ? config.auth.publicUrl : undefined }),
  );

  const limitBody = bodyLimit({
    maxSize: config.http.bodyLimitBytes,
    onError: (c) =>
      errorResponse(c, {
        code: "BAD_REQUEST",
        status: 400,
        message: `The request body is larger than ${config.http.bodyLimitBytes} bytes; send less data.`,
        data: { issues: [{ path: "", message: `body exceeds ${config.http.bodyLimitBytes} bytes` }] },
      }),
  });
  const nesting = boundNesting();
  // better-auth: sign-up/in/out, SIWE, sessions, API keys, its own admin endpoints. It checks the
  // Origin of cookie requests itself (INVALID_ORIGIN).
  app.on(["GET", "POST"], "/api/auth/*", limitBody, nesting, async (c) => {
    const path = c.req.path.slice("/api/auth".length);
    // Kit's users.* procedures are the one admin surface (its rules, limits and audit); the
    // admin plugin stays for its fields and its ban check at sign-in, not for its endpoints.
    if (path.startsWith("/admin/")) {
      return errorResponse(c, {
        code: "NOT_FOUND",
        status: 404,
        message: "User administration is at /api/users (users.list, users.setRole, users.ban, …).",
      });
    }
    const address = clientAddress(c, config.auth.trustProxyHops) ?? "unknown";
    let signIn: SignInAttempt | undefined;
    if (c.req.method === "POST") {
      const text = await c.req.raw.clone().text();
      // better-auth also reads form bodies; Kit's limiter reads JSON. One format, so the limiter sees
      // exactly the fields better-auth acts on (better-auth's own clients send JSON).
      if (text !== "" && !isJson(c.req.header("content-type"))) {
        return errorResponse(c, {
          code: "UNSUPPORTED_MEDIA_TYPE",
          status: 415,
          message: "Send /api/auth requests as JSON, with content-type: application/json.",
        });
      }
      const check = await checkAuthAttempt(deps, path, parseJson(text), address);
      if (check.outcome === "unavailable") {
        return errorResponse(c, {
          code: "SERVICE_UNAVAILABLE",
          status: 503,
          message: "Signing in is briefly unavailable; retry in a minute.",
        });
      }
      if (check.outcome === "limited") {
        const retry = `retry in ${check.rateLimit.resetSeconds} s`;
        const response = errorResponse(c, {
          code: "TOO_MANY_REQUESTS",
          status: 429,
          message:
            check.scope === "address"
              ? `Too many sign-in attempts for this account from your address; ${retry}.`
              : `Too many sign-in attempts for this account from new addresses; ${retry}, or sign in from an address you have signed in from before.`,
          data: { retryAfterSeconds: check.rateLimit.resetSeconds },
        });
        setRateLimitHeaders(response.headers, check.rateLimit);
        return response;
      }
      signIn = check.signIn;
    }
    c.get("trace").procedure = routeLabelForAuth(path);
    const request = new Request(c.req.raw);
    request.headers.set(CLIENT_IP_HEADER, address);
    try {
      const response = markRetryable(await deps.auth.handler(request));
      if (signIn && response.status === 200) await rememberSignInAddress(deps, signIn);
      return response;
    } catch (error) {
      // better-auth answers its own API errors; anything else is thrown here (onAPIError.throw).
      if (!isDatabaseUnavailable(error)) throw error;
      c.get("log").warn({ err: error }, "auth request failed: database unavailable");
      return errorResponse(c, { code: "SERVICE_UNAVAILABLE", status: 503, message: DATABASE_UNAVAILABLE_MESSAGE });
    }
  });

  const crossSite = refuseCrossSiteRequests(trustedOrigins(config));

  const mount = (prefix: "/rpc" | "/api", handler: ReturnType<typeof createRpcHandlers>["rpc" | "openapi"]) => {
    app.use(`${prefix}/*`, crossSite, limitBody, nesting, async (c, next) => {
      let ip: string | null | undefined;
      const context: RequestContext = {
        ...deps,
        log: c.get("log"),
        requestId: c.get("requestId"),
        // Resolved on demand: most calls are signed in and never need it.
        clientIp: () => {
          ip ??= clientAddress(c, config.auth.trustProxyHops) ?? null;
          return ip ?? undefined;
        },
        headers: c.req.raw.headers,
        trace: c.get("trace"),
      };
      const { matched, response } = await handler.handle(c.req.raw, { prefix, context });
      if (!matched) return next();
      if (context.trace.rateLimit) setRateLimitHeaders(response.headers, context.trace.rateLimit);
      if (context.trace.rateLimitFailedOpen) metrics.rateLimitFailOpen.inc();
      if (context.trace.rateLimit?.allowed === false) {
        metrics.rateLimited.inc({ rule: context.trace.rateLimitRule ?? "unknown" });
      }
      for (const cookie of context.trace.setCookies ?? []) response.headers.append("set-cookie", cookie);
      return markRetryable(response);
    });
  };
  mount("/rpc", handlers.rpc);
  mount("/api", handlers.openapi);

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
  addOperationalRoutes(app, deps, metrics, options.worker, options.indexer);
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

function addOperationalRoutes(
  app: Hono<AppEnv>,
  deps: Deps,
  metrics: Metrics,
  worker: AppOptions["worker"] | undefined,
  indexer?: AppOptions["indexer"],
): void {
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    const [dependencies, jobs] = await Promise.all([
      checkDependencies(deps, deps.config.http.readyTimeoutMs),
      // null: Redis did not say (and is then failing itself).
      worker?.status().catch(() => null),
    ]);
    const failing = Object.entries(dependencies)
      .filter(([, s]) => !s.up)
      .map(([name]) => name);
    // A job that fails does not make the process unready; a scheduled job that no longer runs does.
    for (const [name, job] of Object.entries(jobs ?? {})) if (job.overdue) failing.push(`job:${name}`);
    const indexerStatus = indexer?.status();
    if (indexerStatus && !indexerStatus.ready) failing.push("indexer");
    return c.json(
      {
        status: failing.length === 0 ? "ready" : "not_ready",
        failing,
        dependencies,
        ...(worker ? { jobs } : {}),
        ...(indexerStatus ? { indexer: indexerStatus } : {}),
      },
      failing.length === 0 ? 200 : 503,
    );
  });
  app.get("/metrics", async (c) => {
    const token = deps.config.http.metricsToken;
    if (token && !bearerMatches(c.req.header("authorization"), token)) {
      c.header("www-authenticate", 'Bearer realm="metrics"');
      return errorResponse(c, {
        code: "UNAUTHORIZED",
        status: 401,
        message: "/metrics needs `Authorization: Bearer <METRICS_TOKEN>`.",
      });
    }
    return c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType });
  });
}

/** `Bearer <token>`, compared in constant time (digests: equal lengths whatever was sent). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match?.[1] ?? ""), digest(token)) && match !== null;
}

/** IETF draft RateLimit fields, plus Retry-After when refused. */
function setRateLimitHeaders(headers: Headers, result: RateLimitResult): void {
  headers.set("ratelimit-limit", String(result.limit));
  headers.set("ratelimit-remaining", String(result.remaining));
  headers.set("ratelimit-reset", String(result.resetSeconds));
  if (!result.allowed) headers.set("retry-after", String(Math.max(1, result.resetSeconds)));
}

/** `application/json`, with or without parameters (charset): the one body format /api/auth takes. */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === "application/json";
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Metric label for better-auth routes: its fixed endpoint paths, or one bucket for anything else. */
function routeLabelForAuth(path: string): string {
  return /^\/[a-z0-9-]+(\/[a-z0-9-]+){0,2}$/.test(path) && path.length <= 48 ? `auth${path}` : "auth:other";
}
