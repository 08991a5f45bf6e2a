// The webhooks domain's plain values, shared by its contract (the client package reads it) and its
// server code.

export const DELIVERY_STATUSES = ["pending", "delivered", "failed", "dead"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const ENDPOINT_SCOPES = ["user", "system"] as const;
export type EndpointScope = (typeof ENDPOINT_SCOPES)[number];

/** How long the old secret keeps signing after a rotation, by default and at most. */
export const DEFAULT_OVERLAP_HOURS = 24;
export const MAX_OVERLAP_HOURS = 7 * 24;

export const MAX_ENDPOINTS_PER_OWNER = 10;
export const MAX_SYSTEM_ENDPOINTS = 20;
