// The audit trail, for admins: staff and security-relevant actions (role changes, bans, API keys,
// settings, manual rates, token grants, four-eyes decisions, retries), filtered and paged.
import { z } from "zod";
import { isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { AUDIT_ACTIONS, AUDIT_ACTOR_KINDS } from "./contract-values";

const auditEventView = z.object({
  id: z.string().meta({ description: "Position in the chain (a decimal integer)" }),
  at: z.string(),
  actorId: z.string().nullable().meta({ description: "The user who acted (an API key's owner); null: Kit itself" }),
  actorKind: z.enum(AUDIT_ACTOR_KINDS),
  action: z.enum(AUDIT_ACTIONS),
  subject: z.object({ type: z.string(), id: z.string() }),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
  ipAddress: z.string().nullable(),
  hash: z.string().meta({ description: "SHA-256 of the previous row's hash and this row's content" }),
});
export type AuditEventView = z.infer<typeof auditEventView>;

const listInput = z
  .object({
    actorId: z.string().trim().min(1).max(100).optional(),
    subjectType: z.string().trim().min(1).max(50).optional(),
    subjectId: z.string().trim().min(1).max(200).optional(),
    action: z.enum(AUDIT_ACTIONS).optional(),
    from: isoDateTime.optional().meta({ description: "At or after this time" }),
    to: isoDateTime.optional().meta({ description: "Before this time" }),
    cursor: pageCursor(100),
    limit: pageLimit(200).default(50),
  })
  .refine((input) => !input.subjectId || input.subjectType, {
    message: "subjectId needs subjectType (e.g. subjectType=user)",
    path: ["subjectType"],
  });

const auditRead = { audit: ["read" as const] };

const exportKeyView = z.object({
  algorithm: z.literal("Ed25519"),
  keyId: z.string().meta({ description: "First 16 hex digits of the SHA-256 of the raw public key" }),
  publicKeyPem: z.string().meta({ description: "The public key, SubjectPublicKeyInfo in PEM" }),
});

export const auditContract = {
  list: base
    .route({
      method: "GET",
      path: "/audit",
      tags: ["audit"],
      summary: "The audit trail, newest first (admins): filter by actor, subject, action and time",
    })
    .meta({ access: "user", permission: auditRead, keyGrant: auditRead })
    .input(listInput)
    .output(z.object({ items: z.array(auditEventView), nextCursor: z.string().nullable() })),
  exportKey: base
    .route({
      method: "GET",
      path: "/audit/export-key",
      tags: ["audit"],
      summary: "The public key that signs KYC dossiers (manifest.sig), to verify them offline",
    })
    .meta({ access: "public" })
    .output(exportKeyView),
};
