// The client as a dApp's bundler sees it: it builds for the browser, and nothing of the api package
// (server code, database schemas, zod schemas) comes along — only types cross that line.
import { expect, test } from "bun:test";

test("bundles for the browser without any module of @kit/api", async () => {
  const build = await Bun.build({
    entrypoints: [`${import.meta.dir}/index.ts`],
    target: "browser",
    minify: true,
    metafile: true,
  });
  expect(build.success).toBe(true);
  const inputs = Object.keys(build.metafile?.inputs ?? {});
  expect(inputs.length).toBeGreaterThan(0);
  expect(inputs.filter((path) => path.includes("kit/api/") || path.includes("@kit/api"))).toEqual([]);
  const packages = new Set(
    inputs
      .filter((path) => path.includes("node_modules/"))
      .map((path) => {
        const rest = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length).split("/");
        return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
      }),
  );
  for (const server of ["drizzle-orm", "pg", "ioredis", "hono", "@orpc/server", "zod", "viem"]) {
    expect(packages.has(server)).toBe(false);
  }
  // A guard against a runtime import sneaking in: ~70 kB minified today.
  const bytes = (await build.outputs[0]?.text())?.length ?? 0;
  expect(bytes).toBeLessThan(150_000);
});
