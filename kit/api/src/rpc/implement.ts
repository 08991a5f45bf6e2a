import { implement } from "@orpc/server";
import { contract } from "../contract";
import type { RequestContext } from "./context";

/** Server side of the contract: each domain's router implements its slice of this. */
export const os = implement(contract).$context<RequestContext>();
