import { KitError } from "../../errors";
import { publicProcedure, userProcedure } from "../../rpc/implement";
import { auditActorOf } from "../audit/record";
import { getHistory } from "./history";
import { readRefreshOutcome } from "./refresh-outcome";
import { convert, getLatest, getRate, listCurrencies, queueRefresh, setManualRate } from "./service";

function noRate(pair: string): KitError {
  const [base] = pair.split("/");
  return new KitError(
    "NOT_FOUND",
    `No provider has a rate for ${pair} yet; GET /api/fx/rates/${base} lists what Kit has for ${base}.`,
  );
}

export const fxRouter = {
  currencies: publicProcedure.fx.currencies.handler(({ context }) => listCurrencies(context)),
  latest: userProcedure.fx.latest.handler(async ({ context, input }) => {
    const latest = await getLatest(context, input);
    if (!latest) throw new KitError("NOT_FOUND", `No provider has rates for ${input.base} yet.`);
    return latest;
  }),
  rate: userProcedure.fx.rate.handler(async ({ context, input }) => {
    const rate = await getRate(context, input);
    if (!rate) throw noRate(`${input.base}/${input.quote}`);
    return rate;
  }),
  convert: userProcedure.fx.convert.handler(async ({ context, input }) => {
    const result = await convert(context, input);
    if (!result) throw noRate(`${input.from}/${input.to}`);
    return result;
  }),
  history: userProcedure.fx.history.handler(({ context, input }) => getHistory(context, input)),
  refresh: userProcedure.fx.refresh.handler(({ context }) => queueRefresh(context)),
  refreshStatus: userProcedure.fx.refreshStatus.handler(({ context }) => readRefreshOutcome(context)),
  setManual: userProcedure.fx.setManual.handler(({ context, input }) =>
    setManualRate(context, auditActorOf(context), input),
  ),
};
