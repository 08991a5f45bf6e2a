import { describe, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createTestKit } from "../test/kit";
import { createApp } from "./app";

const kit = await createTestKit({ chain: true });

describe("operational routes", () => {
  test("/health answers without touching dependencies", async () => {
    const response = await kit.request("/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test("/ready reports every dependency up with its latency", async () => {
    const response = await kit.request("/ready");
    const body = (await response.json()) as {
      status: string;
      failing: string[];
      dependencies: Record<string, { up: boolean; latencyMs: number }>;
    };
    expect(response.status).toBe(200);
    expect(body.status).toBe("ready");
    expect(body.failing).toEqual([]);
    expect(Object.keys(body.dependencies).sort()).toEqual(["chain", "postgres", "redis", "s3"]);
    for (const status of Object.values(body.dependencies)) {
      expect(status.up).toBe(true);
      expect(status.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  test("/metrics exposes request counts and durations by procedure and status, and process metrics", async () => {
    await kit.request("/api/system/info");
    const text = await (await kit.request("/metrics")).text();
    expect(text).toMatch(/kit_http_requests_total\{method="GET",route="system\.info",status="200"\} [1-9]/);
    expect(text).toMatch(
      /kit_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="system\.info",status="200"\}/,
    );
    expect(text).toContain("kit_process_resident_memory_bytes");
  });

  test("/metrics with METRICS_TOKEN: 401 without `Authorization: Bearer <it>`, the metrics with it", async () => {
    const token = "metrics-token-0123456789abcdef";
    const config = { ...kit.config, http: { ...kit.config.http, metricsToken: token } };
    const app = createApp({ ...kit.deps, config });
    const scrape = (authorization?: string) =>
      app.fetch(new Request("http://kit.test/metrics", { headers: authorization ? { authorization } : {} }));
    for (const authorization of [
      undefined,
      "Bearer wrong",
      `Basic ${token}`,
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      token,
    ]) {
      const refused = await scrape(authorization);
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toStartWith("Bearer");
      const text = await refused.text();
      expect(JSON.parse(text).code).toBe("UNAUTHORIZED");
      expect(text).not.toContain(token);
    }
    const allowed = await scrape(`Bearer ${token}`);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain("kit_process_resident_memory_bytes");
  });

  test("every response carries a request id and security headers", async () => {
    const response = await kit.request("/health", { headers: { "x-request-id": "abc-123" } });
    expect(response.headers.get("x-request-id")).toBe("abc-123");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
    const generated = await kit.request("/health");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("CORS allows configured origins only", async () => {
    const allowed = await kit.request("/api/system/info", {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "GET" },
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    const refused = await kit.request("/api/system/info", { headers: { origin: "https://evil.example" } });
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("unknown routes are a typed 404", async () => {
    for (const path of ["/nope", "/api/nope", "/rpc/nope"]) {
      const response = await kit.request(path);
      expect(response.status).toBe(404);
      const body = (await response.json()) as Record<string, unknown>;
      const error = (path.startsWith("/rpc") ? body.json : body) as { code: string };
      expect(error.code).toBe("NOT_FOUND");
    }
  });
});

describe("API description", () => {
  test("/api/openapi.json is valid OpenAPI 3.1 describing the procedures", async () => {
    const response = await kit.request("/api/openapi.json");
    expect(response.status).toBe(200);
    const spec = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toStartWith("3.1");
    expect(Object.keys(spec.paths)).toContain("/system/info");
    // validate() throws on any schema violation; it also dereferences, so pass a copy.
    await SwaggerParser.validate(structuredClone(spec) as never);
  });

  test("/docs serves the reference page and its assets from this server", async () => {
    const page = await kit.request("/docs");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("/docs/swagger-ui-bundle.js");
    for (const asset of [
      "/docs/swagger-ui-bundle.js",
      "/docs/swagger-ui-standalone-preset.js",
      "/docs/swagger-ui.css",
      "/docs/init.js",
    ]) {
      const response = await kit.request(asset);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(10);
    }
    const init = await (await kit.request("/docs/init.js")).text();
    expect(init).toContain("/api/openapi.json");
    expect(init).toContain("/api/auth/open-api/generate-schema");
  });

  test("better-auth's own OpenAPI document, shown beside the procedures, is served", async () => {
    const response = await kit.request("/api/auth/open-api/generate-schema");
    expect(response.status).toBe(200);
    const spec = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toStartWith("3.");
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(["/sign-in/email", "/siwe/verify"]));
  });
});
