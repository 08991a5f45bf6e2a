// @kit/contracts: the ERC-3643 (T-REX) suite with ONCHAINID, deployed from the npm artifacts.
export * from "./abis";
export { type Anvil, anvilBinary, type StartAnvilOptions, startAnvil } from "./anvil";
export { artifactVersions } from "./artifacts";
export { type BulkOptions, type BulkResult, bulkMint, bulkTransfer, sendPacked } from "./bulk";
export {
  ANVIL_MNEMONIC,
  anvilAccount,
  type ChainClients,
  confirm,
  connect,
  isAnvil,
  send,
  TransactionFailedError,
} from "./clients";
export {
  boundModules,
  type ComplianceModules,
  type ComplianceSpec,
  type CreationFacts,
  type CreationPlan,
  type CreationStep,
  creationCall,
  describeCreationStep,
  nextCreationStep,
  predictTokenAddress,
  readCreationFacts,
  type TokenCreationSpec,
  type TokenSuiteContext,
} from "./creation";
export { DEMO_TOKENS, type DemoTokenSpec } from "./demo";
export { type DeploySuiteOptions, type DeployTokenOptions, deploySuite, deployToken } from "./deploy";
export {
  type Deployment,
  DeploymentFileError,
  type InvestorDeployment,
  parseDeployment,
  readDeployment,
  type TokenDeployment,
  writeDeployment,
} from "./deployment";
export { type EnsureDeploymentOptions, ensureDeployment, isOnChain } from "./ensure";
export {
  claimIdOf,
  hasValidClaim,
  isVerified,
  KYC_CLAIM_TOPIC,
  keyOf,
  type RegisteredInvestor,
  type RegisterInvestorOptions,
  registerInvestor,
  signClaim,
} from "./identities";
export {
  type DevChain,
  type DevChainAccounts,
  devChainAccounts,
  type StartDevChainOptions,
  startDevChain,
} from "./testing";
export { batchMint, batchTransfer, mint, pause, transfer, unpause } from "./tokens";
