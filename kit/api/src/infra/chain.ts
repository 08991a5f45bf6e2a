import { createPublicClient, http, type PublicClient, webSocket } from "viem";
import type { ResolvedConfig } from "../config";

export type Chain = PublicClient;

export function createChain(config: Pick<ResolvedConfig, "chain">): Chain {
  const url = config.chain.rpcUrl;
  const transport = url.startsWith("ws")
    ? webSocket(url, { timeout: 5_000, retryCount: 1 })
    : http(url, { timeout: 5_000, retryCount: 1 });
  // Local nodes mine instantly; viem's 4 s default polling would make every wait slow.
  return createPublicClient({ transport, pollingInterval: 500 });
}
