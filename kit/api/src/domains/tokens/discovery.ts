// Where the indexer's tokens come from: a T-REX factory's TREXSuiteDeployed events (the factory
// named by the deployment file that `chain:deploy` writes, or INDEXER_FACTORY), and a configured
// list of any ERC-20s (INDEXER_TOKENS). Here: reading those sources and a token's on-chain facts.
import { readFile, stat } from "node:fs/promises";
import { decodeAbiParameters, encodeFunctionData, parseAbi } from "viem";
import { z } from "zod";
import type { Config } from "../../config";
import type { ChainReader } from "./chain-reader";
import type { TokenKind } from "./schema";

export interface FactorySource {
  address: string;
  startBlock: number;
}

const deploymentFile = z.object({
  chainId: z.number().int().optional(),
  trex: z.object({
    factory: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    factoryBlock: z.number().int().min(0).optional(),
  }),
  fromBlock: z.number().int().min(0).optional(),
});

/** The factory of a deployment file, or undefined while the file does not exist (yet). */
export async function readDeploymentFactory(
  path: string,
): Promise<(FactorySource & { mtimeMs: number; chainId?: number }) | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  const parsed = deploymentFile.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!parsed.success)
    throw new Error(`${path}: not a deployment file (expected trex.factory): ${parsed.error.message}`);
  const { trex, fromBlock, chainId } = parsed.data;
  return {
    chainId,
    address: trex.factory.toLowerCase(),
    startBlock: trex.factoryBlock ?? fromBlock ?? 0,
    mtimeMs: info.mtimeMs,
  };
}

export function configuredFactories(config: Pick<Config, "indexer">): FactorySource[] {
  const factory = config.indexer.factory;
  return factory ? [{ address: factory.address, startBlock: factory.startBlock ?? 0 }] : [];
}

const erc20 = parseAbi([
  "function name() view returns (string)",
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function identityRegistry() view returns (address)",
]);

export interface TokenFacts {
  name: string;
  symbol: string;
  decimals: number;
  kind: TokenKind;
  identityRegistry: string | null;
}

/**
 * name, symbol, decimals (a token without them gets its address, "", 18), and whether it is a
 * T-REX token (it has an identity registry). Read at `blockNumber` when the node keeps that state,
 * else at the head.
 */
export async function readTokenFacts(reader: ChainReader, address: string, blockNumber?: number): Promise<TokenFacts> {
  const call = async (functionName: "name" | "symbol" | "decimals" | "identityRegistry") => {
    const data = encodeFunctionData({ abi: erc20, functionName });
    try {
      return await reader.call(address, data, blockNumber);
    } catch {
      return await reader.call(address, data).catch(() => undefined);
    }
  };
  const [name, symbol, decimals, registry] = await Promise.all([
    call("name"),
    call("symbol"),
    call("decimals"),
    call("identityRegistry"),
  ]);
  const text = (hex: `0x${string}` | undefined) => {
    if (!hex || hex === "0x") return undefined;
    try {
      return decodeAbiParameters([{ type: "string" }], hex)[0].replace(/\0/g, "");
    } catch {
      return undefined;
    }
  };
  const word = (hex: `0x${string}` | undefined) => (hex && hex.length >= 66 ? BigInt(hex.slice(0, 66)) : undefined);
  const registryWord = word(registry);
  const identityRegistry = registryWord ? `0x${registryWord.toString(16).padStart(40, "0")}` : null;
  const decimalsWord = word(decimals);
  return {
    name: text(name) ?? address,
    symbol: text(symbol) ?? "",
    decimals: decimalsWord !== undefined && decimalsWord <= 255n ? Number(decimalsWord) : 18,
    kind: identityRegistry ? "t-rex" : "erc20",
    identityRegistry,
  };
}

/**
 * The block a contract was created in: a binary search over eth_getCode (needs a node that keeps
 * old state, as anvil and archive nodes do). 0 when the node cannot tell: indexing then starts at
 * genesis, which is slow but never wrong. Configure `address@block` to skip the search.
 */
export async function findDeploymentBlock(reader: ChainReader, address: string, head: number): Promise<number> {
  try {
    if ((await reader.code(address, head)) === "0x") return head;
    let low = 0;
    let high = head;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if ((await reader.code(address, middle)) === "0x") low = middle + 1;
      else high = middle;
    }
    return low;
  } catch {
    return 0;
  }
}
