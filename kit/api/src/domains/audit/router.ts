import { userProcedure } from "../../rpc/implement";
import { listAuditEvents } from "./service";

// `audit: read` (admins; rpc/access.ts checks the contract's meta).
export const auditRouter = {
  list: userProcedure.audit.list.handler(({ context, input }) => listAuditEvents(context, input)),
};
