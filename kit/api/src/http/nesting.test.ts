// Deeply nested input: measured without recursion and refused before anything walks it, so one
// anonymous request cannot hold the event loop (it once did for seconds, then failed with a 500).
import { afterAll, describe, expect, test } from "bun:test";
import { createTestEnvironment, createTestKit } from "../../test/kit";
import { serveKit } from "../../test/serve";
import { TRUSTED_ORIGIN } from "../../test/users";
import { jsonDepthExceeds, MAX_INPUT_DEPTH, queryDepthExceeds } from "./nesting";

const bytes = (text: string) => new TextEncoder().encode(text);
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

describe("measuring the depth", () => {
  test("objects and arrays count; brackets inside strings and escaped quotes do not", () => {
    expect(jsonDepthExceeds(bytes(nestedObjects(32)), 32)).toBe(false);
    expect(jsonDepthExceeds(bytes(nestedObjects(33)), 32)).toBe(true);
    expect(jsonDepthExceeds(bytes(`{"a":[${nestedArrays(31)}]}`), 32)).toBe(true);
    expect(jsonDepthExceeds(bytes(`{"a":"${"[".repeat(100)}"}`), 32)).toBe(false);
    expect(jsonDepthExceeds(bytes(`{"a":"\\"${"{".repeat(100)}"}`), 32)).toBe(false);
    expect(jsonDepthExceeds(bytes(`["\\\\",${nestedArrays(40)}]`), 32)).toBe(true);
    // Siblings do not add up: width is not depth.
    expect(jsonDepthExceeds(bytes(`[${Array.from({ length: 1000 }, () => nestedArrays(10)).join(",")}]`), 32)).toBe(
      false,
    );
    expect(jsonDepthExceeds(bytes("not json at all ]]]] [["), 32)).toBe(false);
  });

  test("query strings count bracket levels and the RPC face's JSON `data`", () => {
    expect(queryDepthExceeds(new URLSearchParams(`a${"[b]".repeat(31)}=1`), 32)).toBe(false);
    expect(queryDepthExceeds(new URLSearchParams(`a${"[b]".repeat(32)}=1`), 32)).toBe(true);
    expect(queryDepthExceeds(new URLSearchParams(`a${"%5Bb%5D".repeat(40)}=1`), 32)).toBe(true);
    expect(queryDepthExceeds(new URLSearchParams({ data: JSON.stringify({ json: 1 }) }), 32)).toBe(false);
    expect(queryDepthExceeds(new URLSearchParams({ data: `{"json":${nestedArrays(40)}}` }), 32)).toBe(true);
  });
});

const kit = await createTestKit();

describe("deep input over HTTP", () => {
  const send = (path: string, body: string, headers: Record<string, string> = {}) =>
    kit.request(path, {
      method: path === "/api/settings" ? "PATCH" : "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  test("a body nested past the limit is a typed 400 on /rpc, /api and /api/auth; at the limit it is served", async () => {
    for (const [path, body, headers] of [
      ["/rpc/fx/currencies", `{"json":${nestedObjects(20_000)}}`, {}],
      ["/rpc/fx/currencies", `{"json":${nestedArrays(100_000)}}`, {}],
      ["/api/settings", nestedObjects(1_000), {}],
      ["/api/auth/sign-in/email", `{"email":${nestedArrays(5_000)},"password":"x"}`, { origin: TRUSTED_ORIGIN }],
    ] as const) {
      const response = await send(path, body, headers);
      const text = await response.text();
      expect(response.status, `${path}: ${text.slice(0, 300)}`).toBe(400);
      const error = path.startsWith("/rpc/") ? JSON.parse(text).json : JSON.parse(text);
      expect(error).toMatchObject({ code: "BAD_REQUEST", status: 400, defined: true });
      expect(error.message).toContain(`deeper than ${MAX_INPUT_DEPTH} levels`);
    }
    // The RPC envelope itself is one level: 31 more fit.
    const atLimit = await send("/rpc/fx/currencies", `{"json":${nestedObjects(MAX_INPUT_DEPTH - 1)}}`);
    expect(atLimit.status).toBe(200);
  });

  test("a query string nested past the limit is a typed 400 on both faces", async () => {
    const rest = await kit.request(`/api/fx/currencies?a${"[b]".repeat(40)}=1`);
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as { message: string }).message).toContain("query string");
    const data = encodeURIComponent(`{"json":${nestedArrays(40)}}`);
    const rpc = await kit.request(`/rpc/fx/currencies?data=${data}`);
    expect(rpc.status).toBe(400);
  });
});

test("/health keeps answering while deep bodies arrive three at a time: typically within 100 ms, never stalled", async () => {
  const environment = await createTestEnvironment();
  const served = await serveKit(environment.env);
  afterAll(async () => {
    await served.stop();
    await environment.cleanup();
  });
  // 100 KB to 800 KB: bodies that once held the event loop for 3 to 14 s each.
  const bodies = [
    `{"json":${nestedObjects(20_000)}}`,
    `{"json":${nestedArrays(400_000)}}`,
    `{"json":${nestedObjects(160_000)}}`,
  ];
  const probes: number[] = [];
  // Round 0 warms the process up (its first calls compile the routes); rounds 1 to 3 are measured.
  for (let round = 0; round <= 3; round++) {
    let done = false;
    const answers = Promise.all(
      bodies.map((body) =>
        fetch(`${served.url}/rpc/fx/currencies`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        }).then(async (r) => ({ status: r.status, code: ((await r.json()) as { json: { code: string } }).json.code })),
      ),
    ).finally(() => {
      done = true;
    });
    // Probes one after the other until every deep body has its answer (bounded: the loop ends
    // with the answers, or after 100 probes).
    for (let probe = 0; probe < 100 && (probe < 3 || !done); probe++) {
      const started = performance.now();
      const health = await fetch(`${served.url}/health`);
      if (round > 0) probes.push(Math.round(performance.now() - started));
      expect(health.status).toBe(200);
    }
    expect(await answers).toEqual(bodies.map(() => ({ status: 400, code: "BAD_REQUEST" })));
  }
  // Typically within 100 ms; never a stall (which lasted seconds). The second bound leaves room
  // for a busy machine (CI, parallel test files) scheduling either process late once.
  const sorted = [...probes].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const report = `/health latencies (ms): ${probes.join(", ")}`;
  expect(median, report).toBeLessThan(100);
  expect(sorted.at(-1) ?? 0, report).toBeLessThan(1_000);
}, 120_000);
