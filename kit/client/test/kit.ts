// A real Kit for the client's tests: the api's own entry point (`src/main.ts --role api`) as a child
// process on a free port, over an isolated database, Redis prefix and s3rver (kit/api/test helpers).
// Everything the tests do then goes over HTTP through @kit/client, as a dApp or service would.
import { afterAll } from "bun:test";
import { freePort } from "../../api/src/dev/ports";
import { createTestEnvironment } from "../../api/test/kit";
import { serveKit } from "../../api/test/serve";
import { createKitClient, type KitClient, type KitClientOptions } from "../src/index";

/** Where the dApp runs: in CORS_ORIGINS, so better-auth trusts it as an Origin. */
export const DAPP_ORIGIN = "http://localhost:5173";

export interface RunningKit {
  baseUrl: string;
  admin: { email: string; password: string };
  /** A client as the dApp in a browser would have it: cookies kept, Origin sent. */
  browserClient(): KitClient & { cookies: CookieJar };
  /** A client for a wallet or service: no cookies; `headers` carries the bearer token or API key. */
  client(options?: Omit<KitClientOptions, "baseUrl">): KitClient;
}

export interface StartKitOptions {
  /** Extra environment (e.g. CORS_ORIGINS for a page served by the test). */
  env?: Record<string, string>;
  /** The host name clients use: `localhost` makes a page on another localhost port same-site (cookies). */
  host?: "127.0.0.1" | "localhost";
}

export async function startKit(options: StartKitOptions = {}): Promise<RunningKit> {
  const admin = { email: "admin@kit.test", password: "an admin password for tests" };
  const environment = await createTestEnvironment({
    env: {
      CORS_ORIGINS: DAPP_ORIGIN,
      BOOTSTRAP_ADMIN_EMAIL: admin.email,
      BOOTSTRAP_ADMIN_PASSWORD: admin.password,
      // These tests sign up through the API and submit KYC at once, as the client's examples do; the
      // api runs no worker here to mail the verification link. The rule itself, and the links, are
      // proven in kit/api (domains/auth/account-mail.test.ts).
      KYC_REQUIRE_VERIFIED_EMAIL: "false",
      ...options.env,
    },
  });
  const port = await freePort();
  const baseUrl = `http://${options.host ?? "127.0.0.1"}:${port}`;
  const served = await serveKit({ ...environment.env, PUBLIC_URL: baseUrl }, { port }).catch(async (error) => {
    await environment.cleanup();
    throw error;
  });
  afterAll(async () => {
    await served.stop();
    await environment.cleanup();
  });

  return {
    baseUrl,
    admin,
    browserClient() {
      const cookies = new CookieJar();
      return { ...createKitClient({ baseUrl, fetch: cookies.fetch, headers: { origin: DAPP_ORIGIN } }), cookies };
    },
    client: (options = {}) => createKitClient({ baseUrl, headers: { origin: DAPP_ORIGIN }, ...options }),
  };
}

/** What a browser does with `credentials: "include"`, for Bun, which keeps no cookies: one origin. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  fetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (this.#cookies.size > 0) {
      headers.set("cookie", [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    }
    const response = await fetch(input, { ...init, headers });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = cookie.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return response;
  };

  has(prefix: string): boolean {
    return [...this.#cookies.keys()].some((name) => name.includes(prefix));
  }
}
