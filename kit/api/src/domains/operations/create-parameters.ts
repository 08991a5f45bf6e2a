// What a creation operation records (token_operations.parameters) and how it turns back into the
// creation plan's inputs (@kit/contracts creation.ts). The suite it deploys against is fixed when
// the creation is requested, so a resumed sender deploys exactly what was asked and predicted.
import type { ComplianceSpec, CreationStep, TokenCreationSpec, TokenSuiteContext } from "@kit/contracts";
import type { Address } from "viem";
import type { OperationKind } from "./contract-values";

export interface CreateParameters {
  /** The token: name, symbol, decimals, salt (the ISIN) and compliance (numeric countries, smallest units). */
  spec: {
    name: string;
    symbol: string;
    decimals: number;
    salt: string;
    compliance: {
      allowCountries: number[];
      blockCountries: number[];
      maxBalance: string | null;
      supplyCap: string | null;
      transferApproval: boolean;
    };
  };
  /** The suite of the deployment file at request time (addresses lowercase, topic a decimal string). */
  suite: {
    factory: string;
    implementationAuthority: string;
    claimIssuer: string;
    claimTopic: string;
    identityRegistryStorage: string;
    agent: string;
    modules: Record<string, string> | null;
  };
  /** The kind and its terms, as written to the metadata document. */
  terms: Record<string, string | boolean>;
  /** The four-eyes policy to set once the token exists (null: the defaults). */
  policy: { approvalKinds: OperationKind[]; mintThreshold: string | null } | null;
}

export function suiteOf(p: CreateParameters): TokenSuiteContext {
  const s = p.suite;
  return {
    factory: s.factory as Address,
    implementationAuthority: s.implementationAuthority as Address,
    claimIssuer: s.claimIssuer as Address,
    claimTopic: BigInt(s.claimTopic),
    identityRegistryStorage: s.identityRegistryStorage as Address,
    agent: s.agent as Address,
    modules: s.modules ? (s.modules as unknown as TokenSuiteContext["modules"]) : undefined,
  };
}

export function specOf(p: CreateParameters): TokenCreationSpec {
  const c = p.spec.compliance;
  const compliance: ComplianceSpec = {
    allowCountries: c.allowCountries,
    blockCountries: c.blockCountries,
    maxBalance: c.maxBalance === null ? undefined : BigInt(c.maxBalance),
    supplyCap: c.supplyCap === null ? undefined : BigInt(c.supplyCap),
    transferApproval: c.transferApproval,
  };
  return { name: p.spec.name, symbol: p.spec.symbol, decimals: p.spec.decimals, salt: p.spec.salt, compliance };
}

/** A creation step as stored in `steps` (an OperationStep: flat strings). */
export function creationStepOf(step: Record<string, unknown>): CreationStep {
  return step.action === "unpause" ? { action: "unpause", token: step.token as Address } : { action: "deploy_suite" };
}
