// docs/configuration.md is written by hand (config-env.ts holds no descriptions to generate it from),
// so this test keeps it from drifting: every variable the schema reads has exactly one row, every
// row names a variable the schema reads, and a default written as a plain literal is the schema's.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { z } from "zod";
import { envSchema } from "./config-env";

const doc = readFileSync(resolve(import.meta.dir, "../../../docs/configuration.md"), "utf8");
const rows = [...doc.matchAll(/^\| `([A-Z0-9_]+)` +\| (.*?) +\|/gm)].map(([, name, cell]) => ({
  name: name as string,
  cell: cell as string,
}));
const shape: Record<string, z.ZodType> = envSchema.shape;

/** The default as the docs would write it: lists comma-joined, absent or empty as undefined. */
function schemaDefault(name: string): string | undefined {
  const parsed = shape[name]?.safeParse(undefined);
  if (!parsed?.success || parsed.data === undefined) return undefined;
  const value: unknown = parsed.data;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.join(",");
  if (typeof value === "object" && value !== null) return Object.keys(value).length === 0 ? undefined : "object";
  return String(value);
}

describe("docs/configuration.md", () => {
  test("has one row per variable of config.ts, and no other", () => {
    const documented = rows.map((row) => row.name);
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([]);
    expect(documented.toSorted()).toEqual(Object.keys(shape).toSorted());
  });

  test("states the schema's defaults", () => {
    const wrong = rows.flatMap(({ name, cell }) => {
      const actual = schemaDefault(name);
      // `literal` is a value; placeholders (`<DATA_DIR>/…`, `$PORT`) are derived after parsing.
      const literal = cell.match(/^`([^`<$]*)`/)?.[1];
      if (literal !== undefined) return literal === actual ? [] : [`${name}: documented ${literal}, is ${actual}`];
      if (cell === "_(none)_" && actual !== undefined) return [`${name}: documented none, is ${actual}`];
      return [];
    });
    expect(wrong).toEqual([]);
  });
});
