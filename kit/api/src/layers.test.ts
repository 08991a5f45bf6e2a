// The layering rules of docs/architecture.md (Layers), checked on the source: a domain stands on
// the ground floor (deps.ts, config, errors, infra/) and on the builders of its own procedures, never
// on the rpc/ or jobs/ machinery that calls it; and domains depend on each other one way only.
// The contract the typed client compiles stands on schemas alone: no config, infra, jobs or runtime.
// Import cycles between files are checked by `bun run lint:cycles` (dpdm).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const SRC = import.meta.dir;
const DOMAINS = join(SRC, "domains");

/**
 * What a domain may import from rpc/ and jobs/: the contract builder (rpc/base), the router
 * builder (rpc/implement), the access checks a procedure makes (rpc/access), the request's own
 * context type (rpc/context), and the rate-limit rule names a contract and the sign-in limits use.
 * Shared types (Deps, JobQueue, JobDefinition, DomainEvents) are in deps.ts.
 */
const ALLOWED = new Set([
  "rpc/base",
  "rpc/implement",
  "rpc/access",
  "rpc/context",
  "rpc/rate-limit-rules",
  "rpc/rate-limit-names",
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Every relative import of a file (static, dynamic, type-only and re-exports), resolved under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) => match[1] ?? "");
  return specifiers.map((specifier) => relative(SRC, resolve(dirname(file), specifier)).replace(/\.ts$/, ""));
}

const domainFiles = sourceFiles(DOMAINS);
const domainOf = (path: string) => (path.startsWith("domains/") ? path.split("/")[1] : undefined);

describe("layers", () => {
  test("the check sees the domains' files and their imports", () => {
    expect(domainFiles.length).toBeGreaterThan(50);
    expect(importsOf(join(DOMAINS, "auth", "router.ts"))).toContain("rpc/implement");
  });

  test("domains import from rpc/ and jobs/ only the builders and the request context", () => {
    const offending = domainFiles.flatMap((file) =>
      importsOf(file)
        .filter((path) => /^(rpc|jobs)\//.test(path) && !ALLOWED.has(path))
        .map((path) => `${relative(SRC, file)} imports ${path}`),
    );
    expect(offending).toEqual([]);
  });

  test("domains depend on each other one way only", () => {
    const edges = new Map<string, Set<string>>();
    for (const file of domainFiles) {
      const from = domainOf(relative(SRC, file));
      if (!from) continue;
      for (const path of importsOf(file)) {
        const to = domainOf(path);
        if (!to || to === from) continue;
        const targets = edges.get(from) ?? new Set<string>();
        targets.add(to);
        edges.set(from, targets);
      }
    }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
      if (from === to) return true;
      if (seen.has(from)) return false;
      seen.add(from);
      return [...(edges.get(from) ?? [])].some((next) => reaches(next, to, seen));
    };
    // An edge lies on a cycle when its target leads back to its source.
    const onCycles = [...edges].flatMap(([from, targets]) =>
      [...targets].filter((to) => reaches(to, from)).map((to) => `${from} -> ${to}`),
    );
    expect(onCycles).toEqual([]);
  });
});

/** Packages that only a server runs: a contract file importing one drags it into every dApp's compile. */
const SERVER_PACKAGES = [
  "@aws-sdk/",
  "@orpc/server",
  "better-auth",
  "bullmq",
  "drizzle-orm",
  "hono",
  "ioredis",
  "pg",
  "pino",
  "prom-client",
];

/**
 * Every file reachable from `entry` (imports of any kind: static, type-only, dynamic, re-exports), and
 * what each one imports that is not a relative path, as TypeScript's own scanner reads them.
 */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const specifiers = importedFiles.map((imported) => imported.fileName);
    graph.set(
      file,
      specifiers.filter((specifier) => !specifier.startsWith(".")),
    );
    for (const specifier of specifiers.filter((s) => s.startsWith("."))) {
      const base = resolve(dirname(file), specifier);
      const target = [`${base}.ts`, join(base, "index.ts"), base].find(
        (path) => existsSync(path) && path.endsWith(".ts"),
      );
      // An import the walk cannot follow (a JSON file, a typo) is a finding, not a silent gap.
      if (target) visit(target);
      else graph.set(`${base} (unresolved)`, []);
    }
  };
  visit(entry);
  return graph;
}

/** Why a file may not be in the contract's graph, or undefined when it may. */
function impurity(file: string, packages: string[]): string | undefined {
  const path = relative(SRC, file);
  if (path.endsWith("(unresolved)")) return "an import the check cannot follow";
  if (path === "config.ts" || /^(infra|jobs)\//.test(path)) return "config, infra or jobs";
  const builtin = packages.find(
    (name) => name.startsWith("node:") || name === "bun" || name.startsWith("bun:") || builtinModules.includes(name),
  );
  if (builtin) return `imports the runtime's ${builtin}`;
  const server = packages.find((name) =>
    SERVER_PACKAGES.some((p) => name === p || name.startsWith(p.endsWith("/") ? p : `${p}/`)),
  );
  if (server) return `imports the server package ${server}`;
  return undefined;
}

const impurities = (entry: string) =>
  [...importGraph(entry)].flatMap(([file, packages]) => {
    const why = impurity(file, packages);
    return why ? [`${relative(SRC, file)}: ${why}`] : [];
  });

describe("the contract the typed client compiles", () => {
  test("the check follows every kind of import and sees what a server file pulls in", () => {
    const files = [...importGraph(join(SRC, "contract.ts")).keys()].map((file) => relative(SRC, file));
    expect(files).toContain("rpc/base.ts");
    expect(files).toContain("contract-fields.ts");
    // The rules read config and infra: were the contract to import them, this is what it would report.
    expect(impurities(join(SRC, "rpc", "rate-limit-rules.ts"))).toEqual(
      expect.arrayContaining(["config.ts: config, infra or jobs", "infra/rate-limiter.ts: config, infra or jobs"]),
    );
    expect(impurities(join(SRC, "domains", "auth", "permissions.ts"))).toEqual([
      "domains/auth/permissions.ts: imports the server package better-auth/plugins/access",
    ]);
  });

  test("reaches no config, infra, jobs, runtime built-in or server package", () => {
    expect(impurities(join(SRC, "contract.ts"))).toEqual([]);
  });
});
