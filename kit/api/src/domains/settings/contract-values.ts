// The fixed values of the settings contract, shared with its tables. Plain constants, no import:
// the client reads the contract.
export const THEMES = ["light", "dark", "system"] as const;
export const NOTIFICATION_EVENTS = ["kyc_status", "token_transfer", "fx_alert"] as const;
export const NOTIFICATION_CHANNELS = ["email", "push", "webhook"] as const;
