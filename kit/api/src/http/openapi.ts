// GET /api/openapi.json: the REST face of the procedures, as oRPC generates it from the router, then
// made to say what Kit does: each operation lists only the errors its procedure can answer
// (rpc/declared-errors.ts), who may call it (`security`) and what it needs (`x-kit-permission`).
import { OpenAPIGenerator } from "@orpc/openapi";
import type { AnyRouter } from "@orpc/server";
import { ZodToJsonSchemaConverter } from "@orpc/zod/zod4";
import type { Handler } from "hono";
import { type ErrorCode, errorMap } from "../rpc/base";
import {
  declaredErrorStatuses,
  INTERNAL_ERROR,
  type ProcedureDeclaration,
  procedureDeclarations,
} from "../rpc/declared-errors";
import { HTTP_OPERATIONS, type HttpOperation } from "./dossier-route";

export interface OpenApiOptions {
  version: string;
  /** better-auth's session cookie (its name depends on secure cookies: `__Secure-` in production). */
  sessionCookieName: string;
}

type JsonObject = Record<string, unknown>;
interface Operation extends JsonObject {
  operationId?: string;
  responses?: Record<string, JsonObject>;
}

/** The names of the security schemes, shared with the authentication document (http/auth-openapi.ts). */
export const SECURITY = { cookie: "sessionCookie", bearer: "bearerToken", apiKey: "apiKey" } as const;

export function securitySchemes(sessionCookieName: string): Record<string, JsonObject> {
  return {
    [SECURITY.cookie]: {
      type: "apiKey",
      in: "cookie",
      name: sessionCookieName,
      description:
        "The session cookie set by sign-in (/api/auth). Browsers send it themselves; a mutation must also carry an Origin Kit trusts.",
    },
    [SECURITY.bearer]: {
      type: "http",
      scheme: "bearer",
      description: "The session token from the `set-auth-token` header of a sign-in response (/api/auth).",
    },
    [SECURITY.apiKey]: {
      type: "apiKey",
      in: "header",
      name: "x-api-key",
      description:
        "An API key (`bun run kit keys:create`); it reaches only the operations whose `x-kit-permission.apiKey` it carries.",
    },
  };
}

/** GET /api/openapi.json, generated on first request and kept. */
export function openApiDocument(router: AnyRouter, options: () => Promise<OpenApiOptions>): Handler {
  let spec: Promise<unknown> | undefined;
  return async (c) => {
    spec ??= options().then((resolved) => generateOpenApiDocument(router, resolved));
    return c.json(await spec);
  };
}

export async function generateOpenApiDocument(router: AnyRouter, options: OpenApiOptions): Promise<JsonObject> {
  const doc = (await new OpenAPIGenerator({ schemaConverters: [new ZodToJsonSchemaConverter()] }).generate(router, {
    info: {
      title: "Kit API",
      version: options.version,
      description:
        "REST face of Kit's procedures. The typed client uses the same procedures over /rpc. Each operation lists the errors it can answer, the credentials it takes and, as `x-kit-permission`, what the caller's role and API key must grant.",
    },
    servers: [{ url: "/api" }],
  })) as unknown as JsonObject;
  const declarations = procedureDeclarations(router);
  for (const item of Object.values((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    for (const operation of Object.values(item)) {
      const declaration = operation.operationId ? declarations.get(operation.operationId) : undefined;
      if (!declaration) throw new Error(`OpenAPI: no procedure for operation ${operation.operationId}`);
      describeOperation(operation, declaration);
    }
  }
  addHttpOperations(doc, HTTP_OPERATIONS);
  doc.components = { ...(doc.components as JsonObject), securitySchemes: securitySchemes(options.sessionCookieName) };
  return doc;
}

/**
 * The operations served beside the procedures (http/dossier-route.ts), described from their
 * declaration as a procedure is from its meta; their error answers are the procedures' own (the
 * same shapes, taken from the operations described above).
 */
function addHttpOperations(doc: JsonObject, operations: readonly HttpOperation[]): void {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  const errorResponses = new Map<string, JsonObject>();
  for (const item of Object.values(paths)) {
    for (const described of Object.values(item)) {
      for (const [status, response] of Object.entries(described.responses ?? {})) {
        if (Number(status) >= 400 && !errorResponses.has(status)) errorResponses.set(status, response);
      }
    }
  }
  for (const http of operations) {
    const responses: Record<string, JsonObject> = {
      "200": {
        description: http.answer.description,
        content: {
          [http.answer.contentType]: { schema: { type: "string", contentMediaType: http.answer.contentType } },
        },
      },
    };
    for (const status of declaredErrorStatuses({ meta: http.meta })) {
      const response = errorResponses.get(String(status));
      if (!response) throw new Error(`OpenAPI: no procedure answers ${status}, to describe ${http.operationId} by`);
      responses[String(status)] = structuredClone(response);
    }
    const operation: Operation = {
      operationId: http.operationId,
      summary: http.summary,
      description: http.description,
      tags: http.tags,
      parameters: http.pathParameters.map((p) => ({
        name: p.name,
        in: "path",
        required: true,
        description: p.description,
        schema: { type: "string", format: p.format },
      })),
      responses,
      // Served under /api only: the RPC face (/rpc) answers JSON envelopes, not a byte stream.
      "x-kit-rest-only": true,
    };
    describeOperation(operation, { meta: http.meta });
    paths[http.path] = { ...paths[http.path], [http.method.toLowerCase()]: operation };
  }
  doc.paths = paths;
}

/** Errors, security and permission of one operation, from its procedure's declaration. */
function describeOperation(operation: Operation, declaration: ProcedureDeclaration): void {
  const statuses = new Set(declaredErrorStatuses(declaration));
  const responses = operation.responses ?? {};
  for (const [status, response] of Object.entries(responses)) {
    if (Number(status) < 400) continue;
    if (!statuses.has(Number(status))) delete responses[status];
    else describeErrorResponse(response, Number(status));
  }
  responses[String(INTERNAL_ERROR.status)] = {
    description: "A fault on Kit's side (a bug): logged with the request id, answered without details.",
    content: { "application/json": { schema: undefinedErrorSchema() } },
  };
  operation.responses = responses;

  const { meta } = declaration;
  if (meta.access === "public") {
    operation.security = [];
    return;
  }
  operation.security = [{ [SECURITY.cookie]: [] }, { [SECURITY.bearer]: [] }, { [SECURITY.apiKey]: [] }];
  operation["x-kit-permission"] = { role: meta.permission ?? null, apiKey: meta.keyGrant ?? null };
  const needs = meta.permission ? ` Your role must grant ${describeGrants(meta.permission)}.` : "";
  const key = meta.keyGrant ? `An API key must carry ${describeGrants(meta.keyGrant)}` : "No API key may call it";
  operation.description = [operation.description, `Signed in only.${needs} ${key}.`].filter(Boolean).join("\n\n");
}

/** A readable description, and no `data` where the code never carries any (oRPC shows it as "anything"). */
function describeErrorResponse(response: JsonObject, status: number): void {
  const codes = (Object.keys(errorMap) as ErrorCode[]).filter((code) => errorMap[code].status === status);
  response.description = codes.map((code) => `${code}: ${errorMap[code].message}`).join(" ");
  const content = response.content as Record<string, { schema?: { oneOf?: JsonObject[] } }> | undefined;
  for (const variant of content?.["application/json"]?.schema?.oneOf ?? []) {
    const properties = variant.properties as Record<string, { const?: unknown }> | undefined;
    const code = properties?.code?.const as ErrorCode | undefined;
    if (properties && code && code in errorMap && !("data" in errorMap[code])) delete properties.data;
  }
}

function undefinedErrorSchema(): JsonObject {
  return {
    type: "object",
    properties: {
      defined: { const: false },
      code: { const: INTERNAL_ERROR.code },
      status: { const: INTERNAL_ERROR.status },
      message: { type: "string" },
    },
    required: ["defined", "code", "status", "message"],
  };
}

function describeGrants(grants: Record<string, readonly string[] | undefined>): string {
  return Object.entries(grants)
    .map(([subject, actions]) => `${subject}: ${(actions ?? []).join(", ")}`)
    .join("; ");
}
