// The whole API as a contract: the one entry the typed client imports (schemas only, no server code).
import { auditContract } from "./domains/audit/contract";
import { authContract } from "./domains/auth/contract";
import { fxContract } from "./domains/exchange-rates/contract";
import { kycContract } from "./domains/kyc/contract";
import { notificationsContract } from "./domains/notifications/contract";
import { batchesContract } from "./domains/operation-batches/contract";
import { grantsContract, operationsContract } from "./domains/operations/contract";
import { createTokenContract } from "./domains/operations/create-contract";
import { settingsContract } from "./domains/settings/contract";
import { systemContract } from "./domains/system/contract";
import { portfolioContract, tokensContract, walletsContract } from "./domains/tokens/contract";
import { tokenStateContract, walletStateContract } from "./domains/tokens/state-contract";
import { webhooksContract } from "./domains/webhooks/contract";

export const contract = {
  system: systemContract,
  ...authContract,
  fx: fxContract,
  kyc: kycContract,
  settings: settingsContract,
  notifications: notificationsContract,
  tokens: {
    ...tokensContract,
    ...tokenStateContract,
    ...createTokenContract,
    operations: { ...operationsContract, batches: batchesContract },
    grants: grantsContract,
  },
  wallets: { ...walletsContract, ...walletStateContract },
  portfolio: portfolioContract,
  audit: auditContract,
  webhooks: webhooksContract,
};

export type Contract = typeof contract;
