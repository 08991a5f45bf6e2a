import { os } from "../../rpc/implement";
import { getIndexerOverview } from "../tokens/indexer-status";
import { getSystemInfo } from "./service";

export const systemRouter = {
  info: os.system.info.handler(({ context }) => getSystemInfo(context)),
  indexer: os.system.indexer.handler(({ context }) => getIndexerOverview(context)),
};
