// The fixed values of the exchange-rate contract, shared with its tables and with the settings that
// order the providers. Plain constants, no import: the client reads the contract.
export const FX_PROVIDERS = ["ecb", "er-api", "manual"] as const;
export type FxProvider = (typeof FX_PROVIDERS)[number];
