// The whole API as a contract: the one entry the typed client imports (schemas only, no server code).
import { authContract } from "./domains/auth/contract";
import { fxContract } from "./domains/exchange-rates/contract";
import { kycContract } from "./domains/kyc/contract";
import { grantsContract, operationsContract } from "./domains/operations/contract";
import { createTokenContract } from "./domains/operations/create-contract";
import { settingsContract } from "./domains/settings/contract";
import { systemContract } from "./domains/system/contract";
import { portfolioContract, tokensContract, walletsContract } from "./domains/tokens/contract";

export const contract = {
  system: systemContract,
  ...authContract,
  fx: fxContract,
  kyc: kycContract,
  settings: settingsContract,
  tokens: { ...tokensContract, ...createTokenContract, operations: operationsContract, grants: grantsContract },
  wallets: walletsContract,
  portfolio: portfolioContract,
};

export type Contract = typeof contract;
