// The fixed values of the tokens contract that its tables share. Plain constants, no import: the
// client reads the contract.
export const DISCOVERY_SOURCES = ["factory", "config"] as const;
export type DiscoverySource = (typeof DISCOVERY_SOURCES)[number];
