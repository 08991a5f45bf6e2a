// The keys Kit acts with on chain: the agent (owner of Kit's factories, agent of its tokens'
// identity registries) and the claim signer (the signing key of Kit's trusted ClaimIssuer).
import { anvilAccount } from "@kit/contracts";
import type { LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { type Config, ConfigError } from "../config";

export interface ChainAccounts {
  agent: LocalAccount;
  claimSigner: LocalAccount;
}

/**
 * From CHAIN_AGENT_PRIVATE_KEY and CLAIM_SIGNER_PRIVATE_KEY; on anvil, a key left unset is anvil's
 * well-known dev account (0 and 1). Anywhere else both must be set: a ConfigError says so. In
 * production config.ts requires both, so `onAnvil` (the node's own word) never picks a dev key there.
 */
export function chainAccounts(config: Pick<Config, "chain">, onAnvil: boolean): ChainAccounts {
  const { agentPrivateKey, claimSignerPrivateKey } = config.chain;
  if (!onAnvil) {
    const missing = [
      agentPrivateKey ? undefined : "CHAIN_AGENT_PRIVATE_KEY",
      claimSignerPrivateKey ? undefined : "CLAIM_SIGNER_PRIVATE_KEY",
    ].filter((name): name is string => name !== undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        missing.map(
          (name) => `${name}: must be set on a chain other than anvil (anvil's dev keys are used only there)`,
        ),
      );
    }
  }
  return {
    agent: agentPrivateKey ? privateKeyToAccount(agentPrivateKey) : anvilAccount(0),
    claimSigner: claimSignerPrivateKey ? privateKeyToAccount(claimSignerPrivateKey) : anvilAccount(1),
  };
}

/** anvil's accounts 2–5: the demo investors, on anvil only (they need gas and their keys). */
export function demoInvestors(): LocalAccount[] {
  return [2, 3, 4, 5].map(anvilAccount);
}
