// Sign-In with Ethereum and wallet linking over HTTP, with real viem accounts signing real EIP-4361
// messages, against real Postgres and Redis.
//
// Each request says it comes from an address of its own (x-forwarded-for, one trusted proxy hop),
// so better-auth's per-address limits (10 SIWE verifications a minute) do not throttle this file.
import { describe, expect, test } from "bun:test";
import { createORPCClient, ORPCError } from "@orpc/client";
import { RPCLink } from "@orpc/client/fetch";
import type { ContractRouterClient } from "@orpc/contract";
import { createTestClient, getAddress, http } from "viem";
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { createTestKit } from "../../../test/kit";
import { TRUSTED_ORIGIN } from "../../../test/users";
import type { Contract } from "../../contract";
import type { KitError } from "../../errors";
import type { RoleName } from "./permissions";
import { walletAddress } from "./schema";
import { createPasswordUser, linkWallet, MAX_WALLETS_PER_USER, unlinkWallet } from "./service";

const PASSWORD = "correct horse battery staple";
// A chain of its own: a signature that is not the address's EOA signature is asked of the chain
// (the address may be a contract wallet).
const kit = await createTestKit({ chain: true, env: { TRUST_PROXY_HOPS: "1" } });
const cookieName = (await kit.deps.auth.$context).authCookies.sessionToken.name;
const DOMAIN = new URL(kit.config.auth.publicUrl).host;
const CHAIN_ID = kit.config.chain.id;

let sequence = 0;
function nextIp(): string {
  sequence += 1;
  return `10.${(sequence >> 16) & 255}.${(sequence >> 8) & 255}.${sequence & 255}`;
}

const newWallet = (): PrivateKeyAccount => privateKeyToAccount(generatePrivateKey());

interface Session {
  cookie: string;
  bearer: string;
}

function authPost(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return kit.request(`/api/auth${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, "x-forwarded-for": nextIp(), ...headers },
    body: JSON.stringify(body),
  });
}

function sessionCookie(response: Response): string | undefined {
  return response.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${cookieName}=`) && !/max-age=0/i.test(c))
    ?.split(";")[0];
}

function sessionFrom(response: Response): Session {
  const cookie = sessionCookie(response);
  const bearer = response.headers.get("set-auth-token");
  if (!cookie || !bearer) throw new Error(`no session in response (${response.status})`);
  return { cookie, bearer };
}

interface PasswordUser extends Session {
  id: string;
  email: string;
}

async function createUser(role: RoleName = "investor"): Promise<PasswordUser> {
  sequence += 1;
  const email = `siwe-${role}-${sequence}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const created = await createPasswordUser(kit.deps, { email, password: PASSWORD, role });
  if (!created) throw new Error(`${email} exists`);
  const response = await authPost("/sign-in/email", { email, password: PASSWORD });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status}`);
  return { id: created.id, email, ...sessionFrom(response) };
}

interface WalletView {
  address: string;
  chainId: number;
  isPrimary: boolean;
  linkedAt: string;
}
interface MeBody {
  user: { id: string; email: string; role: string };
  permissions: Record<string, string[]>;
  wallets: WalletView[];
  authenticatedWith: string;
}

async function getMe(headers: Record<string, string>): Promise<{ status: number; body: MeBody }> {
  const response = await kit.request("/api/me", { headers });
  return { status: response.status, body: (await response.json()) as MeBody };
}

async function issueNonce(): Promise<string> {
  const response = await authPost("/siwe/nonce", {});
  expect(response.status).toBe(200);
  const { nonce } = (await response.json()) as { nonce: string };
  expect(nonce).toMatch(/^[a-zA-Z0-9]{8,}$/);
  return nonce;
}

interface MessageOptions {
  nonce?: string;
  domain?: string;
  chainId?: number;
  expirationTime?: Date;
  /** Who signs (default: the account the message names). */
  signer?: PrivateKeyAccount;
}

async function signed(account: PrivateKeyAccount | { address: `0x${string}` }, options: MessageOptions = {}) {
  const message = createSiweMessage({
    address: account.address,
    chainId: options.chainId ?? CHAIN_ID,
    domain: options.domain ?? DOMAIN,
    nonce: options.nonce ?? (await issueNonce()),
    uri: kit.config.auth.publicUrl,
    version: "1",
    statement: "Sign in to Kit",
    expirationTime: options.expirationTime,
  });
  const signer = options.signer ?? ("signMessage" in account ? (account as PrivateKeyAccount) : undefined);
  if (!signer) throw new Error("a contract wallet has no key: give a signer");
  const signature = await signer.signMessage({ message });
  return { message, signature };
}

const verify = (body: { message: string; signature: string }) => authPost("/siwe/verify", body);

async function siweSignIn(account: PrivateKeyAccount): Promise<Session & { userId: string }> {
  const response = await verify(await signed(account));
  if (response.status !== 200) throw new Error(`SIWE sign-in failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { user: { id: string } };
  return { userId: body.user.id, ...sessionFrom(response) };
}

function link(session: Session, body: { message: string; signature: string }) {
  return kit.request("/api/me/wallets", {
    method: "POST",
    headers: { cookie: session.cookie, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function unlink(session: Session, address: string) {
  return kit.request(`/api/me/wallets/${address}`, { method: "DELETE", headers: { cookie: session.cookie } });
}

async function walletRows(address: string): Promise<{ user_id: string }[]> {
  const { rows } = await kit.deps.pool.query("select user_id from wallet_address where address = $1", [
    getAddress(address),
  ]);
  return rows;
}

async function codeOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { code?: string }).code;
}

describe("Sign-In with Ethereum", () => {
  test("nonce → sign → verify gives a session; /api/me shows the wallet", async () => {
    const wallet = newWallet();
    const response = await verify(await signed(wallet));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { success: boolean; user: { id: string; walletAddress: string } };
    expect(body.success).toBe(true);
    expect(body.user.walletAddress).toBe(wallet.address);
    const session = sessionFrom(response);

    const credentials: Record<string, string>[] = [
      { cookie: session.cookie },
      { authorization: `Bearer ${session.bearer}` },
    ];
    for (const headers of credentials) {
      const me = await getMe(headers);
      expect(me.status).toBe(200);
      expect(me.body.user.id).toBe(body.user.id);
      expect(me.body.user.role).toBe("investor");
      expect(me.body.authenticatedWith).toBe("session");
      expect(me.body.wallets).toEqual([
        { address: wallet.address, chainId: CHAIN_ID, isPrimary: true, linkedAt: expect.any(String) },
      ]);
    }

    // Signing in again with the same wallet lands in the same account.
    const again = await siweSignIn(wallet);
    expect(again.userId).toBe(body.user.id);
    expect((await walletRows(wallet.address)).length).toBe(1);
  });

  test("replaying a signed message is refused", async () => {
    const wallet = newWallet();
    const body = await signed(wallet);
    expect((await verify(body)).status).toBe(200);
    const replay = await verify(body);
    expect(replay.status).toBe(401);
    expect(await codeOf(replay)).toBe("UNAUTHORIZED_INVALID_OR_EXPIRED_NONCE");
    expect(sessionCookie(replay)).toBeUndefined();
  });

  test("a wrong domain, a wrong chain, a wrong signer, an unknown nonce or an expired message are refused", async () => {
    const wallet = newWallet();
    const cases: Record<string, { message: string; signature: string }> = {
      "wrong domain": await signed(wallet, { domain: "evil.example.com" }),
      "wrong domain (another port)": await signed(wallet, { domain: "localhost:3001" }),
      "wrong chain": await signed(wallet, { chainId: 1 }),
      "wrong signer": await signed(wallet, { signer: newWallet() }),
      "nonce never issued": await signed(wallet, { nonce: "abcdefgh12345678" }),
      expired: await signed(wallet, { expirationTime: new Date(Date.now() - 60_000) }),
    };
    const tampered = await signed(wallet);
    cases["message changed after signing"] = {
      message: tampered.message.replace("Sign in to Kit", "Sign in to Kit!"),
      signature: tampered.signature,
    };
    const malformed = await signed(wallet);
    cases["signature not a signature"] = { message: malformed.message, signature: "0xdeadbeef" };

    const outcomes: Record<string, { status: number; session: boolean }> = {};
    for (const [name, body] of Object.entries(cases)) {
      const response = await verify(body);
      outcomes[name] = { status: response.status, session: sessionCookie(response) !== undefined };
    }
    expect(outcomes).toEqual(
      Object.fromEntries(Object.keys(cases).map((name) => [name, { status: 401, session: false }])),
    );
    // No account was made for the wallet.
    expect(await walletRows(wallet.address)).toEqual([]);
  });
});

describe("SIWE limits", () => {
  const SIWE_LIMIT = kit.deps.rateLimitRules["auth.siwe.account"].limit;

  test("bodies naming a wallet without its signature on a Kit nonce never lock it out", async () => {
    const wallet = newWallet();
    const junk: Array<{ message: string; signature: string }> = [];
    for (let i = 0; i < SIWE_LIMIT + 2; i++) {
      // No nonce at all; a nonce Kit never issued; a Kit nonce signed by another key.
      junk.push({
        message: `${DOMAIN} wants you to sign in with your Ethereum account:\n${wallet.address}\n\nURI: ${kit.config.auth.publicUrl}`,
        signature: `0x${"11".repeat(65)}`,
      });
      junk.push(await signed(wallet, { nonce: `madeup${i}nonce` }).then((b) => ({ ...b, signature: "0x1234" })));
      junk.push(await signed(wallet, { signer: newWallet() }));
    }
    const statuses = new Set<number>();
    for (const body of junk) statuses.add((await verify(body)).status);
    expect([...statuses]).toEqual([401]);
    // The owner signs in.
    const response = await verify(await signed(wallet));
    expect(response.status).toBe(200);
    expect(sessionCookie(response)).toBeString();
  });

  test("the wallet's own sign-ins are limited: the one past the limit within 15 minutes is 429", async () => {
    const wallet = newWallet();
    for (let i = 0; i < SIWE_LIMIT; i++) expect((await verify(await signed(wallet))).status).toBe(200);
    const refused = await verify(await signed(wallet));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(sessionCookie(refused)).toBeUndefined();
    const body = (await refused.json()) as { code: string; message: string };
    expect(body.code).toBe("TOO_MANY_REQUESTS");
    expect(body.message).toContain("retry in");
  });
});

describe("SIWE nonces", () => {
  // A predictable nonce lets an attacker get a wallet to sign a message for a nonce Kit has not
  // issued yet, then use it once Kit does. viem's generateSiweNonce slid over a Math.random buffer
  // one character per call.
  test("1,000 consecutive nonces: no two in a row share 8 or more characters in a row", async () => {
    const nonces: string[] = [];
    for (let i = 0; i < 1000; i++) nonces.push(await issueNonce());
    const shared: string[] = [];
    for (let i = 1; i < nonces.length; i++) {
      const [previous, next] = [nonces[i - 1] ?? "", nonces[i] ?? ""];
      for (let at = 0; at + 8 <= previous.length; at++) {
        const piece = previous.slice(at, at + 8);
        if (next.includes(piece)) shared.push(`${i}: ${piece}`);
      }
    }
    expect({ overlaps: shared.length, first: shared.slice(0, 3) }).toEqual({ overlaps: 0, first: [] });
    expect(new Set(nonces).size).toBe(1000);
    expect(nonces.every((n) => /^[0-9a-f]{32}$/.test(n))).toBe(true);
  });
});

describe("wallet linking", () => {
  test("link, conflict, reused nonce, unlink, and SIWE into the linked account", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const first = newWallet();
    const second = newWallet();

    // Alice links a wallet by signing a SIWE message with a nonce from /api/auth/siwe/nonce.
    const nonce = await issueNonce();
    const firstBody = await signed(first, { nonce });
    const linked = await link(alice, firstBody);
    expect(linked.status).toBe(200);
    expect(await linked.json()).toEqual({
      address: first.address,
      chainId: CHAIN_ID,
      isPrimary: true,
      linkedAt: expect.any(String),
    });
    expect((await getMe({ cookie: alice.cookie })).body.wallets.map((w) => w.address)).toEqual([first.address]);

    // The same wallet from another account: 409, and nothing moves.
    const stolen = await link(bob, await signed(first));
    expect(stolen.status).toBe(409);
    expect(await codeOf(stolen)).toBe("CONFLICT");
    expect((await getMe({ cookie: bob.cookie })).body.wallets).toEqual([]);
    expect(await walletRows(first.address)).toEqual([{ user_id: alice.id }]);
    // Alice again: also 409 (already hers).
    expect((await link(alice, await signed(first))).status).toBe(409);

    // A nonce is single use: the same message again, or another wallet's message with it, is 400.
    const replay = await link(alice, firstBody);
    expect(replay.status).toBe(400);
    const reused = await link(alice, await signed(second, { nonce }));
    expect(reused.status).toBe(400);
    expect(await codeOf(reused)).toBe("BAD_REQUEST");
    expect(await walletRows(second.address)).toEqual([]);

    // A second wallet, then unlink the first: the second becomes primary.
    expect((await link(alice, await signed(second))).status).toBe(200);
    const unlinked = await unlink(alice, first.address.toLowerCase());
    expect(unlinked.status).toBe(200);
    expect(await unlinked.json()).toEqual({ unlinked: true });
    const me = await getMe({ cookie: alice.cookie });
    expect(me.body.wallets.map((w) => [w.address, w.isPrimary])).toEqual([[second.address, true]]);
    expect((await unlink(alice, first.address)).status).toBe(404);
    const { rows: accounts } = await kit.deps.pool.query(
      "select account_id from account where user_id = $1 and provider_id = 'siwe'",
      [alice.id],
    );
    expect(accounts).toEqual([{ account_id: `${second.address}:${CHAIN_ID}` }]);

    // SIWE with the linked wallet signs in to Alice's account.
    const viaWallet = await siweSignIn(second);
    expect(viaWallet.userId).toBe(alice.id);
    const viaWalletMe = await getMe({ cookie: viaWallet.cookie });
    expect(viaWalletMe.body.user.email).toBe(alice.email);
    // The unlinked wallet no longer leads there: it gets an account of its own.
    const unlinkedWallet = await siweSignIn(first);
    expect(unlinkedWallet.userId).not.toBe(alice.id);
  });

  test("a bad link attempt is 400 and does not burn the nonce", async () => {
    const carol = await createUser();
    const wallet = newWallet();
    const nonce = await issueNonce();
    const attempts = {
      "wrong signer": await link(carol, await signed(wallet, { nonce, signer: newWallet() })),
      "wrong domain": await link(carol, await signed(wallet, { nonce, domain: "evil.example.com" })),
      "wrong chain": await link(carol, await signed(wallet, { nonce, chainId: 1 })),
      expired: await link(carol, await signed(wallet, { nonce, expirationTime: new Date(Date.now() - 60_000) })),
      "not a SIWE message": await link(carol, { message: "hello", signature: "0x1234" }),
    };
    expect(Object.fromEntries(Object.entries(attempts).map(([k, r]) => [k, r.status]))).toEqual(
      Object.fromEntries(Object.keys(attempts).map((k) => [k, 400])),
    );
    expect(await walletRows(wallet.address)).toEqual([]);
    // The nonce is still good for a correct message.
    expect((await link(carol, await signed(wallet, { nonce }))).status).toBe(200);
    // Carol has a password, so her only wallet is not her only way in: she may unlink it.
    expect((await unlink(carol, wallet.address)).status).toBe(200);
    expect((await getMe({ cookie: carol.cookie })).body.wallets).toEqual([]);
  });

  test("linking needs a session", async () => {
    const response = await kit.request("/api/me/wallets", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(await signed(newWallet())),
    });
    expect(response.status).toBe(401);
  });

  test("a SIWE-only user cannot unlink their only wallet (412); with a second wallet they can", async () => {
    const only = newWallet();
    const session = await siweSignIn(only);
    const refused = await unlink(session, only.address);
    expect(refused.status).toBe(412);
    expect(await codeOf(refused)).toBe("PRECONDITION_FAILED");
    expect((await getMe({ cookie: session.cookie })).body.wallets.map((w) => w.address)).toEqual([only.address]);

    const another = newWallet();
    expect((await link(session, await signed(another))).status).toBe(200);
    expect((await unlink(session, only.address)).status).toBe(200);
    const me = await getMe({ cookie: session.cookie });
    expect(me.body.wallets.map((w) => [w.address, w.isPrimary])).toEqual([[another.address, true]]);
    // And now the remaining one is the only way in again.
    expect((await unlink(session, another.address)).status).toBe(412);
  });

  // Concurrency, at the service: over HTTP the in-process stack spaces requests out enough that
  // their transactions rarely overlap, so the race is driven one layer down, with the same
  // Postgres, Redis, nonces and signatures.
  test("links at the same moment make exactly one primary wallet", async () => {
    // A few rounds: the first may be spaced out by the pool opening its connections.
    const primaries: number[] = [];
    for (let round = 0; round < 3; round++) {
      const user = await createUser();
      const bodies = await Promise.all(Array.from({ length: 5 }, () => signed(newWallet())));
      await Promise.all(bodies.map((body) => linkWallet(kit.deps, user.id, body)));
      const { wallets } = (await getMe({ cookie: user.cookie })).body;
      expect(wallets.length).toBe(5);
      primaries.push(wallets.filter((w) => w.isPrimary).length);
    }
    expect(primaries).toEqual([1, 1, 1]);
  });

  test("unlinks at the same moment cannot leave a SIWE-only user without a wallet", async () => {
    const first = newWallet();
    const session = await siweSignIn(first);
    const second = newWallet();
    expect((await link(session, await signed(second))).status).toBe(200);
    const results = await Promise.allSettled([
      unlinkWallet(kit.deps, session.userId, first.address),
      unlinkWallet(kit.deps, session.userId, second.address),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((failure.reason as KitError).code).toBe("PRECONDITION_FAILED");
    const { wallets } = (await getMe({ cookie: session.cookie })).body;
    expect(wallets.length).toBe(1);
    expect(wallets[0]?.isPrimary).toBe(true);
  });

  test("the typed client over /rpc sees the same typed errors", async () => {
    const dave = await createUser();
    const client: ContractRouterClient<Contract> = createORPCClient(
      new RPCLink({
        url: "http://kit.test/rpc",
        headers: { cookie: dave.cookie },
        fetch: (request) => Promise.resolve(kit.app.fetch(request)),
      }),
    );
    const wallet = newWallet();
    const view = await client.me.wallets.link(await signed(wallet));
    expect(view.address).toBe(wallet.address);
    const me = await client.me.get();
    expect(me.wallets.map((w) => w.address)).toEqual([wallet.address]);
    const error = await client.me.wallets.link(await signed(wallet)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ORPCError);
    expect((error as ORPCError<string, unknown>).code).toBe("CONFLICT");
    expect((error as ORPCError<string, unknown>).status).toBe(409);
  });

  test(`at most ${MAX_WALLETS_PER_USER} wallets per account: the next is a 409 saying what to do, and keeps its nonce`, async () => {
    const frank = await createUser();
    // Linked directly (a signature each over HTTP would only slow the file down): all but one place.
    const now = Date.now();
    await kit.deps.db.insert(walletAddress).values(
      Array.from({ length: MAX_WALLETS_PER_USER - 1 }, (_, i) => ({
        id: crypto.randomUUID(),
        userId: frank.id,
        address: newWallet().address,
        chainId: CHAIN_ID,
        isPrimary: i === 0,
        createdAt: new Date(now + i),
      })),
    );
    const last = newWallet();
    expect((await link(frank, await signed(last))).status).toBe(200);

    const oneTooMany = newWallet();
    const body = await signed(oneTooMany);
    const refused = await link(frank, body);
    expect(refused.status).toBe(409);
    const error = (await refused.json()) as { code: string; message: string };
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain(`${MAX_WALLETS_PER_USER} linked wallets`);
    expect(error.message).toContain("unlink one");
    expect(await walletRows(oneTooMany.address)).toEqual([]);
    expect((await getMe({ cookie: frank.cookie })).body.wallets.length).toBe(MAX_WALLETS_PER_USER);

    // Unlinking one makes room, and the refused message (its nonce unspent) now links.
    expect((await unlink(frank, last.address)).status).toBe(200);
    expect((await link(frank, body)).status).toBe(200);
  });

  test("links at the same moment cannot go past the limit together", async () => {
    const grace = await createUser();
    const now = Date.now();
    await kit.deps.db.insert(walletAddress).values(
      Array.from({ length: MAX_WALLETS_PER_USER - 2 }, (_, i) => ({
        id: crypto.randomUUID(),
        userId: grace.id,
        address: newWallet().address,
        chainId: CHAIN_ID,
        isPrimary: i === 0,
        createdAt: new Date(now + i),
      })),
    );
    const bodies = await Promise.all(Array.from({ length: 5 }, () => signed(newWallet())));
    const results = await Promise.allSettled(bodies.map((body) => linkWallet(kit.deps, grace.id, body)));
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(2);
    for (const result of results) {
      if (result.status === "rejected") expect((result.reason as KitError).code).toBe("CONFLICT");
    }
    expect((await getMe({ cookie: grace.cookie })).body.wallets.length).toBe(MAX_WALLETS_PER_USER);
  });

  test("a banned user cannot sign in with a linked wallet either", async () => {
    const admin = await createUser("admin");
    const erin = await createUser();
    const wallet = newWallet();
    expect((await link(erin, await signed(wallet))).status).toBe(200);
    const ban = await kit.request(`/api/users/${erin.id}/ban`, {
      method: "POST",
      headers: { cookie: admin.cookie, "content-type": "application/json" },
      body: JSON.stringify({ reason: "testing" }),
    });
    expect(ban.status).toBe(200);
    const refused = await verify(await signed(wallet));
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe("BANNED_USER");
    expect(sessionCookie(refused)).toBeUndefined();
  });
});

// Smart-contract wallets (Safe and the like) sign by contract: `isValidSignature` (ERC-1271) says
// whether a signature is the wallet's. Two stand-ins with fixed answers, installed with anvil_setCode:
// runtime code that returns the ERC-1271 magic value (0x1626ba7e) for any call, or 0xffffffff.
const ACCEPTING_WALLET_CODE = "0x631626ba7e60e01b60005260206000f3";
const REFUSING_WALLET_CODE = "0x63ffffffff60e01b60005260206000f3";

describe("contract wallets (ERC-1271), checked on chain", () => {
  const anvil = createTestClient({ mode: "anvil", transport: http(kit.config.chain.rpcUrl) });
  async function contractWallet(code: `0x${string}`) {
    const address = newWallet().address;
    await anvil.setCode({ address, bytecode: code });
    return { address };
  }
  /** A SIWE message for a contract wallet, "signed" by a key the wallet's contract is asked about. */
  const contractSigned = (wallet: { address: `0x${string}` }, nonce?: string) =>
    signed(wallet, { nonce, signer: newWallet() });

  test("a wallet whose contract accepts the signature signs in; one whose contract refuses does not", async () => {
    const accepting = await contractWallet(ACCEPTING_WALLET_CODE);
    const refusing = await contractWallet(REFUSING_WALLET_CODE);

    const accepted = await verify(await contractSigned(accepting));
    expect(accepted.status).toBe(200);
    const session = sessionFrom(accepted);
    expect((await getMe({ cookie: session.cookie })).body.wallets.map((w) => w.address)).toEqual([
      getAddress(accepting.address),
    ]);

    const refused = await verify(await contractSigned(refusing));
    expect(refused.status).toBe(401);
    expect(sessionCookie(refused)).toBeUndefined();
    expect(await walletRows(refusing.address)).toEqual([]);
  });

  test("a contract wallet links to an existing account the same way", async () => {
    const dave = await createUser();
    const accepting = await contractWallet(ACCEPTING_WALLET_CODE);
    const refusing = await contractWallet(REFUSING_WALLET_CODE);
    expect((await link(dave, await contractSigned(refusing))).status).toBe(400);
    expect((await link(dave, await contractSigned(accepting))).status).toBe(200);
    expect((await getMe({ cookie: dave.cookie })).body.wallets.map((w) => w.address)).toEqual([
      getAddress(accepting.address),
    ]);
  });
});

// Its chain URL points at a closed port.
const offline = await createTestKit({ env: { TRUST_PROXY_HOPS: "1" } });

describe("without a reachable chain node", () => {
  test("EOAs still sign in and link (checked offline); a signature only a contract could vouch for is 503", async () => {
    const post = (path: string, body: unknown, cookie?: string) =>
      offline.request(path, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: TRUSTED_ORIGIN,
          "x-forwarded-for": nextIp(),
          ...(cookie ? { cookie } : {}),
        },
        body: JSON.stringify(body),
      });
    const siweBody = async (address: `0x${string}`, signer: PrivateKeyAccount) => {
      const { nonce } = (await (await post("/api/auth/siwe/nonce", {})).json()) as { nonce: string };
      const message = createSiweMessage({
        address,
        chainId: CHAIN_ID,
        domain: new URL(offline.config.auth.publicUrl).host,
        nonce,
        uri: offline.config.auth.publicUrl,
        version: "1",
      });
      return { message, signature: await signer.signMessage({ message }) };
    };
    const wallet = newWallet();
    const signedIn = await post("/api/auth/siwe/verify", await siweBody(wallet.address, wallet));
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.getSetCookie()[0]?.split(";")[0] ?? "";

    const second = newWallet();
    expect((await post("/api/me/wallets", await siweBody(second.address, second), cookie)).status).toBe(200);

    const unverifiable = await post("/api/auth/siwe/verify", await siweBody(newWallet().address, newWallet()));
    expect(unverifiable.status).toBe(503);
    expect(((await unverifiable.json()) as { code: string }).code).toBe("SERVICE_UNAVAILABLE");
    const linkUnverifiable = await post("/api/me/wallets", await siweBody(newWallet().address, newWallet()), cookie);
    expect(linkUnverifiable.status).toBe(503);
  });
});
