// A plain ERC-20 with batch calls (fixtures/contracts/BulkToken.sol) on a test anvil, for indexer
// tests and benches: thousands of Transfer events in a few blocks, and the chain's own answers
// (balances, supply, logs) to compare the indexed tables with.
import {
  createPublicClient,
  decodeFunctionResult,
  encodeDeployData,
  encodeFunctionData,
  type Hex,
  http,
  toHex,
} from "viem";
import artifact from "./fixtures/contracts/BulkToken.json" with { type: "json" };

const bulkTokenAbi = artifact.abi as unknown as readonly unknown[] as import("viem").Abi;
/** anvil's first dev account (unlocked: eth_sendTransaction needs no key). */
export const DEV_ACCOUNTS = [
  "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
  "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
  "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
  "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
] as const;

export type TestChain = ReturnType<typeof testChain>;

export function testChain(rpcUrl: string) {
  const client = createPublicClient({
    transport: http(rpcUrl, { timeout: 60_000 }),
    pollingInterval: 50,
    cacheTime: 0,
  });
  const rpc = <T>(method: string, params: unknown[] = []) =>
    client.request({ method: method as never, params: params as never }) as Promise<T>;

  async function send(to: string | undefined, data: Hex, from: string = DEV_ACCOUNTS[0], gas?: bigint): Promise<Hex> {
    return rpc<Hex>("eth_sendTransaction", [
      { from, ...(to ? { to } : {}), data, ...(gas ? { gas: toHex(gas) } : {}) },
    ]);
  }

  async function receipt(hash: Hex) {
    const r = await client.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 60_000 });
    if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return r;
  }

  async function call<T>(token: string, functionName: string, args: unknown[] = [], blockTag?: number): Promise<T> {
    const data = encodeFunctionData({ abi: bulkTokenAbi, functionName, args });
    const result = await rpc<Hex>("eth_call", [
      { to: token, data },
      blockTag === undefined ? "latest" : toHex(blockTag),
    ]);
    return decodeFunctionResult({ abi: bulkTokenAbi, functionName, data: result }) as T;
  }

  return {
    client,
    rpc,
    send,
    receipt,
    call,
    head: async () => Number(await rpc<Hex>("eth_blockNumber")),
    mine: (blocks = 1) => rpc("anvil_mine", [toHex(blocks)]),
    setAutomine: (on: boolean) => rpc("evm_setAutomine", [on]),

    /** Deploys a BulkToken; returns its address (lowercase) and the block it was created in. */
    async deploy(name = "Bulk", symbol = "BLK"): Promise<{ address: string; block: number }> {
      const data = encodeDeployData({ abi: bulkTokenAbi, bytecode: artifact.bytecode as Hex, args: [name, symbol] });
      const r = await receipt(await send(undefined, data));
      return { address: (r.contractAddress as string).toLowerCase(), block: Number(r.blockNumber) };
    },

    encode: (functionName: string, args: unknown[] = []) =>
      encodeFunctionData({ abi: bulkTokenAbi, functionName, args }),

    /**
     * `transfers` churn transfers among `holders` derived holders, `perTx` per transaction and
     * `txsPerBlock` transactions per block (automine off while sending; explicit gas, no estimates).
     */
    async churn(
      token: string,
      options: { seed: number; holders: number; transfers: number; perTx?: number; txsPerBlock?: number },
    ): Promise<void> {
      const perTx = options.perTx ?? 250;
      const txsPerBlock = options.txsPerBlock ?? 4;
      await rpc("evm_setBlockGasLimit", [toHex(1_000_000_000n)]);
      await rpc("evm_setAutomine", [false]);
      try {
        let last: Hex | undefined;
        let inBlock = 0;
        for (let start = 0; start < options.transfers; start += perTx) {
          const count = Math.min(perTx, options.transfers - start);
          const data = encodeFunctionData({
            abi: bulkTokenAbi,
            functionName: "churn",
            args: [BigInt(options.seed), BigInt(options.holders), BigInt(start), BigInt(count)],
          });
          last = await send(token, data, DEV_ACCOUNTS[0], BigInt(count) * 60_000n + 100_000n);
          inBlock += 1;
          if (inBlock === txsPerBlock) {
            await rpc("evm_mine");
            inBlock = 0;
          }
        }
        if (inBlock > 0) await rpc("evm_mine");
        if (last) await receipt(last);
      } finally {
        await rpc("evm_setAutomine", [true]);
      }
    },

    holders(token: string, seed: number, holders: number): Promise<string[]> {
      return Promise.all(
        Array.from({ length: holders }, (_, k) =>
          call<string>(token, "holderAt", [BigInt(seed), BigInt(k)]).then((a) => a.toLowerCase()),
        ),
      );
    },

    async balances(token: string, owners: string[], blockTag?: number): Promise<Map<string, bigint>> {
      const out = new Map<string, bigint>();
      for (let i = 0; i < owners.length; i += 500) {
        const part = owners.slice(i, i + 500);
        const values = await call<bigint[]>(token, "balancesOf", [part], blockTag);
        for (const [j, owner] of part.entries()) out.set(owner, values[j] as bigint);
      }
      return out;
    },

    /** Every Transfer log of `token` (tx hash, log index), straight from the node. */
    async transferLogs(token: string, fromBlock: number): Promise<{ txHash: string; logIndex: number }[]> {
      const logs = await rpc<{ transactionHash: string; logIndex: string }[]>("eth_getLogs", [
        {
          address: token,
          topics: ["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"],
          fromBlock: toHex(fromBlock),
          toBlock: "latest",
        },
      ]);
      return logs.map((l) => ({ txHash: l.transactionHash.toLowerCase(), logIndex: Number(l.logIndex) }));
    },
  };
}
