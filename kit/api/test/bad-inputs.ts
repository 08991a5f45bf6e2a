// Generators and judge for the bad-input sweep (bad-input-sweep.test.ts). Reads the operations out of
// the OpenAPI document, derives hostile inputs from each operation's own parameters and body schema
// (a fixed list of nasty cases plus fast-check with a fixed seed), turns every input into the exact
// REST and RPC requests that carry it, and judges the answers. Plain data throughout, so a failure
// can print the request it sent.
import { resolve } from "node:path";
import { StandardRPCJsonSerializer } from "@orpc/client/standard";
import fc from "fast-check";
import type { RoleName } from "../src/domains/auth/permissions";
import type { TestKit } from "./kit";
import { createUser } from "./users";

/** Fixed so that a failure is reproducible; BAD_INPUT_SEED explores other streams locally. */
export const SWEEP_SEED = Number(process.env.BAD_INPUT_SEED ?? 20_251_125);
/** fast-check inputs per operation (on each face, for each identity), on top of the fixed list. */
export const RUNS_PER_OPERATION = Number(process.env.BAD_INPUT_RUNS ?? 25);
/** Fields of one input that get their own fixed cases (the random runs reach all of them). */
const MAX_FIELDS = 12;
/**
 * Fixed inputs per operation (sent on both faces): the whole-input cases, then per field missing,
 * null and a wrong type, then each field's other values round-robin until this budget is spent.
 */
const MAX_FIXED_INPUTS = 100;
/** Requests in flight at once within one operation's sweep. */
export const CONCURRENCY = 8;

// ---------------------------------------------------------------------------------------------
// Identities

export interface Identity {
  name: string;
  /** Sent with every request; a function when the headers must be made against the test app (sign-in). */
  headers: Record<string, string> | ((kit: TestKit) => Promise<Record<string, string>>);
}

const signedIn =
  (role: RoleName) =>
  async (kit: TestKit): Promise<Record<string, string>> => ({ cookie: (await createUser(kit, role)).cookie });

/**
 * Who the sweep calls as: anonymous, and signed-in users whose checks let the input reach the
 * handlers (an investor for me.*, an admin for users.*), each signing in through the real endpoint.
 * (Forged and oversized credentials are hostile inputs, sent by every identity: see headerCases.)
 */
export const identities: Identity[] = [
  { name: "anonymous", headers: {} },
  { name: "investor", headers: signedIn("investor") },
  { name: "admin", headers: signedIn("admin") },
];

// ---------------------------------------------------------------------------------------------
// The OpenAPI document

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | JsonSchema[];
  prefixItems?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  [key: string]: unknown;
};

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
  $ref?: string;
}

interface OpenApiOperation {
  operationId?: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }>; $ref?: string };
  responses?: Record<string, unknown>;
  "x-kit-rest-only"?: boolean;
}

export interface OpenApiDocument {
  openapi: string;
  servers?: { url: string }[];
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema>; [key: string]: unknown };
}

interface Parameter {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  /** The operationId: oRPC's dotted procedure name, e.g. `system.info`. */
  id: string;
  method: string;
  /** The OpenAPI path template, e.g. `/kyc/applications/{id}`. */
  path: string;
  /** Where the REST face is mounted (the document's server URL), e.g. `/api`. */
  restBase: string;
  /** The RPC face's URL path, e.g. `/rpc/system/info`. */
  rpcPath: string;
  /** Methods the document declares on the same path (the others must be refused). */
  methodsOnPath: string[];
  pathParams: Parameter[];
  queryParams: Parameter[];
  body?: { contentTypes: string[]; schema: JsonSchema; required: boolean };
  /**
   * The procedure's input as the RPC face takes it, assuming oRPC's default "compact" input
   * structure: path params, query params and body fields merged into one object. When the body is
   * not an object, the input is the body itself.
   */
  input: JsonSchema;
  bodyIsWholeInput: boolean;
  /** The statuses the document lists for it (2xx and errors), e.g. `["200", "401", "429"]`. */
  responses: string[];
  /** `x-kit-rest-only`: served under /api only (a byte stream, http/dossier-route.ts), no RPC face to sweep. */
  restOnly: boolean;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export function listOperations(doc: OpenApiDocument): Operation[] {
  const restBase = (doc.servers?.[0]?.url ?? "/api").replace(/\/$/, "");
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const methodsOnPath = METHODS.filter((m) => m in item).map((m) => m.toUpperCase());
    const shared = (item.parameters as OpenApiParameter[] | undefined) ?? [];
    for (const method of METHODS) {
      const operation = item[method] as OpenApiOperation | undefined;
      if (!operation) continue;
      const id = operation.operationId ?? `${method.toUpperCase()} ${path}`;
      const parameters = [...shared, ...(operation.parameters ?? [])].map((p) =>
        p.$ref ? (deref(doc, p as unknown as JsonSchema) as unknown as OpenApiParameter) : p,
      );
      const toParameter = (p: OpenApiParameter): Parameter => ({
        name: p.name,
        required: p.in === "path" || p.required === true,
        schema: deref(doc, p.schema ?? {}),
      });
      const pathParams = parameters.filter((p) => p.in === "path").map(toParameter);
      const queryParams = parameters.filter((p) => p.in === "query").map(toParameter);
      const requestBody = operation.requestBody?.$ref
        ? (deref(doc, operation.requestBody as JsonSchema) as OpenApiOperation["requestBody"])
        : operation.requestBody;
      const content = Object.entries(requestBody?.content ?? {});
      const jsonContent = content.find(([type]) => type.includes("json")) ?? content[0];
      const body = jsonContent
        ? {
            contentTypes: content.map(([type]) => type),
            schema: deref(doc, jsonContent[1].schema ?? {}),
            required: requestBody?.required === true,
          }
        : undefined;
      const bodyObject = body ? objectShape(doc, body.schema) : { properties: {}, required: [] };
      const bodyIsWholeInput = body !== undefined && bodyObject === undefined;
      const input: JsonSchema = bodyIsWholeInput
        ? (body?.schema ?? {})
        : {
            type: "object",
            properties: Object.fromEntries([
              ...[...pathParams, ...queryParams].map((p) => [p.name, p.schema] as const),
              ...Object.entries(bodyObject?.properties ?? {}),
            ]),
            required: [
              ...[...pathParams, ...queryParams].filter((p) => p.required).map((p) => p.name),
              ...(bodyObject?.required ?? []),
            ],
          };
      operations.push({
        id,
        method: method.toUpperCase(),
        path,
        restBase,
        rpcPath: `/rpc/${id.split(".").map(encodeURIComponent).join("/")}`,
        methodsOnPath,
        pathParams,
        queryParams,
        body,
        input,
        bodyIsWholeInput,
        responses: Object.keys(operation.responses ?? {}),
        restOnly: operation["x-kit-rest-only"] === true,
      });
    }
  }
  return operations;
}

function deref(doc: OpenApiDocument, schema: JsonSchema, depth = 0): JsonSchema {
  if (!schema.$ref || depth > 20) return schema;
  const target = schema.$ref
    .replace(/^#\//, "")
    .split("/")
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, "/")], doc);
  return deref(doc, (target as JsonSchema | undefined) ?? {}, depth + 1);
}

/** The object an input schema describes (allOf merged, first object option of anyOf/oneOf). */
function objectShape(
  doc: OpenApiDocument,
  raw: JsonSchema,
  depth = 0,
): { properties: Record<string, JsonSchema>; required: string[] } | undefined {
  const schema = deref(doc, raw);
  if (depth > 8) return undefined;
  if (schema.properties || schema.type === "object") {
    return { properties: schema.properties ?? {}, required: schema.required ?? [] };
  }
  if (schema.allOf) {
    const parts = schema.allOf.map((s) => objectShape(doc, s, depth + 1)).filter((s) => s !== undefined);
    if (parts.length === 0) return undefined;
    return {
      properties: Object.assign({}, ...parts.map((p) => p.properties)),
      required: parts.flatMap((p) => p.required),
    };
  }
  for (const option of schema.anyOf ?? schema.oneOf ?? []) {
    const shape = objectShape(doc, option, depth + 1);
    if (shape) return shape;
  }
  return undefined;
}

type Kind = "string" | "number" | "boolean" | "object" | "array" | "enum" | "null" | "any";

function kindOf(doc: OpenApiDocument, raw: JsonSchema): Kind {
  const schema = deref(doc, raw);
  if (schema.enum || schema.const !== undefined) return "enum";
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "integer" || type === "number") return "number";
  if (type === "string" || type === "boolean" || type === "object" || type === "array" || type === "null") return type;
  if (schema.properties || schema.allOf) return "object";
  if (schema.items || schema.prefixItems) return "array";
  const option = (schema.anyOf ?? schema.oneOf)?.find((s) => deref(doc, s).type !== "null");
  return option ? kindOf(doc, option) : "any";
}

/** A plausible valid value for a schema: the baseline that single-field mutations start from. */
function sampleValid(doc: OpenApiDocument, raw: JsonSchema, seed: number, depth = 0): unknown {
  const schema = deref(doc, raw);
  if (depth > 6) return null;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const option = (schema.anyOf ?? schema.oneOf)?.find((s) => deref(doc, s).type !== "null");
  const kind = kindOf(doc, schema);
  if (!schema.type && option && !schema.properties) return sampleValid(doc, option, seed, depth + 1);
  switch (kind) {
    case "string":
      return sampleString(schema, seed);
    case "number": {
      const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
      const high = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : low);
      return Math.min(Math.max(low, 1), high);
    }
    case "boolean":
      return true;
    case "null":
      return null;
    case "array": {
      const items = Array.isArray(schema.items) ? schema.items[0] : (schema.items ?? schema.prefixItems?.[0]);
      const count = Math.max(schema.minItems ?? 1, 1);
      return Array.from({ length: count }, () => (items ? sampleValid(doc, items, seed, depth + 1) : "x"));
    }
    case "object": {
      const shape = objectShape(doc, schema);
      return Object.fromEntries(
        Object.entries(shape?.properties ?? {}).map(([key, sub]) => [key, sampleValid(doc, sub, seed, depth + 1)]),
      );
    }
    default:
      return "x";
  }
}

function sampleString(schema: JsonSchema, seed: number): string {
  const byFormat: Record<string, string> = {
    email: "sweep@example.com",
    uuid: "3f2b8c4e-1d2a-4b5c-9e8f-0a1b2c3d4e5f",
    "date-time": "2025-01-02T03:04:05.000Z",
    date: "2025-01-02",
    time: "03:04:05",
    uri: "https://example.com/sweep",
    url: "https://example.com/sweep",
    ipv4: "192.0.2.1",
    ipv6: "2001:db8::1",
  };
  if (schema.format && byFormat[schema.format]) return byFormat[schema.format] as string;
  if (schema.pattern) {
    try {
      const [value] = fc.sample(fc.stringMatching(new RegExp(schema.pattern)), { seed, numRuns: 1 });
      if (value !== undefined) return value;
    } catch {
      // a pattern JavaScript cannot compile: fall through to a plain string
    }
  }
  const length = Math.max(schema.minLength ?? 1, 1);
  return "x".repeat(Math.min(length, schema.maxLength ?? length));
}

interface Field {
  path: (string | number)[];
  schema: JsonSchema;
  required: boolean;
}

/** The fields of an input, top level first, down to a few levels of nesting (array items as [0]). */
function listFields(doc: OpenApiDocument, input: JsonSchema, limit = 40): Field[] {
  const fields: Field[] = [];
  const queue: { path: (string | number)[]; schema: JsonSchema; depth: number }[] = [
    { path: [], schema: input, depth: 0 },
  ];
  while (queue.length > 0 && fields.length < limit) {
    const next = queue.shift();
    if (!next) break;
    const schema = deref(doc, next.schema);
    const kind = kindOf(doc, schema);
    if (kind === "object") {
      const shape = objectShape(doc, schema);
      for (const [key, sub] of Object.entries(shape?.properties ?? {})) {
        const path = [...next.path, key];
        fields.push({ path, schema: deref(doc, sub), required: shape?.required.includes(key) ?? false });
        if (next.depth < 3) queue.push({ path, schema: sub, depth: next.depth + 1 });
      }
    } else if (kind === "array" && next.path.length > 0 && next.depth < 3) {
      const items = Array.isArray(schema.items) ? schema.items[0] : (schema.items ?? schema.prefixItems?.[0]);
      if (items) {
        const path = [...next.path, 0];
        fields.push({ path, schema: deref(doc, items), required: false });
        queue.push({ path, schema: items, depth: next.depth + 1 });
      }
    }
  }
  return fields.slice(0, limit);
}

// ---------------------------------------------------------------------------------------------
// Hostile values

const KB = 1024;
type Labeled = [label: string, value: unknown];

function nest(depth: number, as: "object" | "array"): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = as === "array" ? [value] : { a: value };
  return value;
}

/** An object whose own `__proto__` key survives JSON (a literal would set the prototype instead). */
const protoPollution = (): Record<string, unknown> => JSON.parse('{"__proto__":{"polluted":"yes"}}');
const constructorPollution = () => ({ constructor: { prototype: { polluted: "yes" } } });
const manyKeys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

// Each list starts with the cases most likely to break something: those are sent for every field;
// the rest are spread across fields (and over the random runs) to keep each operation's budget.
const NASTY_STRINGS: Labeled[] = [
  ["100 KB string", "a".repeat(100 * KB)],
  ["NUL byte", "a\u0000b"],
  ["lone high surrogate", "\uD800"],
  ["emoji", "🏦💸👩🏽‍💻🇺🇳"],
  ["empty string", ""],
  ["RTL override + Arabic", "\u202Eevil\u202C مرحبا بالعالم"],
  ["whitespace only", " \t\n "],
  ["lone low surrogate", "x\uDFFFy"],
  ["zero-width characters and BOM", "\u200B\u200D\uFEFF"],
  ["stacked combining marks", "Z\u0351\u036B\u0343\u036A\u0302\u0351a\u0351l\u036Bg\u0343o"],
  ["control characters", "\u0001\u0007\u001B[31m\u007F"],
  ["CRLF header injection", "x\r\nSet-Cookie: sweep=1"],
  ["SQL injection", "' OR '1'='1' --"],
  ["HTML/script", "<script>alert(1)</script>"],
  ["path traversal", "../../../../etc/passwd"],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text is the payload
  ["template injection", "${7*7}{{7*7}}"],
  ["prototype key", "__proto__"],
  ["2^64 as a string", "18446744073709551616"],
  ["NaN as a string", "NaN"],
  ["-Infinity as a string", "-Infinity"],
];

const NASTY_NUMBERS: Labeled[] = [
  ["1e308", 1e308],
  ["-1", -1],
  ["fractional 0.5", 0.5],
  ["2^64 as a string", "18446744073709551616"],
  ["NaN (RPC-encoded; null over REST)", Number.NaN],
  ["2^64 as a number", 2 ** 64],
  ["-1e308", -1e308],
  ["zero", 0],
  ["negative zero", -0],
  ["tiny negative -1e-9", -1e-9],
  ["2^53 + 2 (beyond safe integers)", Number.MAX_SAFE_INTEGER + 2],
  ["1e309 as a string", "1e309"],
  ["NaN as a string", "NaN"],
  ["Infinity as a string", "Infinity"],
  ["Infinity (null in JSON)", Number.POSITIVE_INFINITY],
  ["BigInt 2^64 (RPC-encoded; a string over REST)", 2n ** 64n],
  ["hex string", "0x10"],
  ["padded numeric string", " 1 "],
];

/** Near misses for strings with a format or pattern, first from the valid sample, then by format. */
function formattedNasties(schema: JsonSchema, sample: unknown): Labeled[] {
  const valid = typeof sample === "string" ? sample : "x";
  const near: Labeled[] = [
    ["valid value with a trailing newline", `${valid}\n`],
    ["valid value one character short", valid.slice(0, -1)],
    ["valid value with one character more", `${valid}0`],
    ["valid value with a leading space", ` ${valid}`],
  ];
  const byFormat: Record<string, Labeled[]> = {
    "date-time": [
      ["impossible date-time", "2025-02-30T25:61:61Z"],
      ["year zero", "0000-00-00T00:00:00Z"],
      ["beyond the Date range", "+275760-09-13T00:00:00.001Z"],
      ["Invalid Date (RPC-encoded)", new Date(Number.NaN)],
    ],
    date: [
      ["impossible date", "2025-02-30"],
      ["Invalid Date (RPC-encoded)", new Date(Number.NaN)],
    ],
    uuid: [
      ["not a uuid", "3f2b8c4e-1d2a-4b5c-9e8f-0a1b2c3d4e5g"],
      ["nil uuid", "00000000-0000-0000-0000-000000000000"],
      ["uuid in braces", "{3f2b8c4e-1d2a-4b5c-9e8f-0a1b2c3d4e5f}"],
    ],
    email: [
      ["half an email", "sweep@"],
      ["300-character local part", `${"a".repeat(300)}@example.com`],
      ["two at signs", "a@b@example.com"],
    ],
    uri: [
      ["javascript: URL", "javascript:alert(1)"],
      ["file URL to /etc/passwd", "file:///etc/passwd"],
    ],
  };
  byFormat.url = byFormat.uri as Labeled[];
  return [...(byFormat[schema.format ?? ""] ?? []), ...near];
}

const NASTY_BOOLEANS: Labeled[] = [
  ['"true"', "true"],
  ['"false"', "false"],
  ["1", 1],
  ["0", 0],
  ['"yes"', "yes"],
];

const NASTY_ARRAYS: Labeled[] = [
  ["empty array", []],
  ["10,000 items", Array.from({ length: 10_000 }, () => "x")],
  ["arrays nested 2,000 deep", nest(2000, "array")],
  ["array of nulls", [null, null, null]],
  ["mixed item types", [1, "a", {}, [], null, true]],
];

const NASTY_OBJECTS: Labeled[] = [
  ["empty object", {}],
  ["objects nested 2,000 deep", nest(2000, "object")],
  ["__proto__ pollution", protoPollution()],
  ["constructor.prototype pollution", constructorPollution()],
  ["10,000 keys", manyKeys(10_000)],
];

function wrongTypes(kind: Kind): Labeled[] {
  switch (kind) {
    case "string":
    case "enum":
      return [
        ["number instead of string", 12345],
        ["object instead of string", { value: "x" }],
        ["array instead of string", ["x"]],
        ["boolean instead of string", true],
      ];
    case "number":
      return [
        ["numeric string instead of number", "1"],
        ["word instead of number", "abc"],
        ["boolean instead of number", true],
        ["object instead of number", { value: 1 }],
      ];
    case "boolean":
      return [
        ['string "true" instead of boolean', "true"],
        ["number instead of boolean", 1],
        ["object instead of boolean", {}],
      ];
    case "object":
      return [
        ["string instead of object", "x"],
        ["array instead of object", []],
        ["number instead of object", 1],
      ];
    case "array":
      return [
        ["object instead of array", { 0: "x" }],
        ["string instead of array", "x"],
        ["number instead of array", 1],
      ];
    default:
      return [
        ["object", {}],
        ["number", 1],
      ];
  }
}

function kindPool(kind: Kind): Labeled[] {
  switch (kind) {
    case "string":
      return NASTY_STRINGS;
    case "enum":
      return [["not a member of the enum", "__not_a_member__"], ...NASTY_STRINGS];
    case "number":
      return NASTY_NUMBERS;
    case "boolean":
      return NASTY_BOOLEANS;
    case "array":
      return NASTY_ARRAYS;
    case "object":
      return NASTY_OBJECTS;
    default:
      return [...NASTY_STRINGS, ...NASTY_NUMBERS];
  }
}

/**
 * The values one field is tried with beyond missing, null and its first wrong type: the head of its
 * kind's list (and a format's near misses) first, then the rest rotated by the field's position so
 * that fields of the same kind do not all spend the budget on the same values.
 */
function fieldPool(doc: OpenApiDocument, field: Field, sample: unknown, position: number): Labeled[] {
  const kind = kindOf(doc, field.schema);
  const formatted = field.schema.format || field.schema.pattern ? formattedNasties(field.schema, sample) : [];
  const pool = kindPool(kind);
  const head = [...formatted.slice(0, 2), ...pool.slice(0, 4)];
  const tail = [...wrongTypes(kind).slice(1), ...formatted.slice(2), ...pool.slice(4)];
  const start = tail.length === 0 ? 0 : (position * 3) % tail.length;
  return [...head, ...tail.slice(start), ...tail.slice(0, start)];
}

/** What must never appear in a response: signs of a stack trace, source, driver error or secret. */
export type LeakMarker = [name: string, pattern: RegExp];

const REPO_ROOT = resolve(import.meta.dir, "../../..");
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function leakMarkers(internalValues: string[] = []): LeakMarker[] {
  const markers: LeakMarker[] = [
    ["stack frame", /\s{4}at\s|\n\s*at\s+\S+\s+\(/],
    ["source file reference", /\.[cm]?[jt]sx?:/],
    ["node_modules path", /node_modules/],
    ["file URL", /file:\/\//],
    ["source checkout path", new RegExp(escapeRegExp(REPO_ROOT))],
    [
      "JavaScript error",
      /\b(?:TypeError|ReferenceError|RangeError|SyntaxError|EvalError|URIError)\b|Cannot read propert|is not a function|is not defined|Maximum call stack/,
    ],
    [
      "database error",
      /duplicate key value|violates (?:foreign key|unique|not-null|check) constraint|syntax error at or near|relation "[^"]*" does not exist|column "[^"]*" does not exist|invalid input syntax for type/,
    ],
    ["connection string", /\b(?:postgres(?:ql)?|rediss?):\/\//],
  ];
  for (const value of internalValues) {
    if (value.length >= 6) markers.push([`internal value ${JSON.stringify(value)}`, new RegExp(escapeRegExp(value))]);
  }
  return markers;
}

const GENERATOR_MARKERS = leakMarkers();
const looksLeaky = (text: string) => GENERATOR_MARKERS.some(([, pattern]) => pattern.test(text));

// fast-check: random hostile values, and random mutations of an operation's baseline input.
const hostileKey = fc
  .oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom("__proto__", "constructor", "prototype", "toString", "valueOf", "", "$where", "$gt", "role", "id"),
  )
  .filter((key) => !looksLeaky(key));

const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS.map(([, value]) => value)),
  fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !looksLeaky(s)),
  fc.string({ unit: "grapheme", maxLength: 20 }).filter((s) => !looksLeaky(s)),
  fc.string({
    unit: fc.constantFrom("\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\u0000", "\u202E", "\uFEFF", "🏦", "a", "%"),
    maxLength: 12,
  }),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => "x".repeat(n)),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.constantFrom(...NASTY_NUMBERS.map(([, value]) => value)),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: false }),
);

const { hostile: hostileTree } = fc.letrec<{ hostile: unknown }>((tie) => ({
  hostile: fc.oneof(
    { maxDepth: 3, depthIdentifier: "hostile" },
    hostileLeaf,
    fc.array(tie("hostile"), { maxLength: 4, depthIdentifier: "hostile" }),
    fc.dictionary(hostileKey, tie("hostile"), { maxKeys: 4, depthIdentifier: "hostile" }),
  ),
}));

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: hostileTree },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 50, max: 500 }), fc.constantFrom("object" as const, "array" as const))
      .map(([depth, as]) => nest(depth, as)),
  },
);

// ---------------------------------------------------------------------------------------------
// Inputs → requests

type Face = "rest" | "rpc";

export interface Plan {
  face: Face;
  /** What the case is, e.g. `amount = 1e308` or `RPC body: invalid JSON`. */
  label: string;
  method: string;
  /** Path and query, relative to the app's origin. */
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
  /** The procedure input this request carries, when it was built from one (for the report). */
  input?: unknown;
  /** The app must refuse this request with a 4xx. */
  expect4xx?: boolean;
  /** This request must reach the procedure (no "No route" 404): guards against sweeping nothing. */
  baseline?: boolean;
  /**
   * Does not depend on who calls (the body, path or query is refused or parsed before any
   * middleware runs): sent with the first identity only.
   */
  transport?: boolean;
  /**
   * Heavy parser and limit stress that meets the same code in front of every operation of a kind
   * (the body limit and the decoders are mounted on /rpc/* and /api/*): sent once per key per run.
   */
  once?: string;
}

/** The plans one identity sends: all input cases; transport cases for the first; heavy ones once. */
export function selectPlans(plans: Plan[], firstIdentity: boolean, sentOnce: Set<string>): Plan[] {
  const keys = new Set<string>();
  const selected = plans.filter((plan) => {
    if (plan.once !== undefined) {
      if (!firstIdentity || sentOnce.has(plan.once)) return false;
      keys.add(plan.once);
      return true;
    }
    return firstIdentity || !plan.transport;
  });
  for (const key of keys) sentOnce.add(key);
  return selected;
}

const MISSING = Symbol("missing");

const isRecord = (value: unknown): value is Record<string, unknown> =>
  Object.prototype.toString.call(value) === "[object Object]";

/** A copy of `root` with `value` at `path` (or the key removed, for MISSING); own keys only. */
function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value === MISSING ? undefined : value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const container = (
    Array.isArray(root) ? [...root] : isRecord(root) ? { ...root } : typeof head === "number" ? [] : {}
  ) as Record<string | number, unknown>;
  const child = setAt(container[head], rest, value);
  if (rest.length === 0 && value === MISSING) delete container[head];
  else Object.defineProperty(container, head, { value: child, enumerable: true, writable: true, configurable: true });
  return container;
}

/** JSON as a REST client would send it: BigInt as a decimal string, NaN and Infinity as null. */
function jsonText(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** Percent-encoding that also carries lone surrogates (as their WTF-8 bytes) instead of throwing. */
function encodeLoose(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    let out = "";
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      const nextUnit = text.charCodeAt(i + 1);
      if (unit >= 0xd800 && unit <= 0xdbff && nextUnit >= 0xdc00 && nextUnit <= 0xdfff) {
        out += encodeURIComponent(text.slice(i, i + 2));
        i++;
      } else if (unit >= 0xd800 && unit <= 0xdfff) {
        const hex = (n: number) => n.toString(16).toUpperCase();
        out += `%ED%${hex(0xa0 | ((unit >> 6) & 0x0f))}%${hex(0x80 | (unit & 0x3f))}`;
      } else {
        out += encodeURIComponent(text[i] as string);
      }
    }
    return out;
  }
}

/** oRPC's bracket notation for query strings: `a[b][0]=x`. */
function bracketQuery(value: unknown, prefix = ""): string {
  const pairs: [string, string][] = [];
  const walk = (v: unknown, key: string) => {
    if (v === undefined) return;
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) walk(item, `${key}[${i}]`);
    } else if (isRecord(v)) for (const [k, item] of Object.entries(v)) walk(item, key ? `${key}[${k}]` : k);
    else if (v instanceof Date) pairs.push([key, Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString()]);
    else pairs.push([key, v === null ? "" : String(v)]);
  };
  walk(value, prefix);
  return pairs.map(([k, v]) => `${encodeLoose(k)}=${encodeLoose(v)}`).join("&");
}

/** Whether oRPC's RPC serializer must describe the value in `meta` (NaN, BigInt, Date, undefined...). */
function needsRpcMeta(value: unknown, depth = 0): boolean {
  if (depth > 5_000) return false;
  if (value === undefined || typeof value === "bigint" || (typeof value === "number" && Number.isNaN(value))) {
    return true;
  }
  if (value instanceof Date || value instanceof Set || value instanceof Map || value instanceof RegExp) return true;
  if (Array.isArray(value)) return value.some((v) => needsRpcMeta(v, depth + 1));
  if (isRecord(value)) return Object.values(value).some((v) => needsRpcMeta(v, depth + 1));
  return false;
}

const rpcJson = new StandardRPCJsonSerializer();

/** The oRPC RPC body for an input: `{"json": input}`, with `meta` when the input needs it. */
export function rpcBody(input: unknown): string {
  if (!needsRpcMeta(input)) return JSON.stringify({ json: input });
  const [json, meta] = rpcJson.serialize(input);
  return JSON.stringify(meta.length > 0 ? { json, meta } : { json });
}

const JSON_HEADERS = { "content-type": "application/json" };

function restPath(op: Operation, pathValues: Record<string, string>): string {
  return `${op.restBase}${op.path.replace(/\{([^}]+)\}/g, (_, name: string) => pathValues[name] ?? "")}`;
}

/** Splits an input into the REST request that carries it: path params, query string, JSON body. */
export function restPlan(op: Operation, label: string, input: unknown, extra: Partial<Plan> = {}): Plan {
  const pathValues: Record<string, string> = {};
  let query = "";
  let body: unknown;
  if (isRecord(input) && !op.bodyIsWholeInput) {
    const rest: Record<string, unknown> = { ...input };
    for (const p of op.pathParams) {
      const value = rest[p.name];
      delete rest[p.name];
      pathValues[p.name] =
        value === undefined ? "" : encodeLoose(typeof value === "string" ? value : String(jsonText(value)));
    }
    if (op.body) {
      const inQuery: Record<string, unknown> = {};
      for (const p of op.queryParams) {
        if (Object.hasOwn(rest, p.name)) {
          inQuery[p.name] = rest[p.name];
          delete rest[p.name];
        }
      }
      query = bracketQuery(inQuery);
      body = rest;
    } else {
      query = bracketQuery(rest);
    }
  } else if (op.body) {
    body = input;
  } else if (input !== undefined) {
    query = encodeLoose(String(jsonText(input)));
  }
  for (const p of op.pathParams) pathValues[p.name] ??= encodeLoose(String(sampleFallback(p)));
  const text = op.body && body !== undefined ? jsonText(body) : undefined;
  return {
    face: "rest",
    label,
    method: op.method,
    url: `${restPath(op, pathValues)}${query ? `?${query}` : ""}`,
    headers: text === undefined ? {} : { ...JSON_HEADERS },
    ...(text === undefined ? {} : { body: text }),
    input,
    ...extra,
  };
}

const sampleFallback = (p: Parameter) => (p.schema.type === "integer" || p.schema.type === "number" ? 1 : "x");

export function rpcPlan(op: Operation, label: string, input: unknown, extra: Partial<Plan> = {}): Plan {
  return {
    face: "rpc",
    label,
    method: "POST",
    url: op.rpcPath,
    headers: { ...JSON_HEADERS },
    body: rpcBody(input),
    input,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// The cases

export interface PlanOptions {
  seed: number;
  numRuns: number;
  bodyLimitBytes: number;
  doc: OpenApiDocument;
}

/** Stable per-operation seed, so adding an operation does not change the others' streams. */
function seedFor(seed: number, id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return (seed ^ hash) | 0;
}

const pathLabel = (path: (string | number)[]) => path.map((p) => (typeof p === "number" ? `[${p}]` : p)).join(".");

/** Procedure inputs (sent on both faces): a fixed list derived from the schema, then fast-check runs. */
function inputCases(op: Operation, options: PlanOptions): { label: string; input: unknown; baseline?: true }[] {
  const { doc } = options;
  const seed = seedFor(options.seed, op.id);
  const baseline = sampleValid(doc, op.input, seed);
  const base = isRecord(baseline) ? baseline : {};
  const cases: { label: string; input: unknown; baseline?: true }[] = [
    { label: "valid baseline input", input: baseline, baseline: true },
    { label: "input: null", input: null },
    { label: "input: absent", input: undefined },
    { label: "input: empty object", input: {} },
    { label: "input: array instead of object", input: [baseline] },
    { label: "input: bare string", input: "sweep" },
    { label: "input: 1e308", input: 1e308 },
    { label: "input: boolean", input: true },
    {
      label: "extra fields (mass assignment)",
      input: { ...base, role: "admin", isAdmin: true, userId: "00000000-0000-0000-0000-000000000000", unexpected: "x" },
    },
    { label: "extra field: __proto__ pollution", input: { ...base, ...protoPollution() } },
    { label: "extra field: constructor.prototype pollution", input: { ...base, ...constructorPollution() } },
    { label: "input: objects nested 2,000 deep", input: nest(2000, "object") },
    { label: "input: arrays nested 2,000 deep", input: nest(2000, "array") },
    { label: "input: 100 KB string", input: "a".repeat(100 * KB) },
    { label: "extra fields: 10,000 keys", input: { ...base, ...manyKeys(10_000) } },
  ];

  // Per field: missing, null and one wrong type; then each field's pool (fieldPool), taken
  // round-robin across fields until the budget is spent.
  const fields = listFields(doc, op.input);
  const getAt = (path: (string | number)[]) =>
    path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], baseline);
  const pools = fields.map((field, position) => fieldPool(doc, field, getAt(field.path), position));
  const swept = fields.slice(0, MAX_FIELDS);
  for (const field of swept) {
    const name = pathLabel(field.path);
    const kind = kindOf(doc, field.schema);
    const [wrongLabel, wrongValue] = wrongTypes(kind)[0] as Labeled;
    cases.push(
      { label: `${name} missing${field.required ? " (required)" : ""}`, input: setAt(baseline, field.path, MISSING) },
      { label: `${name} = null`, input: setAt(baseline, field.path, null) },
      { label: `${name}: ${wrongLabel}`, input: setAt(baseline, field.path, wrongValue) },
    );
    if (kind === "object") {
      cases.push({ label: `${name}: extra key`, input: setAt(baseline, [...field.path, "unexpected"], "x") });
    }
  }
  const budget = Math.max(MAX_FIXED_INPUTS, cases.length);
  for (let round = 0; cases.length < budget; round++) {
    let added = false;
    for (const [index, field] of swept.entries()) {
      const entry = pools[index]?.[round];
      if (!entry || cases.length >= budget) continue;
      cases.push({ label: `${pathLabel(field.path)}: ${entry[0]}`, input: setAt(baseline, field.path, entry[1]) });
      added = true;
    }
    if (!added) break;
  }

  // Random runs: a field set to a nasty value of its kind or to any hostile value, a field removed
  // while another is replaced, extra fields, or the whole input replaced.
  const fieldValue = (index: number) =>
    fc.oneof(fc.constantFrom(...(pools[index] ?? NASTY_STRINGS).map(([, value]) => value)), hostileValue);
  const indexes = fields.map((_, index) => index);
  type Mutation = { label: string; input: unknown };
  const mutations: fc.WeightedArbitrary<Mutation>[] = [
    { weight: 1, arbitrary: hostileValue.map((input) => ({ label: "whole input replaced", input })) },
    {
      weight: 1,
      arbitrary: fc
        .dictionary(hostileKey, hostileValue, { minKeys: 1, maxKeys: 4 })
        .map((extra) => ({ label: "extra fields added", input: { ...base, ...extra } })),
    },
  ];
  if (fields.length > 0) {
    const replaced = fc
      .constantFrom(...indexes)
      .chain((index) => fieldValue(index).map((value) => ({ field: fields[index] as Field, value })));
    mutations.push(
      {
        weight: 3,
        arbitrary: replaced.map(({ field, value }) => ({
          label: `${pathLabel(field.path)} replaced`,
          input: setAt(baseline, field.path, value),
        })),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom(...fields), replaced).map(([removed, { field, value }]) => ({
          label: `${pathLabel(removed.path)} removed, ${pathLabel(field.path)} replaced`,
          input: setAt(setAt(baseline, removed.path, MISSING), field.path, value),
        })),
      },
    );
  }
  const random = fc.sample(fc.oneof(...mutations), { seed, numRuns: options.numRuns });
  random.forEach((c, i) => {
    cases.push({ label: `fast-check #${i} (seed ${options.seed}): ${c.label}`, input: c.input });
  });
  return cases;
}

const PATH_GARBAGE: [label: string, encoded: string][] = [
  ["lone percent sign", "%"],
  ["bad percent escape", "%zz"],
  ["encoded NUL", "%00"],
  ["encoded lone surrogate (WTF-8)", "%ED%A0%80"],
  ["overlong UTF-8 slash", "%C0%AF"],
  ["encoded traversal", "..%2F..%2Fetc%2Fpasswd"],
  ["encoded dot segment", "%2e%2e"],
  ["double-encoded slash", "%252F"],
  ["encoded emoji", "%F0%9F%8F%A6"],
  ["encoded RTL override", "%E2%80%AE"],
  ["encoded quotes and brackets", "%22%27%3C%3E%5B%5D%7B%7D"],
  ["10,000 characters", "a".repeat(10_000)],
  ["SQL-ish", "1%20OR%201%3D1"],
  ["negative number", "-1"],
  ["2^64", "18446744073709551616"],
  ["fractional", "1.5"],
  ["NaN", "NaN"],
];

/** Credentials that are garbage or oversized: sent with the valid baseline on both faces. */
function headerCases(): [label: string, headers: Record<string, string>][] {
  return [
    ["forged bearer token", { authorization: "Bearer forged.token.value" }],
    ["forged session cookie", { cookie: "better-auth.session_token=forged.c2lnbmF0dXJl; better-auth.session_data=x" }],
    ["malformed authorization header", { authorization: "Basic %%%not-base64%%%" }],
    ["8 KB cookie", { cookie: `a=${"x".repeat(8 * KB)}` }],
    [
      "garbage request id and forwarded-for",
      { "x-request-id": `../../${"r".repeat(200)}`, "x-forwarded-for": "not-an-ip, ::zz" },
    ],
  ];
}

function multipart(boundary: string, parts: [name: string, content: string][]): string {
  return `${parts.map(([name, content]) => `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${content}\r\n`).join("")}--${boundary}--\r\n`;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Bodies that are not what the face parses: wrong syntax, wrong content type, too big, too deep. */
function rawBodies(
  valid: string,
  bodyLimitBytes: number,
): [label: string, body: string | Uint8Array, contentType: string | null, expect4xx: boolean, heavy?: "heavy"][] {
  const deep = 100_000;
  const truncated = valid.slice(0, Math.max(1, valid.length - 1));
  return [
    ["invalid JSON", "{", "application/json", true],
    ["truncated JSON", truncated, "application/json", !parses(truncated)],
    ["NaN literal in JSON", '{"json":NaN,"a":NaN}', "application/json", true],
    ["trailing comma", '{"json":{},}', "application/json", true],
    ["JSON preceded by a BOM", `\uFEFF${valid}`, "application/json", false],
    ["duplicate keys", `{"json":null,"json":{"a":1},"a":1,"a":{}}`, "application/json", false],
    ["empty body", "", "application/json", false],
    ["NUL bytes", "\u0000\u0000", "application/json", true],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0xc0, 0xaf, 0x7d]), "application/json", true],
    [
      `arrays nested ${deep.toLocaleString("en")} deep (raw)`,
      `${"[".repeat(deep)}${"]".repeat(deep)}`,
      "application/json",
      true,
      "heavy",
    ],
    [
      `objects nested ${deep.toLocaleString("en")} deep (raw)`,
      `${'{"a":'.repeat(deep)}1${"}".repeat(deep)}`,
      "application/json",
      true,
      "heavy",
    ],
    // Inside the RPC envelope, where they reach the procedure's input: 100 KB and 800 KB bodies like
    // these once held the event loop for seconds each, then failed with a 500 (stack overflow).
    [
      "objects nested 20,000 deep under json (100 KB)",
      `{"json":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`,
      "application/json",
      true,
      "heavy",
    ],
    [
      "arrays nested 400,000 deep under json (800 KB)",
      `{"json":${"[".repeat(400_000)}${"]".repeat(400_000)}}`,
      "application/json",
      true,
      "heavy",
    ],
    [
      "one byte over the body limit",
      `{"json":"${"x".repeat(bodyLimitBytes - 10)}"}`,
      "application/json",
      true,
      "heavy",
    ],
    ["over the body limit, no content type", "x".repeat(bodyLimitBytes + 1), null, true, "heavy"],
    ["text/plain", valid, "text/plain", false],
    ["no content type", valid, null, false],
    ["charset utf-16 declared", valid, "application/json; charset=utf-16", false],
    [
      "application/xml",
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
      "application/xml",
      false,
    ],
    [
      "urlencoded prototype pollution",
      "__proto__[polluted]=yes&constructor[prototype][polluted]=yes&a[99999999]=1",
      "application/x-www-form-urlencoded",
      false,
    ],
    ["multipart without boundary", multipart("b", [["data", valid]]), "multipart/form-data", false],
    ["multipart with garbage data", multipart("b", [["data", "{"]]), "multipart/form-data; boundary=b", false],
    ["octet-stream", new Uint8Array([0, 1, 2, 255]), "application/octet-stream", false],
    ["event stream", "event: message\ndata: {}\n\n", "text/event-stream", false],
  ];
}

/** Everything the sweep sends for one operation, both faces. */
export function plansFor(op: Operation, options: PlanOptions): Plan[] {
  const plans: Plan[] = [];
  const cases = inputCases(op, options);
  const baselineInput = cases[0]?.input;
  for (const c of cases) {
    const extra = c.baseline ? { baseline: true } : {};
    plans.push(restPlan(op, c.label, c.input, extra), rpcPlan(op, c.label, c.input, extra));
  }
  for (const [label, headers] of headerCases()) {
    for (const plan of [restPlan(op, label, baselineInput), rpcPlan(op, label, baselineInput)]) {
      plans.push({ ...plan, label: `header: ${label}`, headers: { ...plan.headers, ...headers } });
    }
  }

  // RPC face: garbage bodies and envelopes, GET transport, procedure paths that do not exist.
  const validRpc = rpcBody(baselineInput);
  const rpc = (
    label: string,
    body: string | Uint8Array | FormData | undefined,
    contentType: string | null,
    extra: Partial<Plan> = {},
  ): Plan => ({
    face: "rpc",
    label: `RPC ${label}`,
    method: "POST",
    url: op.rpcPath,
    headers: contentType ? { "content-type": contentType } : {},
    ...(body === undefined ? {} : { body }),
    transport: true,
    ...extra,
  });
  for (const [label, body, contentType, expect4xx, heavy] of rawBodies(validRpc, options.bodyLimitBytes)) {
    plans.push(rpc(`body: ${label}`, body, contentType, { expect4xx, ...(heavy ? { once: `rpc ${label}` } : {}) }));
  }
  const envelope = (label: string, value: unknown) =>
    plans.push(rpc(`envelope: ${label}`, JSON.stringify(value), "application/json"));
  envelope("JSON null", null);
  envelope("JSON array", [baselineInput]);
  envelope("JSON string", "json");
  envelope("input not under json", baselineInput ?? {});
  envelope("meta not an array", { json: baselineInput, meta: "x" });
  envelope("meta of unknown type", { json: baselineInput, meta: [[99, "a"]] });
  envelope("meta null entry", { json: baselineInput, meta: [null] });
  envelope("meta BigInt of a word", { json: "not a number", meta: [[0]] });
  envelope("meta Date of a word", { json: "not a date", meta: [[1]] });
  envelope("meta URL of a word", { json: "not a url", meta: [[4]] });
  envelope("meta RegExp of a bad pattern", { json: "/(/", meta: [[5]] });
  envelope("meta Set of a number", { json: 1, meta: [[6]] });
  envelope("meta Map of garbage", { json: [[1]], meta: [[7], [7, 0]] });
  envelope("meta path through __proto__", { json: { a: "1" }, meta: [[0, "__proto__", "polluted"]] });
  envelope("meta path 10,000 segments", { json: {}, meta: [[0, ...Array.from({ length: 10_000 }, () => "a")]] });
  envelope("maps without a multipart body", { json: baselineInput, maps: [["__proto__", "polluted"]] });
  const form = new FormData();
  form.set(
    "data",
    JSON.stringify({
      json: baselineInput ?? {},
      maps: [
        ["__proto__", "polluted"],
        ["constructor", "prototype", "x"],
      ],
    }),
  );
  form.set("0", new Blob(["x"]));
  form.set("1", new Blob(["y"]));
  plans.push(rpc("multipart: maps into __proto__", form, null));
  const orphan = new FormData();
  orphan.set("data", JSON.stringify({ json: "x", maps: [["a", "b"]] }));
  plans.push(rpc("multipart: map to a missing file", orphan, null));
  plans.push(
    rpc("GET transport: invalid data", undefined, null, { method: "GET", url: `${op.rpcPath}?data=%7B` }),
    rpc("GET transport: input", undefined, null, {
      method: "GET",
      url: `${op.rpcPath}?data=${encodeLoose(validRpc)}`,
    }),
    rpc("method DELETE", validRpc, "application/json", { method: "DELETE" }),
    rpc("path: extra segment", validRpc, "application/json", { url: `${op.rpcPath}/extra`, expect4xx: true }),
    rpc("path: encoded NUL suffix", validRpc, "application/json", { url: `${op.rpcPath}%00` }),
    rpc("path: encoded lone surrogate suffix", validRpc, "application/json", { url: `${op.rpcPath}%ED%A0%80` }),
    rpc("path: dotted procedure name", validRpc, "application/json", { url: `/rpc/${encodeLoose(op.id)}` }),
    rpc("path: encoded separators", validRpc, "application/json", {
      url: `/rpc/${op.rpcPath.slice("/rpc/".length).replaceAll("/", "%2F")}`,
    }),
    rpc("path: encoded traversal", validRpc, "application/json", { url: `${op.rpcPath}/..%2F..%2F..%2Fhealth` }),
    rpc("path: 10,000-character procedure", validRpc, "application/json", {
      url: `/rpc/${"a".repeat(10_000)}`,
      expect4xx: true,
    }),
  );

  // REST face: garbage bodies (where the operation has one), query strings, path params, methods.
  const valid = restPlan(op, "valid", baselineInput);
  if (op.body) {
    const validBody = typeof valid.body === "string" ? valid.body : "{}";
    for (const [label, body, contentType, expect4xx, heavy] of rawBodies(validBody, options.bodyLimitBytes)) {
      plans.push({
        ...valid,
        label: `REST body: ${label}`,
        headers: contentType ? { "content-type": contentType } : {},
        body,
        input: undefined,
        transport: true,
        expect4xx,
        ...(heavy ? { once: `rest body ${label}` } : {}),
      });
    }
  }
  const [path, query = ""] = valid.url.split("?") as [string, string?];
  const withQuery = (q: string) => `${path}?${query ? `${query}&` : ""}${q}`;
  const key = op.queryParams[0]?.name ?? "a";
  for (const [label, q, heavy] of [
    ["bad percent escapes", "%=1&%zz=%"],
    ["brackets nested 5,000 deep", `${key}${"[b]".repeat(5_000)}=1`, "heavy"],
    ["20,000 repeated keys", `${key}[]=1&`.repeat(20_000), "heavy"],
    ["huge array index", `${key}[99999999]=1`],
    [
      "prototype pollution",
      `__proto__[polluted]=yes&constructor[prototype][polluted]=yes&${key}[__proto__][polluted]=yes`,
    ],
    ["encoded NUL", `${key}=%00`],
    ["encoded lone surrogate", `${key}=%ED%A0%80`],
    ["100 KB value", `${key}=${"x".repeat(100 * KB)}`],
    ["duplicate parameter", `${key}=1&${key}=2`],
    ["mixed bracket styles", `${key}=1&${key}[a]=2&${key}[]=3`],
  ] as const) {
    plans.push({
      ...valid,
      label: `REST query: ${label}`,
      url: withQuery(q),
      input: undefined,
      transport: true,
      ...(heavy ? { once: `rest query ${label}` } : {}),
    });
  }
  const paramNames = op.pathParams.map((p) => p.name);
  for (const [label, garbage] of PATH_GARBAGE) {
    if (paramNames.length === 0) {
      plans.push({
        ...valid,
        label: `REST path: extra segment, ${label}`,
        url: `${restPath(op, {})}/${garbage}`,
        input: undefined,
        transport: true,
      });
      continue;
    }
    for (const name of paramNames) {
      const values = Object.fromEntries(
        paramNames.map((n) => [n, n === name ? garbage : encodeLoose(String(pathValue(valid, op, n)))]),
      );
      plans.push({
        ...valid,
        label: `REST path: {${name}} ${label}`,
        url: `${restPath(op, values)}${query ? `?${query}` : ""}`,
        input: undefined,
        transport: true,
      });
    }
  }
  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((m) => !op.methodsOnPath.includes(m))) {
    plans.push({
      ...valid,
      label: `REST method ${method} (not declared on this path)`,
      method,
      ...(method === "GET"
        ? { body: undefined, headers: {} }
        : { body: valid.body ?? "{}", headers: { ...JSON_HEADERS } }),
      input: undefined,
      transport: true,
      expect4xx: true,
    });
  }
  return op.restOnly ? plans.filter((plan) => plan.face !== "rpc") : plans;
}

function pathValue(valid: Plan, op: Operation, name: string): unknown {
  return isRecord(valid.input)
    ? (valid.input[name] ?? "x")
    : sampleFallback(op.pathParams.find((p) => p.name === name) as Parameter);
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

export interface Outcome {
  plan: Plan;
  identity: string;
  status: number;
  contentType: string | null;
  text: string;
  problems: string[];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function bodyText(body: Plan["body"]): string {
  if (body === undefined) return "";
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return [...body.entries()].map(([k, v]) => `${k}=${typeof v === "string" ? v : "<file>"}`).join("&");
}

/** Problems with one response; an empty list when it is acceptable. */
export function judge(
  plan: Plan,
  status: number,
  contentType: string | null,
  text: string,
  markers: LeakMarker[],
): string[] {
  const problems: string[] = [];
  if (status >= 500) problems.push(`server error ${status}`);
  else if (status < 200 || (status >= 300 && status < 400)) problems.push(`unexpected status ${status}`);
  if (plan.expect4xx && (status < 400 || status >= 500)) problems.push(`expected a 4xx refusal, got ${status}`);
  if (contentType?.startsWith("text/event-stream") && status !== 200)
    problems.push(`event stream with status ${status}`);

  let parsed: unknown;
  let isJson = false;
  try {
    parsed = JSON.parse(text);
    isJson = true;
  } catch {
    // judged below where it matters
  }
  if (status >= 400) {
    if (!contentType?.includes("application/json") || !isJson) {
      problems.push(`error response is not JSON (content-type ${contentType})`);
    } else {
      // Under /rpc/ errors travel in the RPC envelope; everywhere else they are the plain object.
      const rpcShaped = plan.url.startsWith("/rpc/");
      const error = (rpcShaped ? (parsed as { json?: unknown } | null)?.json : parsed) as Record<
        string,
        unknown
      > | null;
      const where = rpcShaped ? "body.json" : "body";
      if (!isRecord(error)) problems.push(`${where} is not an error object`);
      else {
        if (typeof error.code !== "string" || !/^[A-Z][A-Z0-9_]*$/.test(error.code))
          problems.push(`${where}.code is not an UPPER_CASE code`);
        if (error.status !== status)
          problems.push(`${where}.status (${String(error.status)}) differs from the HTTP status ${status}`);
        if (typeof error.message !== "string" || error.message.length === 0)
          problems.push(`${where}.message is missing`);
        if (typeof error.defined !== "boolean") problems.push(`${where}.defined is not a boolean`);
        if (
          plan.baseline &&
          status === 404 &&
          typeof error.message === "string" &&
          error.message.startsWith("No route")
        ) {
          problems.push("the valid baseline did not reach the operation (no route): the sweep is not covering it");
        }
      }
    }
  }
  // Markers the request itself contains are echoes of the caller's input, not leaks.
  const sent = `${safeDecode(plan.url)}\n${bodyText(plan.body)}\n${Object.values(plan.headers).join("\n")}`;
  const strings = isJson ? collectStrings(parsed) : text;
  for (const [name, pattern] of markers) {
    if (pattern.test(strings) && !pattern.test(sent)) problems.push(`response leaks internals: ${name}`);
  }
  return problems;
}

function collectStrings(value: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 200) return;
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) for (const item of v) walk(item, depth + 1);
    else if (v && typeof v === "object")
      for (const [k, item] of Object.entries(v)) {
        out.push(k);
        walk(item, depth + 1);
      }
  };
  walk(value, 0);
  return out.join("\n");
}

export async function send(
  kit: Pick<TestKit, "request">,
  plan: Plan,
  identity: { name: string; headers: Record<string, string> },
  markers: LeakMarker[],
): Promise<Outcome> {
  const init: RequestInit = { method: plan.method, headers: { ...identity.headers, ...plan.headers } };
  if (plan.body !== undefined && plan.method !== "GET") init.body = plan.body as BodyInit;
  try {
    const response = await kit.request(plan.url, init);
    const contentType = response.headers.get("content-type");
    // An event stream (kyc.events, kyc.review.events) does not end by itself: its status and
    // headers are the answer, then the body is cancelled, which ends the stream server-side.
    // Refusals (401, 403, 429, input errors) must be plain JSON, which the judge checks.
    const stream = contentType?.startsWith("text/event-stream") === true;
    if (stream) await response.body?.cancel();
    const text = stream ? "" : await response.text();
    return {
      plan,
      identity: identity.name,
      status: response.status,
      contentType,
      text,
      problems: judge(plan, response.status, contentType, text, markers),
    };
  } catch (error) {
    return {
      plan,
      identity: identity.name,
      status: 0,
      contentType: null,
      text: String(error),
      problems: ["the app threw instead of answering"],
    };
  }
}

/**
 * Answers whose status the operation's entry in the document does not list: the document promises
 * every error an operation can answer. Transport cases are left out: the HTTP layer answers those
 * (body limit, media type) in front of every operation alike; so are requests that reached no
 * operation (an empty path parameter: "No route").
 */
export function undeclaredStatuses(op: Operation, outcomes: Outcome[]): string[] {
  return outcomes
    .filter((o) => !o.plan.transport && o.plan.once === undefined && o.status !== 0)
    .filter((o) => !(o.status === 404 && o.text.includes('"No route for ')))
    .filter((o) => !op.responses.includes(String(o.status)))
    .map((o) => `${o.status} for ${o.plan.face} ${o.plan.label} as ${o.identity}: ${o.text.slice(0, 300)}`);
}

export async function mapLimit<T, R>(items: T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Folds long runs of one character (or bracket) and bounds the length, for reports. */
function fold(text: string, max = 1_500): string {
  const folded = text.replace(
    /(\[|\{"a":|\]|\}|[^[\]{}])\1{31,}/g,
    (run, unit: string) => `${unit}⟨×${run.length / unit.length}⟩`,
  );
  return folded.length > max ? `${folded.slice(0, max)}… (${folded.length} chars after folding)` : folded;
}

/** A readable, bounded rendering of a value (BigInt, NaN, undefined, Set and Map spelled out). */
function show(value: unknown, max = 1_500): string {
  if (typeof value === "string") return fold(JSON.stringify(value), max);
  if (value instanceof Uint8Array)
    return `bytes [${[...value.slice(0, 64)].join(", ")}${value.length > 64 ? ", ..." : ""}]`;
  if (value instanceof FormData) {
    return fold(
      `multipart ${JSON.stringify([...value.entries()].map(([k, v]) => [k, typeof v === "string" ? v : "<file>"]))}`,
      max,
    );
  }
  const text = JSON.stringify(value, (_key, v) => {
    if (typeof v === "bigint") return `BigInt(${v})`;
    if (typeof v === "number" && !Number.isFinite(v)) return `Number(${v})`;
    if (v === undefined) return "<undefined>";
    if (v instanceof Set || v instanceof Map) return `${v.constructor.name}(${JSON.stringify([...v])})`;
    return v;
  });
  return fold(text ?? "<undefined>", max);
}

export function describeOutcome(op: Operation, outcome: Outcome): string {
  const { plan } = outcome;
  return [
    `${op.id} [${plan.face.toUpperCase()}] as ${outcome.identity}: ${plan.label}`,
    `  problems: ${outcome.problems.join("; ")}`,
    `  request:  ${plan.method} ${fold(plan.url, 400)}`,
    ...(Object.keys(plan.headers).length > 0 ? [`  headers:  ${show(plan.headers, 300)}`] : []),
    ...(plan.body !== undefined ? [`  body:     ${show(plan.body, 600)}`] : []),
    ...(plan.input !== undefined ? [`  input:    ${show(plan.input)}`] : []),
    `  response: ${outcome.status} ${outcome.contentType ?? ""} ${fold(outcome.text, 1_500)}`,
  ].join("\n");
}
