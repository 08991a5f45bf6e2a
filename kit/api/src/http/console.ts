// The reviewers' console (kit/console) at /console: its built files, and index.html for any other
// path below it (the app routes in the browser). Built with `bun run build`; without a build,
// /console says so instead of answering a bare 404.
import { join, resolve, sep } from "node:path";
import { Hono } from "hono";
import type { SecureHeadersVariables } from "hono/secure-headers";
import type { Config } from "../config";

/** kit/console/dist, found from this file so it works from any working directory. */
export const CONSOLE_DIST = resolve(import.meta.dir, "../../../console/dist");

export const CONSOLE_PREFIX = "/console";

export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`);
}

/**
 * The console's Content-Security-Policy: the API's, plus the object store's origin for document
 * previews (images load from presigned URLs; PDFs are fetched and shown from a blob: frame).
 */
export function consoleContentSecurityPolicy(config: Pick<Config, "s3">) {
  const store = config.s3.publicEndpoint ?? config.s3.endpoint;
  const storeOrigin = store ? [new URL(store).origin] : [];
  return {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    imgSrc: ["'self'", "data:", "blob:", ...storeOrigin],
    connectSrc: ["'self'", ...storeOrigin],
    frameSrc: ["blob:"],
    objectSrc: ["'none'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    frameAncestors: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
  };
}

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

interface ConsoleOptions {
  dist?: string;
  /**
   * Development only: the address the console must be opened at. Sign-in cookies and the trusted
   * Origin belong to it, so the console opened at another name for the same server (127.0.0.1
   * for localhost) would fail at sign-in; it is sent to this address instead. Not done in
   * production, where a proxy may present another host name than the public one.
   */
  devPublicUrl?: string;
  /**
   * Development only: Kit keeps a dev outbox (`bun run dev`'s SMTP server, http/dev-mail.ts). The
   * page says so in a meta tag, so the console shows "Outbox (dev)" without asking a route that
   * does not exist elsewhere (a 404 in every admin's browser console).
   */
  devOutbox?: boolean;
}

export function createConsoleRoutes(options: ConsoleOptions = {}): Hono<{ Variables: SecureHeadersVariables }> {
  const app = new Hono<{ Variables: SecureHeadersVariables }>();
  const root = resolve(options.dist ?? CONSOLE_DIST);
  const publicUrl = options.devPublicUrl ? new URL(options.devPublicUrl) : undefined;

  app.get("*", async (c) => {
    const requested = new URL(c.req.url);
    if (publicUrl && requested.host !== publicUrl.host) {
      const there = new URL(`${requested.pathname}${requested.search}`, publicUrl).href;
      return c.text(`Open the console at ${there}: sign-in belongs to that address.`, 307, {
        location: there,
        "cache-control": "no-store",
      });
    }
    const index = Bun.file(join(root, "index.html"));
    if (!(await index.exists())) {
      return c.text(
        "The console is not built. Run `bun run build` at the repository root (or `bun run --cwd kit/console build`), then reload.",
        503,
        { "cache-control": "no-store" },
      );
    }
    const rest = c.req.path.slice(CONSOLE_PREFIX.length).replace(/^\/+/, "");
    const extension = rest.match(/\.[a-z0-9]+$/i)?.[0]?.toLowerCase();
    if (extension && extension !== ".html") {
      const path = resolve(root, rest);
      const file = Bun.file(path);
      if (!path.startsWith(root + sep) || !(await file.exists())) {
        return c.text(`No console file ${rest}.`, 404);
      }
      // Vite names assets by content hash: they never change under the same name.
      const immutable = rest.startsWith("assets/");
      return c.body(await file.arrayBuffer(), 200, {
        "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream",
        "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      });
    }
    const html = options.devOutbox
      ? (await index.text()).replace("</head>", '<meta name="kit-dev-outbox" content="/api/dev/mail"></head>')
      : await index.arrayBuffer();
    return c.body(html, 200, {
      "content-type": CONTENT_TYPES[".html"] as string,
      "cache-control": "no-cache",
    });
  });
  return app;
}
