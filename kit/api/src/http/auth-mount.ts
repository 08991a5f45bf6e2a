// /api/auth/* goes to better-auth (sign-up/in/out, SIWE, sessions, API keys), behind Kit's own
// checks: JSON bodies only, and a per-account brute-force limit on e-mail sign-in. better-auth
// checks the Origin of cookie requests itself (INVALID_ORIGIN).
import type { Context, Hono } from "hono";
import type { Deps } from "../deps";
import { CLIENT_IP_HEADER } from "../domains/auth/auth";
import { checkAuthAttempt, rememberSignInAddress, type SignInAttempt } from "../domains/auth/brute-force";
import { countSignInFailure } from "../domains/auth/sign-in-failures";
import { isDatabaseUnavailable } from "../infra/db";
import { setRateLimitHeaders } from "../infra/rate-limiter";
import { DATABASE_UNAVAILABLE_MESSAGE } from "../rpc/handlers";
import type { AppEnv } from "./app-env";
import { authDocumentOf } from "./auth-openapi";
import type { BodyGuards } from "./body-limit";
import { clientAddress } from "./client-ip";
import { errorResponse, markRetryable } from "./errors";

/**
 * Answers that must not tell by their timing whether an account exists (for an account, a reset
 * mail is queued; for none, nothing is): they take at least this long. better-auth's resend of the
 * verification mail has a floor of its own (500 ms).
 */
const ANSWER_FLOOR_MS: Record<string, number> = { "/request-password-reset": 400 };

export function mountAuth(app: Hono<AppEnv>, deps: Deps, guards: BodyGuards): void {
  // Kit's own account of /api/auth (what it serves, with its rules), in place of better-auth's.
  const authDocument = authDocumentOf(deps.auth);
  app.get("/api/auth/open-api/generate-schema", async (c) => {
    c.set("route", "auth/open-api/generate-schema");
    return c.json(await authDocument());
  });
  app.on(["GET", "POST"], "/api/auth/*", guards.limitBody, guards.boundNesting, async (c) => {
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
    const address = clientAddress(c, deps.config.auth.trustProxyHops) ?? "unknown";
    let signIn: SignInAttempt | undefined;
    if (c.req.method === "POST") {
      const screened = await screenAttempt(c, deps, path, address);
      if (screened instanceof Response) return screened;
      signIn = screened;
    }
    c.set("route", routeLabelForAuth(path));
    const floor = ANSWER_FLOOR_MS[path];
    if (!floor) return forward(c, deps, address, signIn);
    const started = performance.now();
    const response = await forward(c, deps, address, signIn);
    const wait = floor - (performance.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return response;
  });
}

/** A POST's body format and brute-force check: the refusal to send, or the sign-in to remember if it succeeds. */
async function screenAttempt(
  c: Context<AppEnv>,
  deps: Deps,
  path: string,
  address: string,
): Promise<Response | SignInAttempt | undefined> {
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
    await countSignInFailure(deps, { ...check.attempt, outcome: "limited", scope: check.scope });
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
  return check.signIn;
}

async function forward(
  c: Context<AppEnv>,
  deps: Deps,
  address: string,
  signIn: SignInAttempt | undefined,
): Promise<Response> {
  const request = new Request(c.req.raw);
  request.headers.set(CLIENT_IP_HEADER, address);
  try {
    const response = markRetryable(await deps.auth.handler(request));
    if (signIn && response.status === 200) await rememberSignInAddress(deps, signIn);
    // A refusal of better-auth's own (wrong password, unknown account, banned, unverified): counted
    // for the hourly summary in the audit trail. Its 5xx are not the caller's failure.
    if (signIn && response.status >= 400 && response.status < 500) {
      await countSignInFailure(deps, { account: signIn.account, address: signIn.address, outcome: "failed" });
    }
    return response;
  } catch (error) {
    // better-auth answers its own API errors; anything else is thrown here (onAPIError.throw).
    if (!isDatabaseUnavailable(error)) throw error;
    c.get("log").warn({ err: error }, "auth request failed: database unavailable");
    return errorResponse(c, { code: "SERVICE_UNAVAILABLE", status: 503, message: DATABASE_UNAVAILABLE_MESSAGE });
  }
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
