// The remote rate providers, by name. Each parses its own real format in its own file; the service
// decides which one serves and stores the quotes.
import type { Config } from "../../../config";
import type { FetchedRates } from "./common";
import { fetchEcbRates } from "./ecb";
import { fetchErApiRates } from "./er-api";

export type RemoteProvider = "ecb" | "er-api";

export const fetchers: Record<RemoteProvider, (config: Config["fx"]) => Promise<FetchedRates>> = {
  ecb: fetchEcbRates,
  "er-api": fetchErApiRates,
};
