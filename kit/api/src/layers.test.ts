// The layering rules of docs/architecture.md (Layers), checked on the source: a domain stands on
// the ground floor (deps.ts, config, errors, infra/) and on the builders of its own procedures, never
// on the rpc/ or jobs/ machinery that calls it; and domains depend on each other one way only.
// Import cycles between files are checked by `bun run lint:cycles` (dpdm).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = import.meta.dir;
const DOMAINS = join(SRC, "domains");

/**
 * What a domain may import from rpc/ and jobs/: the contract builder (rpc/base), the router
 * builder (rpc/implement), the access checks a procedure makes (rpc/access), the request's own
 * context type (rpc/context), and the rate-limit rule names a contract and the sign-in limits use.
 * Shared types (Deps, JobQueue, JobDefinition, DomainEvents) are in deps.ts.
 */
const ALLOWED = new Set(["rpc/base", "rpc/implement", "rpc/access", "rpc/context", "rpc/rate-limit-rules"]);

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
