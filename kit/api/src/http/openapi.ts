import { OpenAPIGenerator } from "@orpc/openapi";
import type { AnyRouter } from "@orpc/server";
import { ZodToJsonSchemaConverter } from "@orpc/zod/zod4";
import type { Handler } from "hono";
import type { ResolvedConfig } from "../config";

/** GET /api/openapi.json: the REST face of the procedures, generated on first request and kept. */
export function openApiDocument(router: AnyRouter, config: ResolvedConfig): Handler {
  let spec: Promise<unknown> | undefined;
  return async (c) => {
    spec ??= new OpenAPIGenerator({ schemaConverters: [new ZodToJsonSchemaConverter()] }).generate(router, {
      info: {
        title: "Kit API",
        version: config.version,
        description: "REST face of Kit's procedures. The typed client uses the same procedures over /rpc.",
      },
      servers: [{ url: "/api" }],
    });
    return c.json(await spec);
  };
}
