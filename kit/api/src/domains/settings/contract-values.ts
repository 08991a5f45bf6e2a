// The fixed values of the settings contract, shared with its tables. Plain constants, no import:
// the client reads the contract.
export const THEMES = ["light", "dark", "system"] as const;
/** The notification channels a user switches per event type (webhooks filter per endpoint instead). */
export const SWITCHED_CHANNELS = ["in_app", "email"] as const;
export type SwitchedChannel = (typeof SWITCHED_CHANNELS)[number];
