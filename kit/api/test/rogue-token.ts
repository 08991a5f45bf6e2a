// A contract that is no ERC-20 at all but emits whatever Transfer it is told to: the calldata is
// (from, to, value), 32 bytes each, and it logs Transfer(from, to, value). Every call answers 32
// zero bytes, so balanceOf, totalSupply (and name, symbol, decimals) read as 0. For the indexer's
// tests of tokens whose events do not add up. Hand-assembled (no compiler needed):
//   runtime: PUSH1 0x40 CALLDATALOAD PUSH1 0 MSTORE          memory[0] = value
//            PUSH1 0x20 CALLDATALOAD PUSH1 0 CALLDATALOAD    topics 2 (to) and 1 (from)
//            PUSH32 keccak("Transfer(address,address,uint256)") PUSH1 32 PUSH1 0 LOG3
//            PUSH1 32 PUSH1 0 RETURN                          answers memory[0..32]
//   init:    PUSH1 len PUSH1 12 PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN
import { encodeAbiParameters, type Hex } from "viem";
import type { TestChain } from "./bulk-token";

const TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const RUNTIME = `604035600052602035600035 7f${TRANSFER_TOPIC} 60206000a3 60206000f3`.replace(/ /g, "");
const LENGTH = (RUNTIME.length / 2).toString(16).padStart(2, "0");
const INIT = `60${LENGTH}600c600039 60${LENGTH}6000f3`.replace(/ /g, "");

/** Deploys one; returns its address (lowercase) and block. */
export async function deployRogueToken(chain: TestChain): Promise<{ address: string; block: number }> {
  const r = await chain.receipt(await chain.send(undefined, `0x${INIT}${RUNTIME}`));
  return { address: (r.contractAddress as string).toLowerCase(), block: Number(r.blockNumber) };
}

/** Makes it log Transfer(from, to, value), whatever anyone holds; returns the block. */
export async function emitTransfer(chain: TestChain, token: string, from: string, to: string, value: bigint) {
  const data = encodeAbiParameters(
    [{ type: "address" }, { type: "address" }, { type: "uint256" }],
    [from as Hex, to as Hex, value],
  );
  const r = await chain.receipt(await chain.send(token, data, undefined, 100_000n));
  return Number(r.blockNumber);
}
