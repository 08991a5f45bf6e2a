import { signedIn } from "../../rpc/access";
import { os } from "../../rpc/implement";
import { getMe, linkWallet, unlinkWallet } from "./service";
import { banUser, listUsers, revokeUserSessions, setUserRole, unbanUser } from "./users";

export const meRouter = {
  get: os.me.get.handler(({ context }) => getMe(context, signedIn(context.caller))),
  wallets: {
    link: os.me.wallets.link.handler(({ context, input }) =>
      linkWallet(context, signedIn(context.caller).user.id, input),
    ),
    unlink: os.me.wallets.unlink.handler(({ context, input }) =>
      unlinkWallet(context, signedIn(context.caller).user.id, input.address),
    ),
  },
};

export const usersRouter = {
  list: os.users.list.handler(({ context, input }) => listUsers(context, input)),
  setRole: os.users.setRole.handler(({ context, input }) =>
    setUserRole(context, signedIn(context.caller).user.id, input.id, input.role),
  ),
  ban: os.users.ban.handler(({ context, input }) =>
    banUser(context, signedIn(context.caller).user.id, input.id, input),
  ),
  unban: os.users.unban.handler(({ context, input }) => unbanUser(context, input.id)),
  revokeSessions: os.users.revokeSessions.handler(({ context, input }) => revokeUserSessions(context, input.id)),
};
