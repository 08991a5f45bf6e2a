import { publicProcedure, userProcedure } from "../../rpc/implement";
import { exportKeyFromSeed } from "./export-key";
import { listAuditEvents } from "./service";

// `audit: read` (admins; rpc/access.ts checks the contract's meta).
export const auditRouter = {
  list: userProcedure.audit.list.handler(({ context, input }) => listAuditEvents(context, input)),
  exportKey: publicProcedure.audit.exportKey.handler(({ context }) => {
    const { algorithm, keyId, publicKeyPem } = exportKeyFromSeed(context.config.audit.exportKeySeed);
    return { algorithm, keyId, publicKeyPem };
  }),
};
