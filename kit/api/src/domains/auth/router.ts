import { userProcedure } from "../../rpc/implement";
import { auditActorOf } from "../audit/record";
import { getMe, linkWallet, unlinkWallet } from "./service";
import { banUser, listUsers, revokeUserSessions, setUserRole, unbanUser } from "./users";

export const meRouter = {
  get: userProcedure.me.get.handler(({ context }) => getMe(context, context.caller)),
  wallets: {
    link: userProcedure.me.wallets.link.handler(({ context, input }) => linkWallet(context, context.user.id, input)),
    unlink: userProcedure.me.wallets.unlink.handler(({ context, input }) =>
      unlinkWallet(context, context.user.id, input.address),
    ),
  },
};

export const usersRouter = {
  list: userProcedure.users.list.handler(({ context, input }) => listUsers(context, input)),
  setRole: userProcedure.users.setRole.handler(({ context, input }) =>
    setUserRole(context, auditActorOf(context), input.id, input.role),
  ),
  ban: userProcedure.users.ban.handler(({ context, input }) =>
    banUser(context, auditActorOf(context), input.id, input),
  ),
  unban: userProcedure.users.unban.handler(({ context, input }) => unbanUser(context, auditActorOf(context), input.id)),
  revokeSessions: userProcedure.users.revokeSessions.handler(({ context, input }) =>
    revokeUserSessions(context, auditActorOf(context), input.id),
  ),
};
