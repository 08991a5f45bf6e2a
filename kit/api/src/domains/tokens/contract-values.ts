// The fixed values of the tokens contract that its tables share. Plain constants, no import: the
// client reads the contract.
export const DISCOVERY_SOURCES = ["factory", "config"] as const;
export type DiscoverySource = (typeof DISCOVERY_SOURCES)[number];

/** What tokens.stateHistory lists: a token's own state events (identity events are the registry's). */
export const STATE_HISTORY_KINDS = [
  "paused",
  "unpaused",
  "address_frozen",
  "address_unfrozen",
  "tokens_frozen",
  "tokens_unfrozen",
] as const;
