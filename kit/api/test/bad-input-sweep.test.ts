// The bad-input sweep: every operation of /api/openapi.json, on both faces (REST under /api, RPC
// under /rpc), for every identity, gets a fixed list of hostile requests derived from its own
// parameters and body schema plus fast-check inputs from a fixed seed. No answer may be a 5xx;
// every 4xx is a JSON typed error; nothing leaks a stack, a source path, a driver error or a
// secret. Procedures added later are swept without anyone listing them here.
//
// Budget (bad-inputs.ts): per operation and face, up to 100 fixed inputs plus 25 fast-check runs,
// sent for every identity; garbage bodies, envelopes, paths, query strings and methods do not
// depend on the caller and go with the first identity only; the heaviest parser and body-limit
// cases (1 MiB bodies, 100,000-deep JSON, 800 KB nested bodies, 20,000 query keys) go once per file
// and kind of face.
//
// A failure prints the operation, the face, the identity, the exact request (long runs folded as
// ⟨×N⟩) and the response. The seed is fixed (printed in fast-check labels), so a rerun repeats it;
// explore other streams with BAD_INPUT_SEED=<n>, more runs with BAD_INPUT_RUNS=<n>, and print
// request counts with BAD_INPUT_REPORT=1.
import { describe, expect, test } from "bun:test";
import { RATE_LIMIT_RULE_NAMES } from "../src/rpc/rate-limit-names";
import {
  CONCURRENCY,
  describeOutcome,
  identities,
  judge,
  leakMarkers,
  listOperations,
  mapLimit,
  type OpenApiDocument,
  type Operation,
  plansFor,
  RUNS_PER_OPERATION,
  restPlan,
  rpcBody,
  rpcPlan,
  SWEEP_SEED,
  selectPlans,
  send,
  undeclaredStatuses,
} from "./bad-inputs";
import { createTestKit } from "./kit";

// Limits high enough that the sweep reaches the handlers instead of being turned away with 429s:
// every rule, so a rule added later is lifted too.
const kit = await createTestKit({
  chain: true,
  env: {
    RATE_LIMITS: JSON.stringify(
      Object.fromEntries(RATE_LIMIT_RULE_NAMES.map((name) => [name, { limit: 1_000_000, windowSeconds: 60 }])),
    ),
  },
});
const docResponse = await kit.request("/api/openapi.json");
const doc = (await docResponse.json()) as OpenApiDocument;
const operations = listOperations(doc);
const callers = await Promise.all(
  identities.map(async (identity) => ({
    name: identity.name,
    headers: typeof identity.headers === "function" ? await identity.headers(kit) : identity.headers,
  })),
);
// Values that would reveal the deployment if echoed: connection strings and the Redis key prefix.
const markers = leakMarkers([kit.config.db.url, kit.config.redis.url, kit.config.redis.keyPrefix]);
const planOptions = {
  doc,
  seed: SWEEP_SEED,
  numRuns: RUNS_PER_OPERATION,
  bodyLimitBytes: kit.config.http.bodyLimitBytes,
};

describe("bad-input sweep", () => {
  test("the OpenAPI document lists the operations to sweep", () => {
    expect(docResponse.status).toBe(200);
    expect(operations.map((op) => op.id)).toContain("system.info");
    for (const op of operations) {
      // The RPC face is addressed by the operationId: a custom one would sweep a route that does not exist.
      expect(op.id).toMatch(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/);
    }
  });

  const sentOnce = new Set<string>();
  callers.forEach((identity, index) => {
    for (const op of operations) {
      test(`${op.id} (${op.method} ${op.path}) as ${identity.name}`, async () => {
        const plans = selectPlans(plansFor(op, planOptions), index === 0, sentOnce);
        const outcomes = await mapLimit(plans, CONCURRENCY, (plan) => send(kit, plan, identity, markers));
        const failures = outcomes.filter((o) => o.problems.length > 0).map((o) => describeOutcome(op, o));
        expect(failures).toEqual([]);
        // Each answer's status is among those the document lists for the operation.
        expect(undeclaredStatuses(op, outcomes)).toEqual([]);
        // Neither face may let a `__proto__` or `constructor.prototype` key reach the shared prototype.
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        // Each face saw the valid baseline and more than 20 hostile requests.
        for (const face of op.restOnly ? (["rest"] as const) : (["rest", "rpc"] as const)) {
          expect(outcomes.some((o) => o.plan.face === face && o.plan.baseline)).toBe(true);
          expect(outcomes.filter((o) => o.plan.face === face).length).toBeGreaterThan(20);
        }
        recordCount(op, plans.length);
      }, 60_000);
    }
  });
});

// The generators themselves, on a synthetic operation with path, query and body: today's API has
// no operation with inputs, and the sweep must already cover the ones that will have them.
describe("bad-input generators and judge", () => {
  const synthetic: OpenApiDocument = {
    openapi: "3.1.1",
    servers: [{ url: "/api" }],
    paths: {
      "/kyc/applications/{id}": {
        get: {
          operationId: "kyc.get",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
        },
        patch: {
          operationId: "kyc.update",
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } },
            { name: "dryRun", in: "query", required: false, schema: { type: "boolean" } },
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    name: { type: "string", minLength: 1 },
                    amount: { type: "number", minimum: 0 },
                    wallet: { type: "string", pattern: "^0x[a-fA-F0-9]{40}$" },
                    tags: { type: "array", items: { type: "string" } },
                    address: { $ref: "#/components/schemas/Address" },
                  },
                  required: ["name", "amount"],
                },
              },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        Address: { type: "object", properties: { country: { enum: ["CH", "DE"] } }, required: ["country"] },
      },
    },
  };
  const [get, update] = listOperations(synthetic) as [Operation, Operation];
  const options = { doc: synthetic, seed: SWEEP_SEED, numRuns: RUNS_PER_OPERATION, bodyLimitBytes: 1024 * 1024 };

  test("operations are read with their parameters, body and RPC path", () => {
    expect(update.id).toBe("kyc.update");
    expect(update.method).toBe("PATCH");
    expect(update.rpcPath).toBe("/rpc/kyc/update");
    expect(update.methodsOnPath).toEqual(["GET", "PATCH"]);
    expect(update.pathParams.map((p) => p.name)).toEqual(["id"]);
    expect(update.queryParams.map((p) => p.name)).toEqual(["dryRun"]);
    expect(update.input.required).toEqual(["id", "name", "amount"]);
  });

  test("an input is split into path, query and body on REST, and sent whole under json on RPC", () => {
    const input = { id: "a/b", dryRun: true, name: "x", amount: 1 };
    const rest = restPlan(update, "t", input);
    expect(rest.url).toBe("/api/kyc/applications/a%2Fb?dryRun=true");
    expect(JSON.parse(rest.body as string)).toEqual({ name: "x", amount: 1 });
    expect(JSON.parse(rpcBody(input))).toEqual({ json: input });
    expect(JSON.parse(rpcBody({ n: Number.NaN, big: 2n ** 64n }))).toEqual({
      json: { n: null, big: "18446744073709551616" },
      meta: [
        [2, "n"],
        [0, "big"],
      ],
    });
    expect(restPlan(get, "t", { id: "x", extra: { deep: [1, "\uD800"] } }).url).toBe(
      "/api/kyc/applications/x?extra[deep][0]=1&extra[deep][1]=%ED%A0%80".replace(/\[|\]/g, (c) =>
        encodeURIComponent(c),
      ),
    );
  });

  test("every field gets missing, null, wrong-type and nasty values, plus the random runs", () => {
    const plans = plansFor(update, options);
    const labels = plans.filter((p) => p.face === "rest").map((p) => p.label);
    for (const expected of [
      "valid baseline input",
      "name missing (required)",
      "amount = null",
      "address.country missing (required)",
      "extra fields (mass assignment)",
      "extra field: __proto__ pollution",
      "REST body: invalid JSON",
      "REST body: one byte over the body limit",
      "REST path: {id} encoded NUL",
      "REST method PUT (not declared on this path)",
    ]) {
      expect(labels).toContain(expected);
    }
    expect(labels.some((l) => l.startsWith("amount: ") && l.includes("instead of number"))).toBe(true);
    expect(labels.filter((l) => l.startsWith("fast-check #")).length).toBe(RUNS_PER_OPERATION);
    const baseline = plans.find((p) => p.face === "rest" && p.baseline);
    expect(baseline?.url).toMatch(/^\/api\/kyc\/applications\/[0-9a-f-]{36}\?dryRun=true$/);
    expect(JSON.parse(baseline?.body as string).wallet).toMatch(/^0x[a-fA-F0-9]{40}$/);
  });

  test("the judge flags 5xx, untyped or non-JSON errors, leaks and accepted garbage", () => {
    const leaks = leakMarkers(["postgres://kit:secret@db:5432/kit"]);
    const rest = restPlan(update, "t", { id: "x", name: "x", amount: 1 });
    const rpc = rpcPlan(update, "t", { id: "x", name: "x", amount: 1 });
    const typed = {
      defined: true,
      code: "BAD_REQUEST",
      status: 400,
      message: "Invalid input: amount: expected number",
    };
    const json = "application/json";
    expect(judge(rest, 400, json, JSON.stringify(typed), leaks)).toEqual([]);
    expect(judge(rpc, 400, json, JSON.stringify({ json: typed, meta: [] }), leaks)).toEqual([]);
    expect(judge(rest, 200, json, '{"ok":true}', leaks)).toEqual([]);
    expect(judge(rest, 500, json, JSON.stringify({ ...typed, status: 500 }), leaks)).toContain("server error 500");
    expect(judge(rest, 400, "text/plain", "nope", leaks)).toEqual([
      "error response is not JSON (content-type text/plain)",
    ]);
    expect(judge(rpc, 400, json, JSON.stringify(typed), leaks)).toEqual(["body.json is not an error object"]);
    expect(judge(rest, 400, json, JSON.stringify({ ...typed, defined: undefined }), leaks)).toEqual([
      "body.defined is not a boolean",
    ]);
    expect(judge(rest, 422, json, JSON.stringify(typed), leaks)).toEqual([
      "body.status (400) differs from the HTTP status 422",
    ]);
    const stack = {
      ...typed,
      message: "TypeError: x is undefined\n    at parse (/srv/kit/src/domains/kyc/service.ts:12:3)",
    };
    expect(judge(rest, 400, json, JSON.stringify(stack), leaks)).toEqual([
      "response leaks internals: stack frame",
      "response leaks internals: source file reference",
      "response leaks internals: JavaScript error",
    ]);
    expect(judge(rest, 200, json, '{"url":"postgres://kit:secret@db:5432/kit"}', leaks)).toEqual([
      "response leaks internals: connection string",
      'response leaks internals: internal value "postgres://kit:secret@db:5432/kit"',
    ]);
    expect(judge({ ...rest, expect4xx: true }, 200, json, "{}", leaks)).toEqual(["expected a 4xx refusal, got 200"]);
    // An event stream is judged by its status and headers (send cancels its body).
    expect(judge(rest, 200, "text/event-stream", "", leaks)).toEqual([]);
    expect(judge(rest, 202, "text/event-stream", "", leaks)).toEqual(["event stream with status 202"]);
    const noRoute = { ...typed, code: "NOT_FOUND", status: 404, message: "No route for POST /rpc/kyc/update." };
    expect(judge({ ...rpc, baseline: true }, 404, json, JSON.stringify({ json: noRoute }), leaks)).toEqual([
      "the valid baseline did not reach the operation (no route): the sweep is not covering it",
    ]);
    // What the caller sent and the app echoes back is not a leak.
    const echo = restPlan(update, "t", { id: "x", name: "a.ts:1", amount: 1 });
    expect(judge(echo, 400, json, JSON.stringify({ ...typed, message: "Unknown name a.ts:1" }), leaks)).toEqual([]);
  });

  test("an answer whose status the operation does not list is reported, unless no operation was reached", () => {
    const plan = restPlan(update, "t", { id: "x", name: "x", amount: 1 });
    const outcome = (status: number, text: string, extra: Partial<typeof plan> = {}) => ({
      plan: { ...plan, ...extra },
      identity: "investor",
      status,
      contentType: "application/json",
      text,
      problems: [],
    });
    const op = { ...update, responses: ["200", "400", "401"] };
    const conflict = '{"defined":true,"code":"CONFLICT","status":409,"message":"Changed meanwhile."}';
    expect(undeclaredStatuses(op, [outcome(200, "{}"), outcome(400, "{}")])).toEqual([]);
    expect(undeclaredStatuses(op, [outcome(409, conflict)])).toEqual([`409 for rest t as investor: ${conflict}`]);
    expect(undeclaredStatuses(op, [outcome(404, '{"message":"No route for PATCH /api/x."}')])).toEqual([]);
    expect(undeclaredStatuses(op, [outcome(413, "{}", { transport: true })])).toEqual([]);
  });

  test("the same seed gives the same requests", () => {
    const once = plansFor(update, options).map((p) => `${p.method} ${p.url} ${String(p.body)}`);
    const again = plansFor(update, options).map((p) => `${p.method} ${p.url} ${String(p.body)}`);
    expect(again).toEqual(once);
  });
});

const counts = new Map<string, number>();
function recordCount(op: Operation, requests: number) {
  counts.set(op.id, (counts.get(op.id) ?? 0) + requests);
  if (process.env.BAD_INPUT_REPORT) {
    console.warn(
      `bad-input sweep: ${op.id} ${requests} requests (${[...counts.values()].reduce((a, b) => a + b, 0)} so far)`,
    );
  }
}
