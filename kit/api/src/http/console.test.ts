import { afterAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { createTestKit } from "../../test/kit";
import { CONSOLE_PREFIX, createConsoleRoutes } from "./console";

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));

async function consoleApp(build: boolean, devPublicUrl?: string) {
  const dist = await mkdtemp(join(tmpdir(), "kit-console-"));
  made.push(dist);
  if (build) {
    await mkdir(join(dist, "assets"));
    await writeFile(join(dist, "index.html"), "<!doctype html><title>console</title>");
    await writeFile(join(dist, "assets", "index-abc.js"), "console.log(1)");
  }
  const app = new Hono();
  app.route(CONSOLE_PREFIX, createConsoleRoutes({ dist, devPublicUrl }));
  return (path: string, host = "localhost:3000") => app.request(`http://${host}${path}`);
}

describe("/console", () => {
  test("in development, opened at another name for the server, it names the address to use and goes there", async () => {
    const get = await consoleApp(true, "http://localhost:3000");
    const response = await get("/console/users?x=1", "127.0.0.1:3000");
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("http://localhost:3000/console/users?x=1");
    expect(await response.text()).toContain("http://localhost:3000/console/users?x=1");
    expect((await get("/console/users", "localhost:3000")).status).toBe(200);
  });

  test("without a build, says how to build it", async () => {
    const get = await consoleApp(false);
    const response = await get("/console/");
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("bun run build");
  });

  test("serves assets, and index.html for every app path", async () => {
    const get = await consoleApp(true);
    for (const path of ["/console", "/console/", "/console/applications/123", "/console/users?x=1"]) {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(await response.text()).toContain("<title>console</title>");
    }
    const asset = await get("/console/assets/index-abc.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await get("/console/assets/missing.js")).status).toBe(404);
  });

  test("never serves a file outside its folder", async () => {
    const get = await consoleApp(true);
    for (const path of [
      "/console/../package.json",
      "/console/%2e%2e/%2e%2e/package.json",
      "/console/..%2fpackage.json",
    ]) {
      const response = await get(path);
      expect(response.status === 404 || (await response.text()).includes("<title>console</title>")).toBe(true);
    }
  });

  test("the console's CSP lets document previews load from the object store; the API's does not", async () => {
    const kit = await createTestKit();
    const store = new URL(kit.config.s3.endpoint).origin;
    const consolePolicy = (await kit.request("/console/")).headers.get("content-security-policy") ?? "";
    expect(consolePolicy).toContain(`img-src 'self' data: blob: ${store}`);
    expect(consolePolicy).toContain(`connect-src 'self' ${store}`);
    expect(consolePolicy).toContain("script-src 'self'");
    const apiPolicy = (await kit.request("/health")).headers.get("content-security-policy") ?? "";
    expect(apiPolicy).not.toContain(store);
    expect(apiPolicy).toContain("frame-ancestors 'none'");
  });
});
