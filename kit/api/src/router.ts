import { meRouter, usersRouter } from "./domains/auth/router";
import { systemRouter } from "./domains/system/router";
import { os } from "./rpc/implement";

export const router = os.router({
  system: systemRouter,
  me: meRouter,
  users: usersRouter,
});

export type Router = typeof router;
