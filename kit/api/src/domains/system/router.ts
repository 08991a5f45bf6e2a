import { publicProcedure, userProcedure } from "../../rpc/implement";
import { getIndexerOverview } from "../tokens/indexer-status";
import { getSystemInfo } from "./service";

export const systemRouter = {
  info: publicProcedure.system.info.handler(({ context }) => getSystemInfo(context)),
  indexer: userProcedure.system.indexer.handler(({ context }) => getIndexerOverview(context)),
};
