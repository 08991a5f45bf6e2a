import { systemRouter } from "./domains/system/router";
import { os } from "./rpc/implement";

export const router = os.router({
  system: systemRouter,
});

export type Router = typeof router;
