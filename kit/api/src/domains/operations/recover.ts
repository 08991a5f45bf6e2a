// Recovery of a lost wallet, before anything is recorded: every precondition is a typed 4xx (the
// wallets, the investor, the token's state), and the investor's ONCHAINID is fixed here. The steps
// themselves are planned when sent (recovery-steps.ts, steps.ts). What the plan and the checks read
// from the chain is read here too, in two parallel rounds.
import { identityAbi, identityRegistryAbi, isAnvil, keyOf, tokenAbi } from "@kit/contracts";
import { and, eq, inArray, sql } from "drizzle-orm";
import { type Address, zeroAddress } from "viem";
import type { Config } from "../../config";
import type { DomainQueries } from "../../deps";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import { chainAccounts } from "../../infra/chain-accounts";
import type { Database } from "../../infra/db";
import { walletOwners } from "../auth/wallets";
import { fromSmallestUnit } from "./amounts";
import type { TokenFacts } from "./prechecks";
import type { RecoverParameters, RecoveryFacts } from "./recovery-steps";
import { tokenOperations } from "./schema";

export interface RecoveryCheckDeps {
  db: Database;
  chain: Chain;
  config: Pick<Config, "chain">;
  queries: Pick<DomainQueries, "kycStanding" | "walletRegistration">;
}

/**
 * Kit's chain agent's address (the key is never needed here). Asked each time: a recovery is rare,
 * and the one RPC call (is this anvil?) is cheaper than a process-wide memo to keep right.
 */
async function agentAddress(config: Pick<Config, "chain">, client: Chain): Promise<Address> {
  return chainAccounts(config, await isAnvil(client)).agent.address;
}

/** The chain as a recovery plan needs it; `identity` is the investor's ONCHAINID when known. */
export async function readRecoveryFacts(
  client: Pick<Chain, "readContract">,
  token: string,
  wallets: { lostWallet: string; newWallet: string },
  agent: string,
  identity?: string,
): Promise<RecoveryFacts> {
  const read = <T>(address: string, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
    client.readContract({ address: address as Address, abi, functionName, args } as never) as Promise<T>;
  const lost = wallets.lostWallet;
  const fresh = wallets.newWallet;
  const [registry, lostBalance, lostFrozenAmount, lostFrozen, newBalance, newFrozen] = await Promise.all([
    read<string>(token, tokenAbi, "identityRegistry"),
    read<bigint>(token, tokenAbi, "balanceOf", [lost]),
    read<bigint>(token, tokenAbi, "getFrozenTokens", [lost]),
    read<boolean>(token, tokenAbi, "isFrozen", [lost]),
    read<bigint>(token, tokenAbi, "balanceOf", [fresh]),
    read<boolean>(token, tokenAbi, "isFrozen", [fresh]),
  ]);
  const [lostIdentity, newIdentity, lostCountry, newCountry] = await Promise.all([
    read<string>(registry, identityRegistryAbi, "identity", [lost]),
    read<string>(registry, identityRegistryAbi, "identity", [fresh]),
    read<number>(registry, identityRegistryAbi, "investorCountry", [lost]),
    read<number>(registry, identityRegistryAbi, "investorCountry", [fresh]),
  ]);
  const investor = identity ?? (lostIdentity !== zeroAddress ? lostIdentity : newIdentity);
  const hasKey = (who: string) =>
    investor === zeroAddress
      ? Promise.resolve(false)
      : read<boolean>(investor, identityAbi, "keyHasPurpose", [keyOf(who as Address), 1n]);
  const [keyPresent, agentManages] = await Promise.all([hasKey(fresh), hasKey(agent)]);
  const lower = (a: string) => a.toLowerCase();
  return {
    identity: lower(investor),
    registry: lower(registry),
    lostBalance,
    lostFrozenAmount,
    lostFrozen,
    newBalance,
    newFrozen,
    lostIdentity: lower(lostIdentity),
    newIdentity: lower(newIdentity),
    keyPresent,
    agentManages,
    country: lostIdentity !== zeroAddress ? lostCountry : newCountry,
  };
}

function refuse(path: "lostWallet" | "newWallet", message: string): never {
  throw new KitError("BAD_REQUEST", `Invalid input: ${path}: ${message}`, [{ path, message }]);
}

/**
 * The preconditions of a recovery, in the order a person would fix them; answers what the
 * operation records besides the input: the investor's identity and the user both wallets are
 * linked to.
 */
export async function recoveryPrecheck(
  deps: RecoveryCheckDeps,
  token: TokenFacts & { chainId: number },
  p: { lostWallet: string; newWallet: string },
): Promise<Pick<RecoverParameters, "investorOnchainId" | "userId">> {
  if (p.lostWallet === p.newWallet) refuse("newWallet", "must differ from lostWallet");
  const owners = await walletOwners(deps, [p.lostWallet, p.newWallet]);
  const owner = owners.get(p.lostWallet);
  if (!owner) {
    refuse(
      "lostWallet",
      `${p.lostWallet} is not linked to any Kit account; Kit recovers the wallets of its own investors only (keep the lost wallet linked until it is recovered)`,
    );
  }
  const newOwner = owners.get(p.newWallet);
  if (!newOwner) {
    refuse(
      "newWallet",
      `${p.newWallet} is not linked to any Kit account; the investor links it first (Sign-In with Ethereum)`,
    );
  }
  if (newOwner !== owner) refuse("newWallet", `${p.newWallet} is linked to another Kit account than the lost wallet`);
  const kyc = await deps.queries.kycStanding(deps, owner);
  if (!kyc.approved) {
    const why =
      kyc.status === "approved" && kyc.expiresAt
        ? `expired on ${kyc.expiresAt.toISOString().slice(0, 10)}`
        : kyc.status === "none"
          ? "was never applied for"
          : `is ${kyc.status.replace("_", " ")}`;
    throw new KitError(
      "PRECONDITION_FAILED",
      `The investor's KYC approval ${why}; a recovery needs a current approval (the new wallet must be eligible).`,
    );
  }
  const facts = await readRecoveryFacts(deps.chain, token.address, p, await agentAddress(deps.config, deps.chain));
  if (facts.lostBalance === 0n) {
    refuse("lostWallet", `${p.lostWallet} holds none of this token: there is nothing to recover on it`);
  }
  if (facts.newBalance > 0n) {
    refuse(
      "newWallet",
      `${p.newWallet} already holds ${fromSmallestUnit(facts.newBalance, token.decimals)} of this token; Kit moves a lost wallet's holdings only to a wallet that holds none`,
    );
  }
  const identity = await investorIdentity(deps, token.chainId, p, owner, facts);
  if (facts.lostIdentity === identity && !facts.keyPresent && !facts.agentManages) {
    throw new KitError(
      "PRECONDITION_FAILED",
      "Kit's agent is not a management key of the investor's identity (ONCHAINID), so it cannot add the new wallet's key that recoveryAddress requires; the identity's manager must add it.",
    );
  }
  await requireNoOpenRecovery(deps.db, token, p.lostWallet);
  return { investorOnchainId: identity, userId: owner };
}

/**
 * The investor's ONCHAINID: the one the lost wallet is registered with; or, when an earlier
 * recovery on another of Kit's tokens already moved it (the registry storage is shared), the one
 * Kit recorded as moved and the new wallet is registered with.
 */
async function investorIdentity(
  deps: RecoveryCheckDeps,
  chainId: number,
  p: { lostWallet: string; newWallet: string },
  owner: string,
  facts: RecoveryFacts,
): Promise<string> {
  if (facts.lostIdentity !== zeroAddress) {
    if (facts.newIdentity !== zeroAddress && facts.newIdentity !== facts.lostIdentity) {
      // Kit's eligibility registers a newly linked wallet of an approved investor with an identity
      // of its own: that registration gives way. Anyone else's stays, and so does the recovery.
      const registration = await deps.queries.walletRegistration(deps, chainId, p.newWallet);
      if (registration?.userId !== owner || registration.identity !== facts.newIdentity) {
        refuse(
          "newWallet",
          `${p.newWallet} is registered in the token's identity registry with an identity Kit did not make for this investor; an agent of the registry must remove it first`,
        );
      }
    }
    return facts.lostIdentity;
  }
  const lost = await deps.queries.walletRegistration(deps, chainId, p.lostWallet);
  if (lost?.status === "recovered" && lost.userId === owner && lost.identity === facts.newIdentity) {
    return facts.newIdentity;
  }
  refuse(
    "lostWallet",
    `${p.lostWallet} is not registered in the token's identity registry, and Kit has no record of its registration moving to ${p.newWallet}`,
  );
}

async function requireNoOpenRecovery(db: Database, token: { chainId: number; address: string }, lostWallet: string) {
  const [open] = await db
    .select({ id: tokenOperations.id })
    .from(tokenOperations)
    .where(
      and(
        eq(tokenOperations.chainId, token.chainId),
        eq(tokenOperations.token, token.address.toLowerCase()),
        eq(tokenOperations.kind, "recover"),
        inArray(tokenOperations.status, ["awaiting_approval", "pending", "signed", "submitted"]),
        sql`${tokenOperations.parameters}->>'lostWallet' = ${lostWallet}`,
      ),
    )
    .limit(1);
  if (open) {
    throw new KitError(
      "CONFLICT",
      `A recovery of ${lostWallet} on this token is already open (operation ${open.id}); approve, reject or wait for it.`,
    );
  }
}
