// The interactive API reference at /docs: Swagger UI served from our own package, not a CDN,
// so it works offline and under a strict Content-Security-Policy.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Hono } from "hono";

const assets = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
} as const;

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Kit API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

// Two documents side by side: Kit's procedures, and better-auth's endpoints (/api/auth/*).
const init = `window.ui = SwaggerUIBundle({
  urls: [
    { name: "Kit procedures (/api)", url: "/api/openapi.json" },
    { name: "Authentication (/api/auth)", url: "/api/auth/open-api/generate-schema" },
  ],
  "urls.primaryName": "Kit procedures (/api)",
  dom_id: "#reference",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  // The session cookie of a signed-in browser goes along by itself; Authorize takes a bearer token
  // or an API key. x-kit-permission (what an operation needs) is shown with each operation.
  withCredentials: true,
  persistAuthorization: true,
  showExtensions: true,
  tryItOutEnabled: true,
});`;

/** Routes for /docs, to be mounted with `app.route("/docs", createDocsRoutes())`. */
export function createDocsRoutes(): Hono {
  const app = new Hono();
  const root = dirname(require.resolve("swagger-ui-dist/package.json"));
  const cache = new Map<string, Promise<Buffer>>();

  app.get("/", (c) => c.html(page));
  app.get("/init.js", (c) => c.body(init, 200, { "content-type": "text/javascript; charset=utf-8" }));
  for (const [file, type] of Object.entries(assets)) {
    app.get(`/${file}`, async (c) => {
      let body = cache.get(file);
      if (!body) {
        body = readFile(join(root, file));
        cache.set(file, body);
      }
      return c.body(new Uint8Array(await body), 200, {
        "content-type": type,
        "cache-control": "public, max-age=86400",
      });
    });
  }
  return app;
}
