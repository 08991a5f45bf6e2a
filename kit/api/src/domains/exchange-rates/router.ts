import { ORPCError } from "@orpc/server";
import { os } from "../../rpc/implement";
import { getHistory } from "./history";
import { convert, getLatest, getRate, listCurrencies, queueRefresh, setManualRate } from "./service";

function noRate(pair: string): ORPCError<"NOT_FOUND", undefined> {
  const [base] = pair.split("/");
  return new ORPCError("NOT_FOUND", {
    defined: true,
    message: `No provider has a rate for ${pair} yet; GET /api/fx/rates/${base} lists what Kit has for ${base}.`,
  });
}

export const fxRouter = {
  currencies: os.fx.currencies.handler(({ context }) => listCurrencies(context)),
  latest: os.fx.latest.handler(async ({ context, input }) => {
    const latest = await getLatest(context, input);
    if (!latest) {
      throw new ORPCError("NOT_FOUND", { defined: true, message: `No provider has rates for ${input.base} yet.` });
    }
    return latest;
  }),
  rate: os.fx.rate.handler(async ({ context, input }) => {
    const rate = await getRate(context, input);
    if (!rate) throw noRate(`${input.base}/${input.quote}`);
    return rate;
  }),
  convert: os.fx.convert.handler(async ({ context, input }) => {
    const result = await convert(context, input);
    if (!result) throw noRate(`${input.from}/${input.to}`);
    return result;
  }),
  history: os.fx.history.handler(({ context, input }) => getHistory(context, input)),
  refresh: os.fx.refresh.handler(({ context }) => queueRefresh(context)),
  setManual: os.fx.setManual.handler(({ context, input }) => {
    // The access middleware refused anonymous callers already (permission fx: manage).
    if (context.caller.kind !== "user") throw new ORPCError("UNAUTHORIZED", { defined: true });
    return setManualRate(context, context.caller.user.id, input);
  }),
};
