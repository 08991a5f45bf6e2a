// The builders: each procedure is built from the one its contract's meta calls for (checked over the
// whole router when it is assembled), and what the access middleware learns on the way reaches the
// answer through the response-header channel, not through fields the HTTP layer reads back.
import { describe, expect, test } from "bun:test";
import { createTestKit } from "../../test/kit";
import { createUser } from "../../test/users";
import { AUTH_KEY_PREFIX } from "../domains/auth/secondary-storage";
import { getHistory } from "../domains/exchange-rates/history";
import { getSystemInfo } from "../domains/system/service";
import { getTokenMetadata } from "../domains/tokens/metadata";
import { getToken } from "../domains/tokens/service";
import { router } from "../router";
import { builderMismatches, implementRouter, publicProcedure, userProcedure } from "./implement";

describe("each procedure starts from the builder its meta calls for", () => {
  test("the router as assembled has no mismatch", () => {
    expect(builderMismatches(router)).toEqual([]);
  });

  test("a public procedure built from userProcedure stops the router from being assembled", () => {
    const wrong = () =>
      implementRouter({
        ...router,
        tokens: {
          ...router.tokens,
          metadata: {
            ...router.tokens.metadata,
            get: userProcedure.tokens.metadata.get.handler(({ context, input }) =>
              getTokenMetadata(context, input.address),
            ),
          },
        },
        system: { ...router.system, info: userProcedure.system.info.handler(({ context }) => getSystemInfo(context)) },
      });
    expect(wrong).toThrow("system.info: public, use publicProcedure");
    expect(wrong).toThrow("tokens.metadata.get: public, use publicProcedure");
  });

  test("a procedure for users built from publicProcedure stops the router from being assembled", () => {
    const wrong = () =>
      implementRouter({
        ...router,
        fx: {
          ...router.fx,
          history: publicProcedure.fx.history.handler(({ context, input }) => getHistory(context, input)),
        },
      });
    expect(wrong).toThrow("fx.history: for users, use userProcedure");
  });

  test("a public procedure's handler has no signed-in user to read (types)", () => {
    const procedure = publicProcedure.tokens.get.handler(({ context, input }) => {
      // @ts-expect-error context.user exists only for procedures built from userProcedure
      void context.user;
      return getToken(context, input.address);
    });
    expect(procedure["~orpc"].meta.access).toBe("public");
  });
});

describe("response effects travel through the context's resHeaders", async () => {
  const kit = await createTestKit();

  test("a session extended by its daily refresh during a call sends its new cookie with the answer", async () => {
    const user = await createUser(kit);
    const [name = "", value = ""] = user.cookie.split("=");
    const signed = decodeURIComponent(value);
    const token = signed.slice(0, signed.lastIndexOf("."));
    // Two days into a seven-day session: past the one-day update age, so better-auth refreshes it.
    const fiveDaysLeft = new Date(Date.now() + 5 * 24 * 3600 * 1000);
    await kit.deps.pool.query("update session set expires_at = $2 where token = $1", [token, fiveDaysLeft]);
    const key = `${AUTH_KEY_PREFIX}${token}`;
    const entry = JSON.parse((await kit.deps.redis.get(key)) ?? "null");
    entry.session.expiresAt = fiveDaysLeft.toISOString();
    await kit.deps.redis.set(key, JSON.stringify(entry), "KEEPTTL");

    const response = await kit.request("/api/me", { headers: { cookie: user.cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith(`${name}=`))).toBe(true);
    // The rate-limit fields travel the same way, beside the cookie.
    expect(response.headers.get("ratelimit-limit")).toMatch(/^\d+$/);
  });

  test("the access log and metrics name the procedure the call reached", async () => {
    expect((await kit.request("/api/fx/currencies")).status).toBe(200);
    const metrics = await (await kit.request("/metrics")).text();
    expect(metrics).toMatch(/kit_http_requests_total\{method="GET",route="fx\.currencies",status="200"\} 1/);
  });
});
