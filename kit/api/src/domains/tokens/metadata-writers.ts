// Who may write a token's metadata: an admin, or a user with a linked wallet that is the token's
// owner or one of its agents on chain right now.
import { parseAbi } from "viem";
import { KitError } from "../../errors";
import type { Chain } from "../../infra/chain";
import type { Database } from "../../infra/db";
import type { CallerUser } from "../auth/session";
import { listWalletAddresses } from "../auth/wallets";

const writerAbi = parseAbi([
  "function owner() view returns (address)",
  "function isAgent(address agent) view returns (bool)",
]);

/**
 * viem wraps a revert, or a call to a function the contract does not have, as an error whose cause
 * chain holds ContractFunctionRevertedError / ContractFunctionZeroDataError; anything else is the
 * node or the transport.
 */
function isRevert(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  if (name === "ContractFunctionRevertedError" || name === "ContractFunctionZeroDataError") return true;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause ? isRevert(cause) : false;
}

function chainUnavailable(): KitError {
  return new KitError(
    "SERVICE_UNAVAILABLE",
    "The chain node is unreachable, so your role on this token could not be checked; nothing was changed. Retry shortly.",
  );
}

/** Reads that answer false when the contract has no such function (a plain ERC-20 has neither). */
async function readOrFalse<T>(read: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isRevert(error)) return fallback;
    throw chainUnavailable();
  }
}

/** True when one of `wallets` is the token's owner or an agent of it, on chain. */
async function isTokenAgentOrOwner(chain: Chain, token: `0x${string}`, wallets: string[]): Promise<boolean> {
  if (wallets.length === 0) return false;
  const owner = await readOrFalse(
    () => chain.readContract({ address: token, abi: writerAbi, functionName: "owner" }),
    null as string | null,
  );
  if (owner && wallets.some((w) => w.toLowerCase() === owner.toLowerCase())) return true;
  const agents = await Promise.all(
    wallets.map((wallet) =>
      readOrFalse(
        () =>
          chain.readContract({
            address: token,
            abi: writerAbi,
            functionName: "isAgent",
            args: [wallet as `0x${string}`],
          }),
        false,
      ),
    ),
  );
  return agents.some(Boolean);
}

/** Refuses (FORBIDDEN) anyone but an admin or an on-chain owner/agent of `token`. */
export async function requireTokenWriter(
  deps: { db: Database; chain: Chain },
  user: Pick<CallerUser, "id" | "role">,
  token: `0x${string}`,
): Promise<void> {
  if (user.role === "admin") return;
  const wallets = await listWalletAddresses(deps, user.id);
  if (wallets.length === 0) {
    throw new KitError(
      "FORBIDDEN",
      "Only the token's owner or agents (on chain) may change its metadata, and you have no linked wallet: link the agent wallet first (POST /api/me/wallets).",
    );
  }
  if (!(await isTokenAgentOrOwner(deps.chain, token, wallets))) {
    throw new KitError(
      "FORBIDDEN",
      `None of your linked wallets is the owner or an agent of token ${token} on chain; ask its owner to add your wallet as an agent.`,
    );
  }
}
