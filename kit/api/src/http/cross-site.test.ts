// Cross-site request forgery: a page on another origin (any localhost port in development is the
// same site, so the Lax session cookie goes along) must not change anything with a user's cookie,
// whatever the body's content type; trusted pages, bearer tokens and API keys work as before.
import { describe, expect, test } from "bun:test";
import { createTestKit } from "../../test/kit";
import { createUser, type TestUser, TRUSTED_ORIGIN } from "../../test/users";

const kit = await createTestKit();
const [investor, reviewer] = await Promise.all([createUser(kit, "investor"), createUser(kit, "kyc_reviewer")]);
const FORGED_ORIGIN = "http://localhost:8080";

type Face = "rest" | "rpc";
type BodyKind = "json" | "urlencoded" | "multipart" | "text/plain" | "no content type";
const BODY_KINDS: BodyKind[] = ["json", "urlencoded", "multipart", "text/plain", "no content type"];

/** A settings change to `theme`, as each face and content type carries it. */
function settingsChange(
  face: Face,
  kind: BodyKind,
  theme: string,
): { url: string; method: string; body: BodyInit; type?: string } {
  const input = { theme };
  const json = JSON.stringify(face === "rest" ? input : { json: input });
  const target =
    face === "rest" ? { url: "/api/settings", method: "PATCH" } : { url: "/rpc/settings/update", method: "POST" };
  switch (kind) {
    case "json":
      return { ...target, body: json, type: "application/json" };
    case "urlencoded":
      return {
        ...target,
        body: face === "rest" ? `theme=${theme}` : `data=${encodeURIComponent(json)}`,
        type: "application/x-www-form-urlencoded",
      };
    case "multipart": {
      const form = new FormData();
      if (face === "rest") form.set("theme", theme);
      else form.set("data", json);
      return { ...target, body: form };
    }
    case "text/plain":
      return { ...target, body: json, type: "text/plain" };
    case "no content type":
      // What navigator.sendBeacon or a no-cors fetch sends with a Blob of no type.
      return { ...target, body: new Blob([json]) };
  }
}

async function send(
  who: Pick<TestUser, "cookie"> | { bearer: string } | { apiKey: string },
  change: ReturnType<typeof settingsChange>,
  headers: Record<string, string>,
): Promise<{ status: number; body: { code?: string; message?: string } & Record<string, unknown> }> {
  const credentials: Record<string, string> =
    "cookie" in who
      ? { cookie: who.cookie }
      : "bearer" in who
        ? { authorization: `Bearer ${who.bearer}` }
        : { "x-api-key": who.apiKey };
  const response = await kit.request(change.url, {
    method: change.method,
    headers: { ...credentials, ...(change.type ? { "content-type": change.type } : {}), ...headers },
    body: change.body,
  });
  const parsed = JSON.parse(await response.text());
  return { status: response.status, body: change.url.startsWith("/rpc/") ? parsed.json : parsed };
}

async function readTheme(who: TestUser): Promise<string> {
  const response = await kit.request("/api/settings", { headers: { cookie: who.cookie } });
  return ((await response.json()) as { theme: string }).theme;
}

describe("cookie requests from another origin", () => {
  for (const face of ["rest", "rpc"] as const) {
    test(`are refused on ${face === "rest" ? "/api" : "/rpc"} for every content type, and change nothing`, async () => {
      const outcomes: Record<string, string> = {};
      for (const kind of BODY_KINDS) {
        await send({ bearer: investor.bearer }, settingsChange("rest", "json", "system"), {});
        const answer = await send(investor, settingsChange(face, kind, "dark"), { origin: FORGED_ORIGIN });
        outcomes[kind] = `${answer.status} ${answer.body.code} theme=${await readTheme(investor)}`;
      }
      expect(outcomes).toEqual({
        json: "403 FORBIDDEN theme=system",
        urlencoded: "415 UNSUPPORTED_MEDIA_TYPE theme=system",
        multipart: "415 UNSUPPORTED_MEDIA_TYPE theme=system",
        "text/plain": "415 UNSUPPORTED_MEDIA_TYPE theme=system",
        "no content type": "403 FORBIDDEN theme=system",
      });
    });
  }

  test("the refusal names the origin and the way out", async () => {
    const answer = await send(investor, settingsChange("rest", "json", "dark"), { origin: FORGED_ORIGIN });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toContain(FORGED_ORIGIN);
    expect(answer.body.message).toContain("CORS_ORIGINS");
    expect(answer.body.message).toContain("bearer token");
  });

  test("a browser that sends no Origin but says the request is cross-site or same-site is refused", async () => {
    for (const site of ["cross-site", "same-site"]) {
      const answer = await send(investor, settingsChange("rest", "json", "dark"), { "sec-fetch-site": site });
      expect(answer.status).toBe(403);
    }
    // An opaque origin (a sandboxed frame, a file) is no trusted origin either.
    expect((await send(investor, settingsChange("rest", "json", "dark"), { origin: "null" })).status).toBe(403);
    expect(await readTheme(investor)).not.toBe("dark");
  });

  test("a reviewer's cookie cannot claim an application from another origin", async () => {
    const response = await kit.request("/rpc/kyc/review/claim", {
      method: "POST",
      headers: { cookie: reviewer.cookie, origin: FORGED_ORIGIN, "content-type": "text/plain" },
      body: JSON.stringify({ json: { id: crypto.randomUUID() } }),
    });
    expect(response.status).toBe(415);
    const forged = await kit.request("/rpc/kyc/review/claim", {
      method: "POST",
      headers: { cookie: reviewer.cookie, origin: FORGED_ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ json: { id: crypto.randomUUID() } }),
    });
    expect(forged.status).toBe(403);
  });
});

describe("what keeps working", () => {
  test("a trusted origin, Kit's own pages and clients that are not browsers change settings with the cookie", async () => {
    const trusted = await send(investor, settingsChange("rest", "json", "dark"), { origin: TRUSTED_ORIGIN });
    expect(trusted.status, JSON.stringify(trusted.body)).toBe(200);
    expect(await readTheme(investor)).toBe("dark");
    const ownPage = await send(investor, settingsChange("rpc", "json", "light"), {
      origin: "http://kit.test",
      "sec-fetch-site": "same-origin",
    });
    expect(ownPage.status, JSON.stringify(ownPage.body)).toBe(200);
    expect(await readTheme(investor)).toBe("light");
    const script = await send(investor, settingsChange("rest", "json", "system"), {});
    expect(script.status, JSON.stringify(script.body)).toBe(200);
    expect(await readTheme(investor)).toBe("system");
  });

  test("bearer tokens and API keys work from any origin: no browser sends them on its own", async () => {
    const bearer = await send({ bearer: investor.bearer }, settingsChange("rest", "json", "dark"), {
      origin: FORGED_ORIGIN,
    });
    expect(bearer.status, JSON.stringify(bearer.body)).toBe(200);
    const created = await kit.deps.auth.api.createApiKey({
      body: { userId: investor.id, name: "cross-site test", permissions: { settings: ["write"] } },
    });
    const key = await send({ apiKey: created.key }, settingsChange("rpc", "json", "light"), { origin: FORGED_ORIGIN });
    expect(key.status, JSON.stringify(key.body)).toBe(200);
    expect(await readTheme(investor)).toBe("light");
  });

  test("reads with the cookie are unaffected; a mutation cannot be sent as a GET", async () => {
    const read = await kit.request("/api/settings", { headers: { cookie: investor.cookie, origin: FORGED_ORIGIN } });
    expect(read.status).toBe(200);
    const data = encodeURIComponent(JSON.stringify({ json: { theme: "dark" } }));
    const viaGet = await kit.request(`/rpc/settings/update?data=${data}`, { headers: { cookie: investor.cookie } });
    expect(viaGet.status).toBe(405);
    expect(await readTheme(investor)).toBe("light");
  });

  test("form data, files and text are refused on /api and /rpc even without a cookie", async () => {
    for (const kind of ["urlencoded", "multipart", "text/plain"] as const) {
      for (const face of ["rest", "rpc"] as const) {
        const answer = await send({ bearer: investor.bearer }, settingsChange(face, kind, "dark"), {});
        expect(answer.status, `${face} ${kind}`).toBe(415);
        expect(answer.body.message).toContain("application/json");
      }
    }
    expect(await readTheme(investor)).toBe("light");
  });
});
