// The local stack's EVM node: @kit/contracts' anvil, on a port of the caller's choosing, its chain
// optionally kept across restarts in a state file.
import { type Anvil, startAnvil } from "@kit/contracts";

export type LocalAnvil = Anvil;

export function startLocalAnvil(options: {
  port: number;
  /** Keep the chain across restarts in this file (loaded at start, dumped every 30 s and at exit). */
  stateFile?: string;
  chainId?: number;
}): Promise<LocalAnvil> {
  return startAnvil({
    port: options.port,
    chainId: options.chainId,
    ownProcessGroup: true,
    args: options.stateFile ? ["--state", options.stateFile, "--state-interval", "30"] : [],
  });
}
