// The token state reads (tokens/state-reads.ts) with who may see them: a token's registrations,
// history and frozen holders are for the users granted on it and admins; a wallet's frozen state for
// its owner (every token), an issuer (the tokens granted to them) and admins (every token).
import { and, eq } from "drizzle-orm";
import type { Config } from "../../config";
import { KitError } from "../../errors";
import type { Database } from "../../infra/db";
import { callerMay } from "../../rpc/access";
import type { SignedInCaller } from "../../rpc/context";
import { userProcedure } from "../../rpc/implement";
import { listWalletAddresses } from "../auth/wallets";
import { requireToken } from "../tokens/service";
import { listFrozenHolders, listRegistrations, listStateHistory, listWalletFrozenState } from "../tokens/state-reads";
import { type Actor, requireGrant } from "./grants";
import { tokenGrants } from "./schema";

interface AccessDeps {
  db: Database;
  config: Pick<Config, "chain">;
}

const actorOf = ({ user }: SignedInCaller): Actor => ({ id: user.id, role: user.role });

/** The token, if the caller may read its servicing state: admins any, issuers the ones granted to them. */
async function readableToken(deps: AccessDeps, caller: SignedInCaller, address: string) {
  const token = await requireToken(deps, address);
  if (caller.user.role !== "admin") await requireGrant(deps, actorOf(caller), token.address);
  return token;
}

/** Which tokens of `wallet` the caller may see: all (undefined), or only those listed. */
async function walletScope(deps: AccessDeps, caller: SignedInCaller, wallet: string): Promise<string[] | undefined> {
  const own = await listWalletAddresses(deps, caller.user.id);
  if (own.some((w) => w.toLowerCase() === wallet.toLowerCase())) return undefined;
  if (callerMay(caller, { tokens: ["operate"] }, { tokens: ["read"] })) {
    if (caller.user.role === "admin") return undefined;
    const rows = await deps.db
      .select({ token: tokenGrants.token })
      .from(tokenGrants)
      .where(and(eq(tokenGrants.chainId, deps.config.chain.id), eq(tokenGrants.userId, caller.user.id)));
    return rows.map((r) => r.token);
  }
  throw new KitError(
    "FORBIDDEN",
    `${wallet} is not one of your linked wallets; you may read the frozen state of your own wallets only.`,
  );
}

const t = userProcedure.tokens;

export const tokenStateRouter = {
  registrations: t.registrations.handler(async ({ context, input }) =>
    listRegistrations(context, await readableToken(context, context.caller, input.address), input),
  ),
  stateHistory: t.stateHistory.handler(async ({ context, input }) =>
    listStateHistory(context, await readableToken(context, context.caller, input.address), input),
  ),
  frozenHolders: t.frozenHolders.handler(async ({ context, input }) =>
    listFrozenHolders(context, await readableToken(context, context.caller, input.address), input),
  ),
};

export const walletStateRouter = {
  frozenState: userProcedure.wallets.frozenState.handler(async ({ context, input }) => {
    const onlyTokens = await walletScope(context, context.caller, input.address);
    return listWalletFrozenState(context, context.config.chain.id, { ...input, onlyTokens });
  }),
};
