// Where the compiled contracts come from: the npm packages' hardhat artifacts (ABI + bytecode), no solc.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Hex } from "viem";

const require = createRequire(import.meta.url);

/** The artifact files this package uses, by the name the rest of the code calls them. */
export const ARTIFACTS = {
  Token: ["@tokenysolutions/t-rex", "contracts/token/Token.sol/Token.json"],
  IdentityRegistry: [
    "@tokenysolutions/t-rex",
    "contracts/registry/implementation/IdentityRegistry.sol/IdentityRegistry.json",
  ],
  IdentityRegistryStorage: [
    "@tokenysolutions/t-rex",
    "contracts/registry/implementation/IdentityRegistryStorage.sol/IdentityRegistryStorage.json",
  ],
  ClaimTopicsRegistry: [
    "@tokenysolutions/t-rex",
    "contracts/registry/implementation/ClaimTopicsRegistry.sol/ClaimTopicsRegistry.json",
  ],
  TrustedIssuersRegistry: [
    "@tokenysolutions/t-rex",
    "contracts/registry/implementation/TrustedIssuersRegistry.sol/TrustedIssuersRegistry.json",
  ],
  ModularCompliance: [
    "@tokenysolutions/t-rex",
    "contracts/compliance/modular/ModularCompliance.sol/ModularCompliance.json",
  ],
  TREXImplementationAuthority: [
    "@tokenysolutions/t-rex",
    "contracts/proxy/authority/TREXImplementationAuthority.sol/TREXImplementationAuthority.json",
  ],
  TREXFactory: ["@tokenysolutions/t-rex", "contracts/factory/TREXFactory.sol/TREXFactory.json"],
  // Compliance modules: one instance (behind a ModuleProxy) serves every token's compliance, its
  // state kept per compliance contract; tokens.create binds and configures them per token.
  CountryAllowModule: [
    "@tokenysolutions/t-rex",
    "contracts/compliance/modular/modules/CountryAllowModule.sol/CountryAllowModule.json",
  ],
  CountryRestrictModule: [
    "@tokenysolutions/t-rex",
    "contracts/compliance/modular/modules/CountryRestrictModule.sol/CountryRestrictModule.json",
  ],
  MaxBalanceModule: [
    "@tokenysolutions/t-rex",
    "contracts/compliance/modular/modules/MaxBalanceModule.sol/MaxBalanceModule.json",
  ],
  SupplyLimitModule: [
    "@tokenysolutions/t-rex",
    "contracts/compliance/modular/modules/SupplyLimitModule.sol/SupplyLimitModule.json",
  ],
  ConditionalTransferModule: [
    "@tokenysolutions/t-rex",
    "contracts/compliance/modular/modules/ConditionalTransferModule.sol/ConditionalTransferModule.json",
  ],
  ModuleProxy: ["@tokenysolutions/t-rex", "contracts/compliance/modular/modules/ModuleProxy.sol/ModuleProxy.json"],
  // The factory's CREATE2 proxies: their creation code predicts a new token's address (creation.ts).
  TokenProxy: ["@tokenysolutions/t-rex", "contracts/proxy/TokenProxy.sol/TokenProxy.json"],
  IdentityRegistryProxy: [
    "@tokenysolutions/t-rex",
    "contracts/proxy/IdentityRegistryProxy.sol/IdentityRegistryProxy.json",
  ],
  ModularComplianceProxy: [
    "@tokenysolutions/t-rex",
    "contracts/proxy/ModularComplianceProxy.sol/ModularComplianceProxy.json",
  ],
  TrustedIssuersRegistryProxy: [
    "@tokenysolutions/t-rex",
    "contracts/proxy/TrustedIssuersRegistryProxy.sol/TrustedIssuersRegistryProxy.json",
  ],
  ClaimTopicsRegistryProxy: [
    "@tokenysolutions/t-rex",
    "contracts/proxy/ClaimTopicsRegistryProxy.sol/ClaimTopicsRegistryProxy.json",
  ],
  // All of ONCHAINID from its own package: t-rex bundles a different Identity build and no IdFactory.
  Identity: ["@onchain-id/solidity", "contracts/Identity.sol/Identity.json"],
  ImplementationAuthority: [
    "@onchain-id/solidity",
    "contracts/proxy/ImplementationAuthority.sol/ImplementationAuthority.json",
  ],
  IdFactory: ["@onchain-id/solidity", "contracts/factory/IdFactory.sol/IdFactory.json"],
  ClaimIssuer: ["@onchain-id/solidity", "contracts/ClaimIssuer.sol/ClaimIssuer.json"],
} as const satisfies Record<string, readonly [string, string]>;

export type ArtifactName = keyof typeof ARTIFACTS;

export function artifactPath(name: ArtifactName): string {
  const [pkg, file] = ARTIFACTS[name];
  return require.resolve(`${pkg}/artifacts/${file}`);
}

const bytecodes = new Map<ArtifactName, Hex>();

/** Creation bytecode, read on first use (the files are large and only deployments need them). */
export function bytecode(name: ArtifactName): Hex {
  let code = bytecodes.get(name);
  if (!code) {
    code = (JSON.parse(readFileSync(artifactPath(name), "utf8")) as { bytecode: Hex }).bytecode;
    bytecodes.set(name, code);
  }
  return code;
}

/** The versions of the compiled suites, as installed (part of the test snapshot's cache key). */
export function artifactVersions(): Record<string, string> {
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  return {
    "@tokenysolutions/t-rex": version("@tokenysolutions/t-rex"),
    "@onchain-id/solidity": version("@onchain-id/solidity"),
  };
}
