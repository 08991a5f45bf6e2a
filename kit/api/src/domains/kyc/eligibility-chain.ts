// The chain side of on-chain eligibility: addresses from the deployment file, keys from config,
// behind ChainSigner. Read and connected once per process, on first use (deps.local.eligibilityChain,
// made by createDeps).
import { connect, type Deployment, isAnvil, readDeployment } from "@kit/contracts";
import type { Address } from "viem";
import type { Config } from "../../config";
import { chainAccounts } from "../../infra/chain-accounts";
import { type ChainSigner, localSigner } from "../../infra/signer";

export interface EligibilityChain {
  clients: Awaited<ReturnType<typeof connect>>;
  chainId: number;
  idFactory: Address;
  claimIssuer: Address;
  /** The first token's registry: its storage is shared by every Kit token, so one entry covers all. */
  identityRegistry: Address;
  topic: bigint;
  /** Owner of the IdFactory, agent of the identity registry, management key of the identities it creates. */
  agent: ChainSigner;
  /** The signing key of Kit's trusted ClaimIssuer. */
  claimSigner: ChainSigner;
}

/** The deployment file and the eligibility chain, each loaded once; a failure is not kept (the next try loads again). */
export class EligibilityChainCache {
  private loadedDeployment: Promise<Deployment> | undefined;
  private loadedChain: Promise<EligibilityChain> | undefined;

  constructor(private readonly config: Pick<Config, "chain">) {}

  deployment(): Promise<Deployment> {
    if (!this.loadedDeployment) {
      const loading = readDeployment(this.config.chain.deploymentFile);
      this.loadedDeployment = loading;
      loading.catch(() => {
        if (this.loadedDeployment === loading) this.loadedDeployment = undefined;
      });
    }
    return this.loadedDeployment;
  }

  chain(): Promise<EligibilityChain> {
    if (!this.loadedChain) {
      const loading = this.connect();
      this.loadedChain = loading;
      loading.catch(() => {
        if (this.loadedChain === loading) this.loadedChain = undefined;
      });
    }
    return this.loadedChain;
  }

  /** Forgets both (viem's HTTP clients hold no connection to close); a later call loads again. */
  async close(): Promise<void> {
    this.loadedDeployment = undefined;
    this.loadedChain = undefined;
  }

  private async connect(): Promise<EligibilityChain> {
    const { config } = this;
    const deployment = await this.deployment();
    const rpcUrl = config.chain.rpcUrl;
    if (!rpcUrl) throw new Error("RPC_URL is not set");
    const clients = await connect(rpcUrl);
    if (clients.chain.id !== deployment.chainId) {
      throw new Error(`the node serves chain ${clients.chain.id}, the deployment file is for ${deployment.chainId}`);
    }
    const token = deployment.tokens[0];
    if (!token) throw new Error("the deployment file lists no token, so there is no identity registry");
    const accounts = chainAccounts(config, await isAnvil(clients.publicClient));
    return {
      clients,
      chainId: deployment.chainId,
      idFactory: deployment.onchainId.idFactory,
      claimIssuer: deployment.claimIssuer.address,
      identityRegistry: token.identityRegistry,
      topic: BigInt(deployment.claimTopics.kyc),
      agent: localSigner(accounts.agent, clients),
      claimSigner: localSigner(accounts.claimSigner, clients),
    };
  }
}
