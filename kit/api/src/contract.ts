// The whole API as a contract: the one entry the typed client imports (schemas only, no server code).
import { authContract } from "./domains/auth/contract";
import { systemContract } from "./domains/system/contract";

export const contract = {
  system: systemContract,
  ...authContract,
};

export type Contract = typeof contract;
