import { os } from "../../rpc/implement";
import { getSystemInfo } from "./service";

export const systemRouter = {
  info: os.system.info.handler(({ context }) => getSystemInfo(context)),
};
