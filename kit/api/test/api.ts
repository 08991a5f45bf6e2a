// A JSON call of the REST face (/api), in-process: the caller's session cookie, the body as JSON.
import type { App } from "../src/app";

export interface ApiAnswer {
  status: number;
  /** The parsed JSON body; null for an empty one. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
  body: any;
}

export async function callApi(
  app: Pick<App, "fetch">,
  who: { cookie: string } | undefined,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...(who ? { cookie: who.cookie } : {}), ...extraHeaders };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await app.fetch(
    new Request(`http://kit.test/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
