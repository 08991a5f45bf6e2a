// Tokens indexed from a start block after their first transfers (INDEXER_TOKENS=0x…@block, the
// contract older than the block): the events before the start are never read, so what they left —
// each holder's balance, the supply — is read from the chain at the block before the start (the
// opening block) instead. Holders are learnt from the events: each one's opening balance is read
// the first time it appears, and added to the balance its indexed transfers make.
import type pg from "pg";
import { encodeFunctionData, parseAbi } from "viem";
import { type ChainReader, type DecodedLogs, describeChainError, nodeRefused, ZERO_ADDRESS } from "./chain-reader";
import { holdersWithoutOpeningBalance, type OpeningBalance } from "./store";

const erc20 = parseAbi([
  "function balanceOf(address) view returns (uint256)",
  "function totalSupply() view returns (uint256)",
]);

/** The node keeps refusing a token's opening state: that token is quarantined, not the indexer. */
export class OpeningReadError extends Error {
  constructor(
    readonly token: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = "OpeningReadError";
  }
}

/**
 * The opening block of a token indexed from `startBlock`, with its supply there; null when the
 * contract did not exist before the start (then its history is complete from there).
 */
export async function openingOf(
  reader: ChainReader,
  address: string,
  startBlock: number,
): Promise<{ block: number; supply: string } | null> {
  if (startBlock <= 0) return null;
  const block = startBlock - 1;
  // A node without old state refuses: assume the token is older (its balances then tell).
  const code = await reader.code(address, block).catch((error) => {
    if (nodeRefused(error)) return undefined;
    throw error;
  });
  if (code === "0x") return null;
  const supply = await reader
    .uintAt(address, encodeFunctionData({ abi: erc20, functionName: "totalSupply" }), block)
    .catch((error) => {
      if (nodeRefused(error)) return 0n;
      throw error;
    });
  return { block, supply: supply.toString() };
}

/**
 * The opening balances to store before `decoded` is applied: those of the holders it names, for
 * the tokens of `openingBlocks` (token → opening block), that have none stored yet.
 */
export async function readOpeningBalances(
  reader: ChainReader,
  client: pg.ClientBase,
  chainId: number,
  openingBlocks: Map<string, number>,
  decoded: Pick<DecodedLogs, "transfers" | "states">,
): Promise<OpeningBalance[]> {
  if (openingBlocks.size === 0) return [];
  const named = new Map<string, { token: string; holder: string }>();
  const add = (token: string, holder: string | null) => {
    if (holder && holder !== ZERO_ADDRESS && openingBlocks.has(token))
      named.set(`${token}${holder}`, { token, holder });
  };
  for (const t of decoded.transfers) {
    add(t.token, t.from);
    add(t.token, t.to);
  }
  // A holder frozen before its first transfer has a balance row too.
  for (const s of decoded.states) add(s.contract, s.subject);
  if (named.size === 0) return [];
  const missing = await holdersWithoutOpeningBalance(client, chainId, [...named.values()]);
  const out: OpeningBalance[] = [];
  for (let i = 0; i < missing.length; i += 500) {
    const part = missing.slice(i, i + 500);
    const balances = await Promise.all(
      part.map(async ({ token, holder }) => {
        const block = openingBlocks.get(token) as number;
        const data = encodeFunctionData({ abi: erc20, functionName: "balanceOf", args: [holder as `0x${string}`] });
        try {
          return await reader.uintAt(token, data, block);
        } catch (error) {
          if (!nodeRefused(error)) throw error;
          throw new OpeningReadError(
            token,
            `the node refused balanceOf(${holder}) at block ${block} (${describeChainError(error)}); a start block in the past needs a node that keeps old state (an archive node)`,
          );
        }
      }),
    );
    for (const [j, { token, holder }] of part.entries())
      out.push({ token, holder, balance: String(balances[j]), block: openingBlocks.get(token) as number });
  }
  return out;
}
