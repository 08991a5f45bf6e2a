import { KitError } from "../../errors";
import { onReadReplica } from "../../infra/db";
import { callerMay } from "../../rpc/access";
import { publicProcedure, userProcedure } from "../../rpc/implement";
import { listWalletAddresses } from "../auth/wallets";
import { watchTokenTransfers } from "./live";
import { createLogoUpload, getTokenMetadata, updateTokenMetadata } from "./metadata";
import { requireTokenWriter } from "./metadata-writers";
import { getPortfolio } from "./portfolio";
import { getToken, listHolders, listTokens, listTokenTransfers, listWalletTransfers, requireToken } from "./service";

// Reads: token list, token and metadata are public (what the chain shows anyway, plus what issuers
// publish); holders and transfers need a signed-in user (bounded per user by the rate limiter).
// Lists of what the indexer wrote read the replica (DATABASE_READ_URL): the index already trails
// the chain, and a few seconds more change nothing a caller did. A token and its metadata read the
// primary: an issuer reads back the metadata just written.
// Writes: the `tokens: manage` grant (issuers, admins), then for issuers an on-chain check that
// one of their linked wallets is the token's owner or an agent (metadata.ts).
export const tokensRouter = {
  list: publicProcedure.tokens.list.handler(({ context, input }) => listTokens(onReadReplica(context), input)),
  get: publicProcedure.tokens.get.handler(({ context, input }) => getToken(context, input.address)),
  holders: userProcedure.tokens.holders.handler(({ context, input }) => listHolders(onReadReplica(context), input)),
  transfers: userProcedure.tokens.transfers.handler(({ context, input }) =>
    listTokenTransfers(onReadReplica(context), input),
  ),
  events: userProcedure.tokens.events.handler(({ context, input, signal }) =>
    watchTokenTransfers(context, context.user.id, input.address, signal),
  ),
  metadata: {
    get: publicProcedure.tokens.metadata.get.handler(async ({ context, input }) => {
      const token = await requireToken(context, input.address);
      return getTokenMetadata(context, token.address);
    }),
    update: userProcedure.tokens.metadata.update.handler(async ({ context, input }) => {
      const { user } = context;
      const token = await requireToken(context, input.address);
      await requireTokenWriter(context, user, token.address as `0x${string}`);
      return updateTokenMetadata(context, user.id, input);
    }),
    createLogoUpload: userProcedure.tokens.metadata.createLogoUpload.handler(async ({ context, input }) => {
      const { user } = context;
      const token = await requireToken(context, input.address);
      await requireTokenWriter(context, user, token.address as `0x${string}`);
      return createLogoUpload(context, input);
    }),
  },
};

export const walletsRouter = {
  // Investors (and reviewers) see their own wallets; issuers and admins any wallet (with an API
  // key, only if the key carries tokens: manage too).
  transfers: userProcedure.wallets.transfers.handler(async ({ context, input }) => {
    if (!callerMay(context.caller, { tokens: ["manage"] }, { tokens: ["manage"] })) {
      const { user } = context;
      const own = await listWalletAddresses(context, user.id);
      if (!own.some((w) => w.toLowerCase() === input.address.toLowerCase())) {
        throw new KitError(
          "FORBIDDEN",
          `${input.address} is not one of your linked wallets; you may list the transfers of your own wallets only.`,
        );
      }
    }
    return listWalletTransfers(onReadReplica(context), input);
  }),
};

export const portfolioRouter = {
  get: userProcedure.portfolio.get.handler(({ context }) => getPortfolio(context, context.user.id)),
};
