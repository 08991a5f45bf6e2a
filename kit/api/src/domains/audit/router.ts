import { onReadReplica } from "../../infra/db";
import { publicProcedure, userProcedure } from "../../rpc/implement";
import { exportKeyFromSeed } from "./export-key";
import { listAuditEvents } from "./service";

// `audit: read` (admins; rpc/access.ts checks the contract's meta).
export const auditRouter = {
  // The replica (DATABASE_READ_URL): the trail is append-only history, read seconds behind at worst.
  list: userProcedure.audit.list.handler(({ context, input }) => listAuditEvents(onReadReplica(context), input)),
  exportKey: publicProcedure.audit.exportKey.handler(({ context }) => {
    const { algorithm, keyId, publicKeyPem } = exportKeyFromSeed(context.config.audit.exportKeySeed);
    return { algorithm, keyId, publicKeyPem };
  }),
};
