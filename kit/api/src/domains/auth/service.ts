// Accounts: creating one with a password, and the caller's own: their view and their wallets.
// Administering other users is in users.ts.
import { and, count, eq } from "drizzle-orm";
import { getAddress } from "viem";
import { parseSiweMessage } from "viem/siwe";
import type { Config } from "../../config";
import type { DomainEvents, JobQueue } from "../../deps";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import { type Database, PG_UNIQUE_VIOLATION, postgresError } from "../../infra/db";
import type { Logger } from "../../infra/log";
import type { Redis } from "../../infra/redis";
import type { Auth } from "./auth";
import type { MeWallets } from "./me-wallets";
import { grants, type RoleName } from "./permissions";
import { account, user, walletAddress } from "./schema";
import type { Caller } from "./session";
import { toUserView } from "./users";
import { checkWalletSignature } from "./wallet-signatures";

interface AuthDeps {
  config: Config;
  db: Database;
  auth: Auth;
  redis: Redis;
}

/** What linking and unlinking wallets need besides the basics: whom to tell afterwards. */
interface WalletDeps {
  /** Every process's copies of the caller's wallets (me.get), dropped after each change. */
  local: { meWallets: Pick<MeWallets, "announceChange"> };
  jobs?: JobQueue;
  log?: Logger;
  events: Pick<DomainEvents, "walletLinked" | "walletUnlinked">;
}

type WalletRow = typeof walletAddress.$inferSelect;

function toWalletView(row: WalletRow) {
  return {
    address: row.address,
    chainId: row.chainId,
    isPrimary: row.isPrimary,
    linkedAt: row.createdAt.toISOString(),
  };
}

/** The caller's own view: the user as the session carries it (kept current on every change), plus wallets. */
export async function getMe(
  { local }: { local: { meWallets: Pick<MeWallets, "read"> } },
  caller: Extract<Caller, { kind: "user" }>,
) {
  const wallets = await local.meWallets.read(caller.user.id);
  const { id, email, name, role, emailVerified, createdAt } = caller.user;
  const view = { id, email, name, role, emailVerified, createdAt: createdAt.toISOString() };
  const roleGrants = grants[view.role] as Record<string, string[]>;
  // With an API key, what both the role and the key allow (the key's own grants are listed apart).
  const keyGrants = caller.via === "api-key" ? (caller.keyGrants ?? {}) : null;
  const permissions = keyGrants
    ? Object.fromEntries(
        Object.entries(roleGrants)
          .map(([subject, actions]): [string, string[]] => [
            subject,
            actions.filter((a) => keyGrants[subject]?.includes(a)),
          ])
          .filter(([, actions]) => actions.length > 0),
      )
    : roleGrants;
  return { user: view, permissions, keyGrants, wallets: wallets.map(toWalletView), authenticatedWith: caller.via };
}

/**
 * Wallets one account may link. Every linked wallet is registered, watched and (for a sanctions
 * case) frozen on chain by Kit's jobs, each with its own transactions: the bound keeps one account
 * from making that work, or the `me.get` answer, grow without limit.
 */
export const MAX_WALLETS_PER_USER = 20;

function tooManyWallets(): KitError {
  return new KitError(
    "CONFLICT",
    `Your account already has ${MAX_WALLETS_PER_USER} linked wallets, the most it may have; unlink one you no longer use, then link this one.`,
  );
}

/**
 * Links the wallet that signed `message` (EIP-4361) to `userId`. The message must name Kit's
 * domain and chain, carry a nonce Kit issued (single use), and be within its validity window.
 */
export async function linkWallet(
  { config, db, auth, chain, jobs, log, events, local }: AuthDeps & WalletDeps & { chain: Chain },
  userId: string,
  input: { message: string; signature: string },
) {
  const parsed = parseLinkMessage(config, input.message);
  const check = await checkWalletSignature(chain, {
    address: parsed.address,
    message: input.message,
    signature: input.signature as `0x${string}`,
  });
  if (check === "chain-unavailable") {
    throw new KitError(
      "SERVICE_UNAVAILABLE",
      "The chain could not be asked to check this wallet's signature (a contract wallet's is checked on chain); retry in a minute.",
    );
  }
  if (check === "invalid") throw new KitError("BAD_REQUEST", "The signature does not match the message and address.");

  // Checked again under the lock below; asked here too, so that a refused link keeps its nonce.
  const [{ linked } = { linked: 0 }] = await db
    .select({ linked: count() })
    .from(walletAddress)
    .where(eq(walletAddress.userId, userId));
  if (linked >= MAX_WALLETS_PER_USER) throw tooManyWallets();

  // The nonce is consumed only after the signature checks out, so a forged attempt cannot burn it.
  const ctx = await auth.$context;
  const nonceFound = await ctx.internalAdapter.consumeVerificationValue(`siwe:${parsed.nonce}`);
  if (!nonceFound) throw new KitError("BAD_REQUEST", "The nonce is unknown, expired or already used; get a new one.");

  const checksummed = getAddress(parsed.address);
  try {
    const row = await insertWalletLink(db, userId, checksummed, parsed.chainId);
    // After the commit: me.get's copies go, and an approved investor's new wallet becomes eligible
    // on chain too (kyc listens).
    await local.meWallets.announceChange(userId);
    await events.walletLinked({ db, jobs, log }, userId, checksummed);
    return toWalletView(row);
  } catch (error) {
    if (postgresError(error)?.code === PG_UNIQUE_VIOLATION) {
      const [owner] = await db
        .select({ userId: walletAddress.userId })
        .from(walletAddress)
        .where(and(eq(walletAddress.address, checksummed), eq(walletAddress.chainId, parsed.chainId)));
      throw new KitError(
        "CONFLICT",
        owner?.userId === userId
          ? "This wallet is already linked to your account."
          : "This wallet is linked to another account.",
      );
    }
    throw error;
  }
}

/** What a link needs of a SIWE message, once it is known to name Kit's domain and chain and to be valid now. */
function parseLinkMessage(config: Config, message: string): { address: `0x${string}`; nonce: string; chainId: number } {
  let parsed: ReturnType<typeof parseSiweMessage>;
  try {
    parsed = parseSiweMessage(message);
  } catch {
    throw new KitError("BAD_REQUEST", "The message is not a valid Sign-In with Ethereum message.");
  }
  if (!parsed.address || !parsed.nonce || !parsed.domain || parsed.chainId === undefined) {
    throw new KitError("BAD_REQUEST", "The SIWE message must contain an address, a nonce, a domain and a chain id.");
  }
  if (parsed.domain !== new URL(config.auth.publicUrl).host) {
    throw new KitError(
      "BAD_REQUEST",
      `The SIWE message is for ${parsed.domain}; sign one for ${new URL(config.auth.publicUrl).host}.`,
    );
  }
  if (parsed.chainId !== config.chain.id) {
    throw new KitError(
      "BAD_REQUEST",
      `The SIWE message names chain ${parsed.chainId}; Kit serves chain ${config.chain.id}.`,
    );
  }
  const now = Date.now();
  if (parsed.expirationTime && parsed.expirationTime.getTime() <= now) {
    throw new KitError("BAD_REQUEST", "The SIWE message has expired; sign a new one.");
  }
  if (parsed.notBefore && parsed.notBefore.getTime() > now) {
    throw new KitError("BAD_REQUEST", "The SIWE message is not valid yet.");
  }
  return { address: parsed.address, nonce: parsed.nonce, chainId: parsed.chainId };
}

/** The wallet's row and its SIWE account, in one transaction; the account's first wallet is its primary. */
async function insertWalletLink(
  db: Database,
  userId: string,
  checksummed: string,
  chainId: number,
): Promise<WalletRow> {
  const createdAt = new Date();
  const [row] = await db.transaction(async (tx) => {
    // Serialises links for one user, so two at once can neither both become primary nor both
    // take the last free place.
    await tx.select({ id: user.id }).from(user).where(eq(user.id, userId)).for("update");
    const linked = await tx
      .select({ isPrimary: walletAddress.isPrimary })
      .from(walletAddress)
      .where(eq(walletAddress.userId, userId));
    if (linked.length >= MAX_WALLETS_PER_USER) throw tooManyWallets();
    const hasPrimary = linked.some((wallet) => wallet.isPrimary);
    const inserted = await tx
      .insert(walletAddress)
      .values({
        id: crypto.randomUUID(),
        userId,
        address: checksummed,
        chainId,
        isPrimary: !hasPrimary,
        createdAt,
      })
      .returning();
    await tx.insert(account).values({
      id: crypto.randomUUID(),
      userId,
      providerId: "siwe",
      accountId: `${checksummed}:${chainId}`,
      createdAt,
      updatedAt: createdAt,
    });
    return inserted;
  });
  if (!row) throw new Error("wallet insert returned no row");
  return row;
}

/** Unlinks a wallet, unless it is the account's only way to sign in. */
export async function unlinkWallet(
  { db, jobs, log, events, local }: AuthDeps & WalletDeps,
  userId: string,
  rawAddress: string,
) {
  const checksummed = getAddress(rawAddress.toLowerCase());
  await db.transaction(async (tx) => {
    const wallets = await tx.select().from(walletAddress).where(eq(walletAddress.userId, userId)).for("update");
    const target = wallets.find((w) => w.address === checksummed);
    if (!target) throw new KitError("NOT_FOUND", `No wallet ${checksummed} is linked to your account.`);
    const [password] = await tx
      .select({ id: account.id })
      .from(account)
      .where(and(eq(account.userId, userId), eq(account.providerId, "credential")));
    if (!password && wallets.length === 1) {
      throw new KitError(
        "PRECONDITION_FAILED",
        "This wallet is your only way to sign in; link another wallet or set a password first.",
      );
    }
    await tx.delete(walletAddress).where(eq(walletAddress.id, target.id));
    await tx
      .delete(account)
      .where(
        and(
          eq(account.userId, userId),
          eq(account.providerId, "siwe"),
          eq(account.accountId, `${target.address}:${target.chainId}`),
        ),
      );
    if (target.isPrimary) {
      const next = wallets.find((w) => w.id !== target.id);
      if (next) await tx.update(walletAddress).set({ isPrimary: true }).where(eq(walletAddress.id, next.id));
    }
  });
  // After the commit: me.get's copies go, and a wallet Kit made eligible loses Kit's claim with its
  // owner (kyc listens).
  await local.meWallets.announceChange(userId);
  await events.walletUnlinked({ db, jobs, log }, userId, checksummed);
  return { unlinked: true as const };
}

/**
 * Creates a user who signs in with e-mail and password (the CLI and BOOTSTRAP_ADMIN_* use it).
 * Returns null when the e-mail address is taken.
 */
export async function createPasswordUser(
  { db, auth }: Pick<AuthDeps, "db" | "auth">,
  input: { email: string; password: string; role: RoleName; name?: string },
) {
  const ctx = await auth.$context;
  const email = input.email.toLowerCase();
  if (await ctx.internalAdapter.findUserByEmail(email)) return null;
  const hash = await ctx.password.hash(input.password);
  try {
    return await db.transaction(async (tx) => {
      const id = crypto.randomUUID();
      const now = new Date();
      const [row] = await tx
        .insert(user)
        .values({
          id,
          email,
          name: input.name ?? email.split("@")[0] ?? email,
          role: input.role,
          emailVerified: true,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      await tx.insert(account).values({
        id: crypto.randomUUID(),
        userId: id,
        providerId: "credential",
        accountId: id,
        password: hash,
        createdAt: now,
        updatedAt: now,
      });
      if (!row) throw new Error("user insert returned no row");
      return toUserView(row);
    });
  } catch (error) {
    if (postgresError(error)?.code === PG_UNIQUE_VIOLATION) return null;
    throw error;
  }
}
