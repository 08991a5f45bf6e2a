// Signing in through @kit/client against a real Kit: e-mail + password with the session cookie (as the
// dApp in a browser), Sign-In with Ethereum with a bearer token (as a wallet), an API key (as a service).
import { describe, expect, test } from "bun:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { CookieJar, DAPP_ORIGIN, startKit } from "../test/kit";
import { createKitClient, isDefinedError, safe } from "./index";

const kit = await startKit();
const CHAIN_ID = 31337;
const password = "a long password for the dApp";
let counter = 0;
const newEmail = () => `investor-${++counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;

describe("e-mail and password (cookie)", () => {
  test("sign up, then sign in: the session cookie carries every later call", async () => {
    const dapp = kit.browserClient();
    const email = newEmail();
    const { data, error } = await dapp.auth.signUp.email({ email, password, name: "Ada Investor" });
    expect(error).toBeNull();
    expect(data?.user.email).toBe(email);
    // Sign-up opens no session (it answers the same whether or not the e-mail has an account).
    expect(dapp.cookies.has("session_token")).toBe(false);
    expect((await dapp.auth.signIn.email({ email, password })).error).toBeNull();
    expect(dapp.cookies.has("session_token")).toBe(true);

    const me = await dapp.rpc.me.get();
    expect(me).toMatchObject({ user: { email, role: "investor" }, authenticatedWith: "session" });
    expect(me.permissions).toEqual({ kyc: ["submit"] });

    // The admin plugin types the session's user with its role.
    const session = await dapp.auth.getSession();
    expect(session.data?.user.role).toBe("investor");
  });

  test("after sign-out a call is a typed UNAUTHORIZED", async () => {
    const dapp = kit.browserClient();
    const email = newEmail();
    await dapp.auth.signUp.email({ email, password, name: "Short Stay" });
    await dapp.auth.signIn.email({ email, password });
    await dapp.auth.signOut();

    const [error, me] = await safe(dapp.rpc.me.get());
    expect(me).toBeUndefined();
    expect(isDefinedError(error)).toBe(true);
    if (!isDefinedError(error)) throw error;
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.status).toBe(401);

    // Signing in again restores it.
    const { error: signInError } = await dapp.auth.signIn.email({ email, password });
    expect(signInError).toBeNull();
    expect((await dapp.rpc.me.get()).user.email).toBe(email);
  });

  test("a cookie client that is not a browser sends Kit's own origin, as better-auth requires of cookie requests", async () => {
    // A server keeping a user's session: no browser, so no Origin unless the client sends one. (The
    // test Kit runs with NODE_ENV=test, where better-auth skips its origin check: what is sent is
    // checked here, on the way out.)
    const cookies = new CookieJar();
    const origins: (string | null)[] = [];
    const server = createKitClient({
      baseUrl: kit.baseUrl,
      fetch: (input, init) => {
        origins.push(new Headers(init?.headers).get("origin"));
        return cookies.fetch(input, init);
      },
    });
    const email = newEmail();
    await server.auth.signUp.email({ email, password, name: "Sam Server" });
    expect((await server.auth.signIn.email({ email, password })).error).toBeNull();
    expect((await server.rpc.me.get()).authenticatedWith).toBe("session");
    expect((await server.auth.signOut()).error).toBeNull();
    expect(cookies.has("session_token")).toBe(false);
    expect(origins.length).toBe(4);
    expect(new Set(origins)).toEqual(new Set([new URL(kit.baseUrl).origin]));
    // An origin the caller names wins.
    const named = createKitClient({
      baseUrl: kit.baseUrl,
      headers: { origin: DAPP_ORIGIN },
      fetch: (input, init) => {
        origins.push(new Headers(init?.headers).get("origin"));
        return fetch(input, init);
      },
    });
    await named.rpc.fx.currencies();
    expect(origins.at(-1)).toBe(DAPP_ORIGIN);
  });

  test("a wrong password is refused by better-auth with its own error", async () => {
    const dapp = kit.browserClient();
    const { data, error } = await dapp.auth.signIn.email({ email: kit.admin.email, password: "not the password" });
    expect(data).toBeNull();
    expect(error?.status).toBe(401);
  });
});

describe("Sign-In with Ethereum (bearer)", () => {
  test("the wallet signs the message built from the nonce; the bearer token then signs each call", async () => {
    let token: string | undefined;
    const wallet = kit.client({
      headers: () => ({ origin: DAPP_ORIGIN, ...(token ? { authorization: `Bearer ${token}` } : {}) }),
    });
    const account = privateKeyToAccount(generatePrivateKey());

    const nonce = await wallet.auth.siwe.nonce();
    expect(nonce.error).toBeNull();
    const message = createSiweMessage({
      domain: new URL(kit.baseUrl).host,
      address: account.address,
      uri: kit.baseUrl,
      version: "1",
      chainId: CHAIN_ID,
      nonce: nonce.data?.nonce ?? "",
      statement: "Sign in to Kit",
    });
    const signature = await account.signMessage({ message });
    const verified = await wallet.auth.siwe.verify(
      { message, signature },
      {
        onSuccess: (context) => {
          token = context.response.headers.get("set-auth-token") ?? undefined;
        },
      },
    );
    expect(verified.error).toBeNull();
    // better-auth types the answer as its generic user; the SIWE endpoint adds the wallet.
    expect(verified.data?.user).toMatchObject({ walletAddress: account.address, chainId: CHAIN_ID });
    expect(token).toBeString();

    const me = await wallet.rpc.me.get();
    expect(me.authenticatedWith).toBe("session");
    expect(me.wallets).toEqual([expect.objectContaining({ address: account.address, chainId: CHAIN_ID })]);

    // The same signed message again: the nonce was used up.
    const replay = await wallet.auth.siwe.verify({ message, signature });
    expect(replay.error?.status).toBe(401);
  });
});

describe("API key (service)", () => {
  test("a key a signed-in user creates carries no grants: it is recognised, and reaches public procedures only", async () => {
    const dapp = kit.browserClient();
    const email = newEmail();
    await dapp.auth.signUp.email({ email, password, name: "Key Owner" });
    await dapp.auth.signIn.email({ email, password });
    const created = await dapp.auth.apiKey.create({ name: "reporting job" });
    expect(created.error).toBeNull();
    const key = created.data?.key ?? "";
    expect(key.startsWith("kit_")).toBe(true);

    const service = kit.client({ headers: { "x-api-key": key } });
    expect((await service.rpc.fx.currencies()).items.length).toBeGreaterThan(0);
    // A key is an allow-list of grants (set when an operator creates it); this one has none.
    const [error] = await safe(service.rpc.me.get());
    if (!isDefinedError(error)) throw new Error(`expected a typed error, got ${error}`);
    expect(error.code).toBe("FORBIDDEN");
    expect(error.message).toContain("me: read");
    // Nor is it a session on better-auth's endpoints.
    expect((await service.auth.getSession()).data).toBeNull();
  });
});
