// Webhook endpoints (Standard Webhooks: signed with a `whsec_` secret shown once), their delivery
// log and the manual replay of a delivery. A user manages their own endpoints; system endpoints
// (scope "system": every event of their types, whoever it concerns) need `settings: manage_system`.
import { z } from "zod";
import { isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { NOTIFICATION_EVENT_TYPES } from "../../notification-catalogue";
import { base } from "../../rpc/base";
import {
  DEFAULT_OVERLAP_HOURS,
  DELIVERY_STATUSES,
  ENDPOINT_SCOPES,
  MAX_ENDPOINTS_PER_OWNER,
  MAX_OVERLAP_HOURS,
} from "./contract-values";

const endpointId = z.uuid("id must be a webhook endpoint id (a UUID)");

const url = z
  .string()
  .trim()
  .min(1, "url is required: an https URL on a public host")
  .max(2_048, "url: at most 2,048 characters")
  .meta({ description: "https URL on a public host (checked again, resolved, at every delivery)" });

const eventTypes = z
  .array(z.enum(NOTIFICATION_EVENT_TYPES, { error: `eventTypes: each one of ${NOTIFICATION_EVENT_TYPES.join(", ")}` }))
  .min(1, "eventTypes: choose at least one event type")
  .max(NOTIFICATION_EVENT_TYPES.length)
  .meta({ description: "The catalogue's event types this endpoint receives" });

const description = z.string().trim().max(500, "description: at most 500 characters");

const endpoint = z.object({
  id: z.uuid(),
  scope: z.enum(ENDPOINT_SCOPES),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  disabledAt: isoDateTime.nullable().meta({ description: "When Kit disabled it after a day of failures" }),
  failingSince: isoDateTime.nullable().meta({ description: "First failure since the last success" }),
  secretRotatedAt: isoDateTime.nullable(),
  previousSecretExpiresAt: isoDateTime
    .nullable()
    .meta({ description: "Until then, webhooks carry a signature by the previous secret too" }),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});

const withSecret = z.object({
  endpoint,
  secret: z.string().meta({ description: "whsec_… — shown this once; store it to verify signatures" }),
});

const attempt = z.object({
  attempt: z.number().int(),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number().int(),
  responseBody: z.string().nullable().meta({ description: "The first 1 KB of the answer" }),
  error: z.string().nullable(),
  at: isoDateTime,
});

const delivery = z.object({
  id: z.uuid(),
  endpointId: z.uuid(),
  eventId: z.string().meta({ description: "The `webhook-id` header" }),
  eventType: z.string(),
  occurredAt: isoDateTime,
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  nextAttemptAt: isoDateTime.nullable(),
  deliveredAt: isoDateTime.nullable(),
  lastError: z.string().nullable(),
  createdAt: isoDateTime,
  attemptLog: z.array(attempt),
});

const tags = ["webhooks"];
const read = { keyGrant: { webhooks: ["read" as const] } };
const write = { keyGrant: { webhooks: ["write" as const] } };

export const webhooksContract = {
  endpoints: {
    list: base
      .route({ method: "GET", path: "/webhooks/endpoints", tags, summary: "Your webhook endpoints, or the system's" })
      .meta({ ...read, errors: ["FORBIDDEN"] })
      .input(z.object({ scope: z.enum(ENDPOINT_SCOPES).default("user") }))
      .output(z.object({ items: z.array(endpoint) })),
    create: base
      .route({
        method: "POST",
        path: "/webhooks/endpoints",
        tags,
        summary: `Add a webhook endpoint (at most ${MAX_ENDPOINTS_PER_OWNER} each); answers its secret, once`,
        successStatus: 201,
      })
      .meta({ ...write, errors: ["FORBIDDEN", "CONFLICT"] })
      .input(
        z.object({
          url,
          eventTypes,
          description: description.optional(),
          enabled: z.boolean().optional(),
          scope: z.enum(ENDPOINT_SCOPES).default("user").meta({ description: "system: admins only" }),
        }),
      )
      .output(withSecret),
    get: base
      .route({
        method: "GET",
        path: "/webhooks/endpoints/{id}",
        tags,
        summary: "One webhook endpoint (never its secret)",
      })
      .meta({ ...read, errors: ["NOT_FOUND"] })
      .input(z.object({ id: endpointId }))
      .output(endpoint),
    update: base
      .route({
        method: "PATCH",
        path: "/webhooks/endpoints/{id}",
        tags,
        summary: "Change an endpoint's URL, event types, description, or enable it again",
      })
      .meta({ ...write, errors: ["NOT_FOUND"] })
      .input(
        z.object({
          id: endpointId,
          url: url.optional(),
          eventTypes: eventTypes.optional(),
          description: description.optional(),
          enabled: z.boolean().optional(),
        }),
      )
      .output(endpoint),
    remove: base
      .route({ method: "DELETE", path: "/webhooks/endpoints/{id}", tags, summary: "Delete an endpoint and its log" })
      .meta({ ...write, errors: ["NOT_FOUND"] })
      .input(z.object({ id: endpointId }))
      .output(z.object({ id: z.uuid() })),
    rotateSecret: base
      .route({
        method: "POST",
        path: "/webhooks/endpoints/{id}/rotate-secret",
        tags,
        summary: "A new secret, answered once; the old one keeps signing beside it for overlapHours",
      })
      .meta({ ...write, errors: ["NOT_FOUND", "CONFLICT"] })
      .input(
        z.object({
          id: endpointId,
          overlapHours: z
            .number()
            .int(`overlapHours: whole hours from 0 to ${MAX_OVERLAP_HOURS}`)
            .min(0, `overlapHours: whole hours from 0 to ${MAX_OVERLAP_HOURS}`)
            .max(MAX_OVERLAP_HOURS, `overlapHours: whole hours from 0 to ${MAX_OVERLAP_HOURS}`)
            .default(DEFAULT_OVERLAP_HOURS),
        }),
      )
      .output(withSecret),
  },
  deliveries: {
    list: base
      .route({
        method: "GET",
        path: "/webhooks/endpoints/{endpointId}/deliveries",
        tags,
        summary: "An endpoint's delivery log, newest first: each delivery with its attempts",
      })
      .meta({ ...read, errors: ["NOT_FOUND"] })
      .input(
        z.object({
          endpointId,
          status: z.enum(DELIVERY_STATUSES).optional(),
          limit: pageLimit(25).default(10),
          cursor: pageCursor(200),
        }),
      )
      .output(z.object({ items: z.array(delivery), nextCursor: z.string().nullable() })),
    replay: base
      .route({
        method: "POST",
        path: "/webhooks/deliveries/{id}/replay",
        tags,
        summary: "Send a delivery again (same webhook-id), with a fresh retry window",
        successStatus: 202,
      })
      .meta({ ...write, errors: ["NOT_FOUND", "CONFLICT", "PRECONDITION_FAILED"] })
      .input(z.object({ id: z.uuid("id must be a webhook delivery id (a UUID)") }))
      .output(delivery),
  },
};
