// Signed-in users for tests: created directly (any role), signed in through the real HTTP endpoint.
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import type { RoleName } from "../src/domains/auth/permissions";
import { createPasswordUser } from "../src/domains/auth/service";
import type { TestKit } from "./kit";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: RoleName;
  /** `cookie` header value carrying the session. */
  cookie: string;
  /** The signed session token, for `Authorization: Bearer`. */
  bearer: string;
}

let counter = 0;

/** Origin header better-auth requires on browser-like POSTs (it must be a trusted origin). */
export const TRUSTED_ORIGIN = "http://localhost:3000";

export async function signIn(
  kit: TestKit,
  email: string,
  password: string,
  /** Sent as x-forwarded-for: the client address when the kit trusts a proxy hop (TRUST_PROXY_HOPS=1). */
  forwardedFor?: string,
): Promise<{ cookie: string; bearer: string }> {
  const headers: Record<string, string> = { "content-type": "application/json", origin: TRUSTED_ORIGIN };
  if (forwardedFor) headers["x-forwarded-for"] = forwardedFor;
  const response = await kit.request("/api/auth/sign-in/email", {
    method: "POST",
    headers,
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  const bearer = response.headers.get("set-auth-token");
  if (!cookie || !bearer) throw new Error("sign-in returned no session");
  return { cookie, bearer };
}

export async function createUser(kit: TestKit, role: RoleName = "investor"): Promise<TestUser> {
  counter += 1;
  const email = `${role}-${counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = "a long test password";
  const created = await createPasswordUser(kit.deps, { email, password, role, name: `${role} ${counter}` });
  if (!created) throw new Error(`user ${email} already exists`);
  // An address of its own per user: a file that trusts one proxy hop can sign in more users than
  // better-auth's per-address limit (10 a minute) allows; other kits ignore the header.
  const address = `10.${(counter >> 16) & 255}.${(counter >> 8) & 255}.${counter & 255}`;
  return { id: created.id, email, password, role, ...(await signIn(kit, email, password, address)) };
}

/**
 * `account`'s signature over a SIWE message for this kit, carrying a nonce Kit issued: what
 * `me.wallets.link` (linkWallet) takes. A fresh wallet when no account is given.
 */
export async function signedWalletLink(
  kit: TestKit,
  account: LocalAccount = privateKeyToAccount(generatePrivateKey()),
): Promise<{ address: string; message: string; signature: string }> {
  const { nonce } = await kit.deps.auth.api.getSiweNonce({ body: {} });
  const message = createSiweMessage({
    address: account.address,
    chainId: kit.config.chain.id,
    domain: new URL(kit.config.auth.publicUrl).host,
    nonce,
    uri: kit.config.auth.publicUrl,
    version: "1",
    issuedAt: new Date(),
  });
  return { address: account.address, message, signature: await account.signMessage({ message }) };
}
