// GET /api/auth/open-api/generate-schema: better-auth's own description of /api/auth, trimmed to
// what Kit serves and completed where better-auth leaves it vague.
import type { Auth } from "../domains/auth/auth";
import { SECURITY, securitySchemes } from "./openapi";

type JsonObject = Record<string, unknown>;

/**
 * Paths better-auth describes that Kit does not serve: auth-mount.ts refuses /admin/* (users.* is
 * the admin surface), and with no social provider configured there is no social sign-in or callback.
 */
const NOT_SERVED = [/^\/admin\//, /^\/sign-in\/social$/, /^\/callback\/\{id\}$/];

interface AuthDocumentOptions {
  sessionCookieName: string;
  minPasswordLength: number;
  maxPasswordLength: number;
}

function describeAuthDocument(generated: JsonObject, options: AuthDocumentOptions): JsonObject {
  const doc = structuredClone(generated);
  const paths = (doc.paths ?? {}) as Record<string, Record<string, JsonObject>>;
  for (const path of Object.keys(paths)) {
    if (NOT_SERVED.some((pattern) => pattern.test(path))) delete paths[path];
  }
  // better-auth writes its own default base URL here; the document is served by Kit under /api/auth.
  doc.servers = [{ url: "/api/auth" }];
  const { cookie, bearer } = SECURITY;
  const schemes = securitySchemes(options.sessionCookieName);
  // API keys are never a session on /api/auth (domains/auth/auth.ts): only the cookie and the bearer token.
  doc.components = {
    ...(doc.components as JsonObject),
    securitySchemes: { [cookie]: schemes[cookie], [bearer]: schemes[bearer] },
  };
  const signedIn = [{ [cookie]: [] }, { [bearer]: [] }];
  doc.security = [...signedIn, {}];
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      // better-auth names schemes of its own (`apiKeyCookie`, `bearerAuth`); they are Kit's two here.
      if (Array.isArray(operation.security)) operation.security = [...signedIn, {}];
    }
  }
  describeSiwe(paths);
  describePassword(paths, options);
  for (const [path, item] of Object.entries(paths)) {
    const methods = Object.keys(item);
    for (const [method, operation] of Object.entries(item)) {
      // Client generators name functions after it; better-auth gives only some of its endpoints one.
      operation.operationId ??= operationIdFor(path, methods.length > 1 ? method : "");
      // Reference pages list operations by summary; better-auth writes a description at most.
      if (!operation.summary) {
        const firstSentence = typeof operation.description === "string" ? operation.description.split(/\.\s/)[0] : "";
        operation.summary = firstSentence?.replace(/\.$/, "") || `${method.toUpperCase()} ${path}`;
      }
    }
  }
  toOpenApi31Nulls(doc);
  return doc;
}

/** `/delete-user/callback` → `deleteUserCallback`; `/get-session` with `get` → `getSessionGet`. */
function operationIdFor(path: string, method: string): string {
  const words = `${path} ${method}`.split(/[^a-zA-Z0-9]+/).filter(Boolean);
  return words.map((word, i) => (i === 0 ? word : word[0]?.toUpperCase() + word.slice(1))).join("");
}

/**
 * better-auth marks nullable fields the OpenAPI 3.0 way (`nullable: true`) in a document that says
 * 3.1, where `nullable` does not exist: spelled as 3.1 does, a type that includes "null".
 */
function toOpenApi31Nulls(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) toOpenApi31Nulls(item);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const schema = node as JsonObject;
  if (schema.nullable === true && typeof schema.type === "string") {
    schema.type = [schema.type, "null"];
    delete schema.nullable;
  }
  for (const value of Object.values(schema)) toOpenApi31Nulls(value);
}

function jsonResponse(description: string, schema: JsonObject): JsonObject {
  return { description, content: { "application/json": { schema } } };
}

function describeSiwe(paths: Record<string, Record<string, JsonObject>>): void {
  const nonce = jsonResponse(
    "A fresh nonce (128 random bits, hex) to put in the SIWE message; valid 15 minutes, once.",
    {
      type: "object",
      properties: { nonce: { type: "string", pattern: "^[0-9a-f]{32}$" } },
      required: ["nonce"],
    },
  );
  for (const path of ["/siwe/nonce", "/siwe/get-nonce"]) {
    const operation = paths[path]?.post;
    if (!operation) continue;
    operation.summary = "A nonce for a Sign-In with Ethereum message (send `{}`)";
    operation.responses = { "200": nonce, ...(operation.responses as JsonObject) };
  }
  const verify = paths["/siwe/verify"]?.post;
  if (verify) {
    verify.summary = "Sign in with a wallet: the signed SIWE message";
    verify.responses = {
      "200": jsonResponse(
        "Signed in: the session cookie is set, and `token` (also in the `set-auth-token` header) is the bearer token.",
        {
          type: "object",
          properties: {
            token: { type: "string" },
            success: { const: true },
            user: {
              type: "object",
              properties: {
                id: { type: "string" },
                walletAddress: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
                chainId: { type: "integer" },
              },
              required: ["id", "walletAddress", "chainId"],
            },
          },
          required: ["token", "success", "user"],
        },
      ),
      ...(verify.responses as JsonObject),
    };
  }
}

function describePassword(paths: Record<string, Record<string, JsonObject>>, options: AuthDocumentOptions): void {
  const { minPasswordLength: min, maxPasswordLength: max } = options;
  const rule = {
    type: "string",
    minLength: min,
    maxLength: max,
    description: `The password: ${min} to ${max} characters; any characters.`,
  };
  for (const [path, field] of [
    ["/sign-up/email", "password"],
    ["/change-password", "newPassword"],
    ["/reset-password", "newPassword"],
  ] as const) {
    const content = (paths[path]?.post?.requestBody as JsonObject | undefined)?.content as
      | Record<string, { schema?: { properties?: JsonObject } }>
      | undefined;
    const properties = content?.["application/json"]?.schema?.properties;
    if (properties && field in properties) properties[field] = rule;
  }
}

/** The trimmed document of a better-auth instance, generated on first use and kept. */
export function authDocumentOf(auth: Auth): () => Promise<JsonObject> {
  let doc: Promise<JsonObject> | undefined;
  return () => {
    doc ??= (async () => {
      const emailAndPassword = auth.options.emailAndPassword;
      return describeAuthDocument((await auth.api.generateOpenAPISchema()) as unknown as JsonObject, {
        sessionCookieName: (await auth.$context).authCookies.sessionToken.name,
        minPasswordLength: emailAndPassword.minPasswordLength,
        maxPasswordLength: emailAndPassword.maxPasswordLength,
      });
    })();
    return doc;
  };
}
