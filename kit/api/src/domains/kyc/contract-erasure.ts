// The erasure part of the KYC contract: a user asks for their KYC data to be erased (under /me),
// an admin approves or refuses (docs/kyc.md, "Retention and erasure").
import { z } from "zod";
import { isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { id, text } from "./contract-shapes";
import { ERASURE_REQUEST_STATUSES } from "./contract-values";

const erasureRequest = z.object({
  id: z.string(),
  userId: z.string(),
  status: z.enum(ERASURE_REQUEST_STATUSES),
  requestedAt: isoDateTime,
  decidedAt: isoDateTime.nullable().meta({ description: "When it was approved, refused or withdrawn" }),
  decidedBy: z.string().nullable().meta({ description: "The admin who approved or refused it" }),
  refusalReason: z.string().nullable().meta({ description: "Why an admin refused it" }),
  erasedApplications: z
    .array(z.string())
    .nullable()
    .meta({ description: "The applications the approval erased (ids)" }),
});

const erasureRequestForAdmins = erasureRequest.extend({
  earliestErasureAt: isoDateTime.nullable().meta({
    description:
      "Open requests: the earliest date the retention policy allows erasure (at the earliest, while the relationship is active); null when it may be approved now",
  }),
});

const erasureRequestsInput = z.object({
  status: z.enum(ERASURE_REQUEST_STATUSES).default("open"),
  cursor: pageCursor(200),
  limit: pageLimit(100).default(50),
});

const erasureRequestsPage = z.object({
  items: z.array(erasureRequestForAdmins).meta({ description: "Oldest request first" }),
  nextCursor: z.string().nullable().meta({ description: "Null on the last page" }),
});

const requestIdInput = z.object({ requestId: id("erasure request") });

const submit = { kyc: ["submit" as const] };
const readOwn = { kyc: ["read" as const] };
const erase = { kyc: ["erase" as const] };

export const erasureContract = {
  request: base
    .route({
      method: "POST",
      path: "/me/erasure",
      tags: ["me"],
      summary: "Ask for your KYC data to be erased (an admin decides; asking again returns the open request)",
    })
    .meta({ permission: submit, keyGrant: submit })
    .output(erasureRequest),
  get: base
    .route({ method: "GET", path: "/me/erasure", tags: ["me"], summary: "Your latest erasure request" })
    .meta({ permission: submit, keyGrant: readOwn })
    .output(erasureRequest.nullable().meta({ description: "Null if you never asked" })),
  withdraw: base
    .route({ method: "DELETE", path: "/me/erasure", tags: ["me"], summary: "Withdraw your open erasure request" })
    .meta({ permission: submit, keyGrant: submit, errors: ["NOT_FOUND"] })
    .output(erasureRequest),
};

export const erasureAdminContract = {
  list: base
    .route({
      method: "GET",
      path: "/kyc/erasure-requests",
      tags: ["kyc erasure"],
      summary: "Erasure requests, oldest first (admins)",
    })
    .meta({ permission: erase, keyGrant: erase })
    .input(erasureRequestsInput)
    .output(erasureRequestsPage),
  approve: base
    .route({
      method: "POST",
      path: "/kyc/erasure-requests/{requestId}/approve",
      tags: ["kyc erasure"],
      summary: "Approve an erasure request: the user's KYC applications are erased (admins; not your own)",
    })
    .meta({
      permission: erase,
      keyGrant: erase,
      errors: ["NOT_FOUND", "CONFLICT", "FORBIDDEN", "PRECONDITION_FAILED"],
    })
    .input(requestIdInput)
    .output(erasureRequest),
  refuse: base
    .route({
      method: "POST",
      path: "/kyc/erasure-requests/{requestId}/refuse",
      tags: ["kyc erasure"],
      summary: "Refuse an erasure request, with a reason the user reads (admins; not your own)",
    })
    .meta({ permission: erase, keyGrant: erase, errors: ["NOT_FOUND", "CONFLICT", "FORBIDDEN"] })
    .input(
      requestIdInput.extend({
        reason: text(1_000).meta({ description: "Why (the user reads it): e.g. the retention duty and its end" }),
      }),
    )
    .output(erasureRequest),
};

export type ErasureRequest = z.infer<typeof erasureRequest>;
export type ErasureRequestForAdmins = z.infer<typeof erasureRequestForAdmins>;
export type ErasureRequestsInput = z.infer<typeof erasureRequestsInput>;
export type ErasureRequestsPage = z.infer<typeof erasureRequestsPage>;
