// @kit/client: one typed handle on Kit for the dApp, the console and services. Only types come from
// the api package (`import type`), so a browser bundle carries no server code and no schemas.
import { apiKeyClient } from "@better-auth/api-key/client";
import type { Contract } from "@kit/api/contract";
import { createORPCClient } from "@orpc/client";
import { RPCLink } from "@orpc/client/fetch";
import type { ContractRouterClient, InferContractRouterInputs, InferContractRouterOutputs } from "@orpc/contract";
import { createTanstackQueryUtils, type RouterUtils } from "@orpc/tanstack-query";
import { type AuthClient, createAuthClient } from "better-auth/client";
import { type AdminClientOptions, adminClient, siweClient } from "better-auth/client/plugins";

export type { Contract } from "@kit/api/contract";
export { consumeEventIterator, isDefinedError, ORPCError, safe } from "@orpc/client";

/** What `fetch` Kit's client calls: the platform's by default, or a wrapper (tests, cookie jars, retries). */
export type KitFetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Headers added to every call (RPC and auth), e.g. `{ authorization: "Bearer …" }` or `{ "x-api-key": "kit_…" }`.
 * A header whose value is `undefined` is not sent: `() => ({ authorization: token && \`Bearer ${token}\` })`.
 */
export type KitHeaders = KitHeadersInit | (() => KitHeadersInit | Promise<KitHeadersInit>);
export type KitHeadersInit = HeadersInit | Record<string, string | undefined>;

export interface KitClientOptions {
  /** Where Kit answers, e.g. `https://kit.example.com` (no trailing path): RPC is `/rpc`, auth `/api/auth`. */
  baseUrl: string;
  fetch?: KitFetch;
  /** Static headers, or a function called before each request (a bearer token that can change). */
  headers?: KitHeaders;
  /** `include` (default): the browser sends Kit's session cookie cross-origin. Ignored outside browsers. */
  credentials?: RequestCredentials;
}

export type KitRpc = ContractRouterClient<Contract>;
export type KitInputs = InferContractRouterInputs<Contract>;
export type KitOutputs = InferContractRouterOutputs<Contract>;

// Bearer tokens need no client plugin: `headers` carries them; sign-in answers carry a fresh one in the
// `set-auth-token` header (read it in `onSuccess`). better-auth's /admin/* endpoints are closed on Kit
// (user administration is `rpc.users.*`); the admin plugin types the user's role and ban.
type KitAuthPlugins = [
  ReturnType<typeof siweClient>,
  ReturnType<typeof adminClient<AdminClientOptions>>,
  ReturnType<typeof apiKeyClient>,
];

/** The options Kit's auth client is made with: its type is what `kit.auth` offers (plugins included). */
interface KitAuthOptions {
  baseURL: string;
  basePath: string;
  plugins: KitAuthPlugins;
  fetchOptions: { customFetchImpl: typeof fetch };
}

/** better-auth's client at `/api/auth`, with the server's plugins: SIWE, admin (role, ban), API keys. */
export type KitAuth = AuthClient<KitAuthOptions>;
/** TanStack Query options (`queryOptions`, `mutationOptions`, keys) for every procedure. */
export type KitQuery = RouterUtils<KitRpc>;

export interface KitClient {
  rpc: KitRpc;
  auth: KitAuth;
  query: KitQuery;
}

// The return type is spelled out: inferred, it is too long for a declaration file to carry.
export function createKitClient(options: KitClientOptions): KitClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const kitFetch = createKitFetch(options);

  const rpc: KitRpc = createORPCClient(
    new RPCLink({ url: `${baseUrl}/rpc`, fetch: (request, init) => kitFetch(request, init) }),
  );

  const auth = createAuthClient<KitAuthOptions>({
    baseURL: baseUrl,
    basePath: "/api/auth",
    plugins: [siweClient(), adminClient(), apiKeyClient()],
    fetchOptions: { customFetchImpl: kitFetch as typeof fetch },
  });

  const query = createTanstackQueryUtils(rpc);

  return { rpc, auth, query };
}

function createKitFetch(options: KitClientOptions): KitFetch {
  const fetchImpl: KitFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const kitOrigin = URL.canParse(options.baseUrl) ? new URL(options.baseUrl).origin : undefined;
  return async (input, init) => {
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    new Headers(init?.headers).forEach((value, name) => {
      headers.set(name, value);
    });
    const extra = typeof options.headers === "function" ? await options.headers() : options.headers;
    // A header set on the call itself wins over the client-wide ones.
    new Headers(definedHeaders(extra)).forEach((value, name) => {
      if (!headers.has(name)) headers.set(name, value);
    });
    // Kit refuses a cookie request that changes something without a trusted Origin (better-auth and
    // http/cross-site.ts). A browser sends the page's own and drops this one (a forbidden header);
    // anything else (a server keeping a user's cookie) sends Kit's own origin, which Kit trusts when
    // `baseUrl` is its PUBLIC_URL. Set `origin` in `headers` to name another trusted one.
    if (kitOrigin && !headers.has("origin")) headers.set("origin", kitOrigin);
    return fetchImpl(input, { ...init, headers, credentials: options.credentials ?? init?.credentials ?? "include" });
  };
}

function definedHeaders(init: KitHeadersInit | undefined): HeadersInit | undefined {
  if (init === undefined || init instanceof Headers || Array.isArray(init)) return init;
  return Object.entries(init).filter((entry): entry is [string, string] => entry[1] !== undefined);
}
