// The error-shaping layer both handlers share, exercised with a small contract of its own.
import { describe, expect, test } from "bun:test";
import { implement } from "@orpc/server";
import { z } from "zod";
import { KitError } from "../errors";
import { createLogger } from "../infra/log";
import { base } from "./base";
import type { RequestContext } from "./context";
import { createRpcHandlers } from "./handlers";

const probeContract = {
  order: base
    .route({ method: "POST", path: "/orders" })
    .input(
      z.object({
        amount: z.string().regex(/^\d+(\.\d+)?$/, "expected a decimal string"),
        count: z.number().int().min(1),
        tags: z.array(z.string()).max(3).optional(),
      }),
    )
    .output(z.object({ ok: z.literal(true) })),
  missing: base.route({ method: "GET", path: "/missing/{id}" }).input(z.object({ id: z.string() })),
  broken: base.route({ method: "GET", path: "/broken" }),
  listed: base.route({ method: "GET", path: "/listed" }).meta({ access: "public", errors: ["CONFLICT"] }),
  unlisted: base.route({ method: "GET", path: "/unlisted" }).meta({ access: "public" }),
};
const os = implement(probeContract).$context<RequestContext>();
const probeRouter = os.router({
  order: os.order.handler(() => ({ ok: true as const })),
  missing: os.missing.handler(({ input, errors }) => {
    throw errors.NOT_FOUND({ message: `No order ${input.id}` });
  }),
  broken: os.broken.handler(() => {
    throw new Error("connection to 10.0.0.5 refused for user kit_admin");
  }),
  listed: os.listed.handler(() => {
    throw new KitError("CONFLICT", "Changed meanwhile.");
  }),
  unlisted: os.unlisted.handler(() => {
    throw new KitError("CONFLICT", "Changed meanwhile.");
  }),
});

const logLines: Record<string, unknown>[] = [];
const log = createLogger(
  { log: { level: "info", pretty: false } },
  {},
  { write: (line: string) => logLines.push(JSON.parse(line)) },
);
const handlers = createRpcHandlers(probeRouter);

async function rest(method: string, path: string, body?: string, contentType = "application/json") {
  const context = {
    log: log.child({ reqId: "req-1" }),
    requestId: "req-1",
    recordProcedure: () => {},
  } as unknown as RequestContext;
  const request = new Request(`http://kit.test/api${path}`, {
    method,
    body,
    headers: body === undefined ? {} : { "content-type": contentType },
  });
  const { matched, response } = await handlers.openapi.handle(request, { prefix: "/api", context });
  expect(matched).toBe(true);
  return {
    status: response?.status,
    body: (await response?.json()) as Record<string, unknown> & {
      data?: { issues: { path: string; message: string }[] };
    },
  };
}

describe("bad input is a typed 400 listing each issue", () => {
  test("wrong types and missing fields name the fields", async () => {
    const { status, body } = await rest(
      "POST",
      "/orders",
      JSON.stringify({ amount: 12.5, tags: ["a", "b", "c", "d"] }),
    );
    expect(status).toBe(400);
    expect(body.code).toBe("BAD_REQUEST");
    expect(body.defined).toBe(true);
    const paths = body.data?.issues.map((i) => i.path).sort();
    expect(paths).toEqual(["amount", "count", "tags"]);
    expect(body.message).toStartWith("Invalid input: ");
    expect(body.message).toContain("amount");
  });

  test("a value failing a rule carries the rule's message", async () => {
    const { status, body } = await rest("POST", "/orders", JSON.stringify({ amount: "1e5", count: 0 }));
    expect(status).toBe(400);
    expect(body.data?.issues).toContainEqual({ path: "amount", message: "expected a decimal string" });
    expect(body.data?.issues.find((i) => i.path === "count")?.message).toContain("1");
  });

  test("invalid JSON and a non-object body are 400, not 500", async () => {
    for (const raw of ["{not json", "[1,2", '"just a string"', "null"]) {
      const { status, body } = await rest("POST", "/orders", raw);
      expect(status).toBe(400);
      expect(body.code).toBe("BAD_REQUEST");
    }
  });

  test("valid input passes", async () => {
    const { status, body } = await rest("POST", "/orders", JSON.stringify({ amount: "12.50", count: 2 }));
    expect(status).toBe(200);
    expect(body).toEqual({ ok: true });
  });
});

describe("errors leaving the server", () => {
  test("a declared error keeps its code, status and message", async () => {
    const { status, body } = await rest("GET", "/missing/42");
    expect(status).toBe(404);
    expect(body).toMatchObject({ code: "NOT_FOUND", message: "No order 42", defined: true });
  });

  test("an unexpected error is a plain 500 that reveals nothing, and is logged with the request id", async () => {
    logLines.length = 0;
    const { status, body } = await rest("GET", "/broken");
    expect(status).toBe(500);
    expect(body.code).toBe("INTERNAL_SERVER_ERROR");
    expect(JSON.stringify(body)).not.toContain("10.0.0.5");
    expect(JSON.stringify(body)).not.toContain("kit_admin");
    const line = logLines.find((l) => l.msg === "procedure failed");
    expect(line?.procedure).toBe("broken");
    expect(line?.reqId).toBe("req-1");
    expect(JSON.stringify(line)).not.toContain("    at ");
  });
});

describe("an error the procedure's contract does not list", () => {
  test("still reaches the caller, and is logged for a developer to add to meta.errors", async () => {
    const undeclared = () => logLines.filter((l) => l.msg === "procedure answered an error its contract does not list");
    const before = undeclared().length;
    expect((await rest("GET", "/listed")).status).toBe(409);
    expect(undeclared().length).toBe(before);
    const { status, body } = await rest("GET", "/unlisted");
    expect({ status, code: body.code }).toEqual({ status: 409, code: "CONFLICT" });
    expect(undeclared().slice(before)).toEqual([expect.objectContaining({ procedure: "unlisted", code: "CONFLICT" })]);
  });
});
