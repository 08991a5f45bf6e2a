// What /api/openapi.json and the /api/auth document promise: each operation lists the errors its
// procedure can answer (no more), its credentials and permission; the auth document only what Kit
// serves. That each answer's status is listed is checked by the bad-input sweep, which calls them all.
import { describe, expect, test } from "bun:test";
import { createTestKit } from "../../test/kit";
import { router } from "../router";
import { errorMap } from "../rpc/base";
import { declaredErrorStatuses, procedureDeclarations } from "../rpc/declared-errors";
import { HTTP_OPERATIONS } from "./dossier-route";
import { generateOpenApiDocument } from "./openapi";

// biome-ignore lint/suspicious/noExplicitAny: walking generated JSON documents
type Json = Record<string, any>;

const kit = await createTestKit();
const cookieName = (await kit.deps.auth.$context).authCookies.sessionToken.name;

const doc = (await generateOpenApiDocument(router, { version: "test", sessionCookieName: "kit.session" })) as Json;
const operations = new Map<string, Json>();
for (const item of Object.values(doc.paths as Record<string, Record<string, Json>>)) {
  for (const operation of Object.values(item)) operations.set(operation.operationId, operation);
}
const operation = (id: string): Json => {
  const found = operations.get(id);
  if (!found) throw new Error(`no operation ${id}`);
  return found;
};
const errorStatuses = (id: string) =>
  Object.keys(operation(id).responses)
    .filter((status) => Number(status) >= 400)
    .map(Number);

describe("errors per operation", () => {
  test("every procedure is an operation, listing exactly the errors derived from its declaration", () => {
    const declarations = procedureDeclarations(router);
    // And the operations served beside the procedures (http/dossier-route.ts), from their own declaration.
    for (const http of HTTP_OPERATIONS) declarations.set(http.operationId, { meta: http.meta });
    expect([...operations.keys()].sort()).toEqual([...declarations.keys()].sort());
    for (const [id, declaration] of declarations) {
      expect({ id, statuses: errorStatuses(id) }).toEqual({
        id,
        statuses: declaredErrorStatuses(declaration).sort((a, b) => a - b),
      });
    }
  });

  test("a public procedure lists no 401 or 403", () => {
    expect(errorStatuses("fx.currencies")).toEqual([400, 429, 500, 503]);
    expect(operation("fx.currencies").security).toEqual([]);
  });

  test("only the domain errors a procedure declares are listed", () => {
    expect(errorStatuses("system.info")).not.toContain(409);
    expect(errorStatuses("tokens.get")).toContain(404);
    expect(errorStatuses("tokens.get")).not.toContain(401);
    expect(errorStatuses("kyc.application.submit")).toEqual([400, 401, 403, 409, 412, 429, 500, 503]);
    expect(errorStatuses("me.get")).toEqual([400, 401, 403, 429, 500, 503]);
  });

  test("error bodies carry the data schema of their code, and none where the code has no data", () => {
    const variants = (id: string, status: number): Json[] =>
      operation(id).responses[status].content["application/json"].schema.oneOf;
    const defined = (id: string, status: number) => variants(id, status).find((v) => v.properties.defined.const);
    expect(defined("kyc.application.submit", 412)?.properties).not.toHaveProperty("data");
    expect(defined("kyc.application.submit", 412)?.properties.code.const).toBe("PRECONDITION_FAILED");
    expect(defined("fx.currencies", 429)?.properties.data.properties).toHaveProperty("retryAfterSeconds");
    expect(defined("fx.convert", 400)?.properties.data.properties).toHaveProperty("issues");
    expect(operation("fx.convert").responses[404].description).toContain(errorMap.NOT_FOUND.message);
    expect(operation("fx.currencies").responses[500].content["application/json"].schema.properties.code).toEqual({
      const: "INTERNAL_SERVER_ERROR",
    });
  });
});

describe("credentials and permissions", () => {
  test("three security schemes: the session cookie, a bearer token and x-api-key", () => {
    expect(doc.components.securitySchemes).toMatchObject({
      sessionCookie: { type: "apiKey", in: "cookie", name: "kit.session" },
      bearerToken: { type: "http", scheme: "bearer" },
      apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
    });
  });

  test("a signed-in procedure takes any of them and states its permission", () => {
    const setRole = operation("users.setRole");
    expect(setRole.security).toEqual([{ sessionCookie: [] }, { bearerToken: [] }, { apiKey: [] }]);
    expect(setRole["x-kit-permission"]).toEqual({ role: { users: ["manage"] }, apiKey: { users: ["manage"] } });
    expect(setRole.description).toContain("Your role must grant users: manage");
    expect(operation("me.get")["x-kit-permission"]).toEqual({ role: null, apiKey: { me: ["read"] } });
    expect(operation("tokens.get")).not.toHaveProperty("x-kit-permission");
  });
});

describe("served documents", () => {
  test("/api/openapi.json names the session cookie better-auth sets", async () => {
    const served = (await (await kit.request("/api/openapi.json")).json()) as Json;
    expect(served.components.securitySchemes.sessionCookie.name).toBe(cookieName);
  });

  test("the auth document shows what Kit serves, with SIWE answers and the password rules", async () => {
    const response = await kit.request("/api/auth/open-api/generate-schema");
    expect(response.status).toBe(200);
    const auth = (await response.json()) as Json;
    const paths = Object.keys(auth.paths);
    expect(paths.filter((p) => p.startsWith("/admin/"))).toEqual([]);
    expect(paths).not.toContain("/sign-in/social");
    expect(paths).toContain("/sign-in/email");
    expect(auth.servers).toEqual([{ url: "/api/auth" }]);
    expect(Object.keys(auth.components.securitySchemes).sort()).toEqual(["bearerToken", "sessionCookie"]);
    const nonce = auth.paths["/siwe/nonce"].post.responses[200].content["application/json"].schema;
    expect(nonce.required).toEqual(["nonce"]);
    const verify = auth.paths["/siwe/verify"].post.responses[200].content["application/json"].schema;
    expect(verify.required).toEqual(["token", "success", "user"]);
    const signUp = auth.paths["/sign-up/email"].post.requestBody.content["application/json"].schema;
    expect(signUp.properties.password).toMatchObject({ minLength: 12, maxLength: 128 });
  });

  test("the closed endpoints it no longer lists are indeed closed", async () => {
    const response = await kit.request("/api/auth/admin/list-users");
    expect(response.status).toBe(404);
  });
});
