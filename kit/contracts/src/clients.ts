// viem clients for one RPC endpoint, and a send that fails loudly on a reverted transaction.
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hash,
  http,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";

type KitWalletClient = WalletClient<Transport, Chain, Account>;

export interface ChainClients {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  wallet(account: Account): KitWalletClient;
}

/** anvil's default mnemonic: its ten funded dev accounts (never use on a real network). */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

export function anvilAccount(index: number): LocalAccount {
  return mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index });
}

export async function connect(rpcUrl: string): Promise<ChainClients> {
  const transport = http(rpcUrl, { timeout: 30_000, retryCount: 2 });
  const probe = createPublicClient({ transport });
  const id = await probe.getChainId();
  const chain = defineChain({
    id,
    name: `chain ${id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  // Local nodes mine instantly; viem's 4 s default polling would make every receipt wait slow.
  const pollingInterval = (await isAnvil(probe)) ? 20 : 1_000;
  const publicClient = createPublicClient({ chain, transport, pollingInterval, cacheTime: 0 });
  return {
    chain,
    publicClient,
    wallet: (account) => createWalletClient({ account, chain, transport, pollingInterval, cacheTime: 0 }),
  };
}

export async function isAnvil(client: Pick<PublicClient, "request">): Promise<boolean> {
  try {
    const version = (await client.request({ method: "web3_clientVersion" } as never)) as string;
    return version.toLowerCase().startsWith("anvil");
  } catch {
    return false;
  }
}

export class TransactionFailedError extends Error {
  constructor(
    readonly what: string,
    readonly receipt: TransactionReceipt,
  ) {
    super(`${what}: transaction ${receipt.transactionHash} reverted in block ${receipt.blockNumber}`);
    this.name = "TransactionFailedError";
  }
}

/** Waits for the receipt and throws when the transaction reverted (viem only rejects on simulation). */
export async function confirm(clients: Pick<ChainClients, "publicClient">, hash: Hash, what: string) {
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash, timeout: 120_000 });
  if (receipt.status !== "success") throw new TransactionFailedError(what, receipt);
  return receipt;
}

/** writeContract (simulated first, so a revert names its reason) + confirmed receipt. */
export async function send<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
  args extends ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>,
>(
  clients: ChainClients,
  account: Account,
  call: { address: Address; abi: abi; functionName: functionName; args: args },
): Promise<TransactionReceipt> {
  const wallet = clients.wallet(account);
  const { request } = await clients.publicClient.simulateContract({ ...call, account } as never);
  const hash = await wallet.writeContract(request as never);
  return confirm(clients, hash, `${call.functionName} on ${call.address}`);
}
