import { auditRouter } from "./domains/audit/router";
import { meRouter, usersRouter } from "./domains/auth/router";
import { fxRouter } from "./domains/exchange-rates/router";
import { kycRouter } from "./domains/kyc/router";
import { notificationsRouter } from "./domains/notifications/router";
import { batchesRouter } from "./domains/operation-batches/router";
import { createTokenRouter } from "./domains/operations/create-router";
import { grantsRouter, operationsRouter, transferCheckRouter } from "./domains/operations/router";
import { tokenStateRouter, walletStateRouter } from "./domains/operations/state-router";
import { settingsRouter } from "./domains/settings/router";
import { systemRouter } from "./domains/system/router";
import { portfolioRouter, tokensRouter, walletsRouter } from "./domains/tokens/router";
import { webhooksRouter } from "./domains/webhooks/router";
import { implementRouter } from "./rpc/implement";

export const router = implementRouter({
  system: systemRouter,
  me: meRouter,
  users: usersRouter,
  fx: fxRouter,
  kyc: kycRouter,
  settings: settingsRouter,
  notifications: notificationsRouter,
  tokens: {
    ...tokensRouter,
    ...transferCheckRouter,
    ...tokenStateRouter,
    ...createTokenRouter,
    operations: { ...operationsRouter, batches: batchesRouter },
    grants: grantsRouter,
  },
  wallets: { ...walletsRouter, ...walletStateRouter },
  portfolio: portfolioRouter,
  audit: auditRouter,
  webhooks: webhooksRouter,
});
