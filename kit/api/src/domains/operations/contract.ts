// The token operations API: one procedure per operation (each answers 202 with the operation
// record), reads, four-eyes decisions, the per-token approval policy and the per-token grants.
import { eventIterator } from "@orpc/contract";
import { z } from "zod";
import { evmAddress, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { tokenAmount } from "../tokens/contract";
import { policyContract } from "./contract-policy";
import { OPERATION_KINDS, OPERATION_STATUSES } from "./contract-values";

// One batchMint to 500 first-time recipients needs more gas than a 30M block holds (anvil's
// default; measured ~78k per recipient, 200 ≈ 15.7M: operation-batches/batches.test.ts). Larger
// lists go through a CSV batch, cut into mints of this size (docs/tokens.md).
const MAX_MINT_RECIPIENTS = 200;

export const idempotencyKey = z
  .string()
  .trim()
  .min(1, "idempotencyKey must not be empty")
  .max(200, "idempotencyKey: at most 200 characters")
  .regex(/^[\x21-\x7e]+$/, "idempotencyKey: printable ASCII without spaces")
  .optional()
  .meta({
    description:
      "Or the Idempotency-Key header: the same key and body again answer the same operation; the same key with another body is a 409",
  });

const reason = z.string().trim().min(1, "give a reason").max(1_000, "reason: at most 1000 characters");

const operationView = z.object({
  id: z.uuid(),
  chainId: z.number().int(),
  token: z.string(),
  kind: z.enum(OPERATION_KINDS),
  parameters: z.record(z.string(), z.unknown()).meta({
    description: "As validated: addresses lowercase, amounts in the token's smallest unit (integer strings)",
  }),
  status: z.enum(OPERATION_STATUSES),
  requestedBy: z.string(),
  needsApproval: z.boolean(),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  txHash: z.string().nullable(),
  nonce: z.number().int().nullable(),
  blockNumber: z.number().int().nullable(),
  error: z
    .object({ code: z.string(), message: z.string() })
    .nullable()
    .meta({ description: "Why it failed: a typed reason (e.g. receiver_not_verified) and the contract's words" }),
  createdAt: z.string(),
  updatedAt: z.string(),
  confirmedAt: z.string().nullable(),
});

const historyEntry = z.object({
  from: z.enum(OPERATION_STATUSES).nullable(),
  to: z.enum(OPERATION_STATUSES),
  actorId: z.string().nullable().meta({ description: "Null when Kit itself moved it (sender, confirmer)" }),
  reason: z.string().nullable(),
  txHash: z.string().nullable(),
  at: z.string(),
});

export const accepted = z.object({ operation: operationView });
const withKey = { address: evmAddress("address"), idempotencyKey };

const mintInput = z.object({
  ...withKey,
  recipients: z
    .array(z.object({ to: evmAddress("to"), amount: tokenAmount }))
    .min(1, "give at least one recipient")
    .max(MAX_MINT_RECIPIENTS, `at most ${MAX_MINT_RECIPIENTS} recipients in one mint`),
});
const burnInput = z.object({ ...withKey, from: evmAddress("from"), amount: tokenAmount });
const noArgumentInput = z.object({ ...withKey });
const walletInput = z.object({ ...withKey, wallet: evmAddress("wallet") });
const partialFreezeInput = z.object({ ...withKey, wallet: evmAddress("wallet"), amount: tokenAmount });
const recoverInput = z.object({
  ...withKey,
  lostWallet: evmAddress("lostWallet"),
  newWallet: evmAddress("newWallet"),
  reason: reason.optional().meta({ description: "Why (e.g. the investor's support ticket); kept in the history" }),
});
const forcedTransferInput = z.object({
  ...withKey,
  from: evmAddress("from"),
  to: evmAddress("to"),
  amount: tokenAmount,
});

const paging = { cursor: pageCursor(300), limit: pageLimit(100).default(50) };
const listOperationsInput = z.object({ address: evmAddress("address"), ...paging });
const operationPage = z.object({ items: z.array(operationView), nextCursor: z.string().nullable() });
const operationIdInput = z.object({ id: z.uuid("id must be an operation id (a UUID)") });
const decisionInput = z.object({ id: z.uuid("id must be an operation id (a UUID)"), reason });

const grantView = z.object({ userId: z.string(), grantedBy: z.string().nullable(), grantedAt: z.string() });
const myGrantView = z.object({
  token: z.string().meta({ description: "The token's address (EIP-55)" }),
  grantedBy: z.string().nullable(),
  grantedAt: z.string(),
});
const grantInput = z.object({ address: evmAddress("address"), userId: z.string().trim().min(1).max(100) });

export type OperationView = z.infer<typeof operationView>;

const tags = ["token operations"];
const operate = { permission: { tokens: ["operate" as const] }, keyGrant: { tokens: ["operate" as const] } };
const op = (path: string, summary: string) =>
  base
    .route({ method: "POST", path: `/tokens/{address}/operations/${path}`, tags, summary, successStatus: 202 })
    .meta({ ...operate, errors: ["NOT_FOUND", "CONFLICT", "PRECONDITION_FAILED"] });

export const operationsContract = {
  mint: op(
    "mint",
    "Mint to verified wallets: one recipient, or up to 200 in one batchMint transaction (more: a CSV batch)",
  )
    .input(mintInput)
    .output(accepted),
  burn: op("burn", "Burn from a holder (at most its balance)").input(burnInput).output(accepted),
  pause: op("pause", "Pause the token: holders can no longer transfer").input(noArgumentInput).output(accepted),
  unpause: op("unpause", "Unpause the token").input(noArgumentInput).output(accepted),
  freeze: op("freeze", "Freeze a wallet: it can neither send nor receive").input(walletInput).output(accepted),
  unfreeze: op("unfreeze", "Unfreeze a wallet").input(walletInput).output(accepted),
  freezePartial: op("freeze-partial", "Freeze part of a wallet's balance (at most what is not frozen yet)")
    .input(partialFreezeInput)
    .output(accepted),
  unfreezePartial: op("unfreeze-partial", "Unfreeze part of a wallet's frozen balance")
    .input(partialFreezeInput)
    .output(accepted),
  forcedTransfer: op("forced-transfer", "Move tokens between holders without their signature (four eyes by default)")
    .input(forcedTransferInput)
    .output(accepted),
  recover: op(
    "recover",
    "Recover a lost wallet: its balance, frozen amounts and registration move to another wallet its investor linked (four eyes by default)",
  )
    .input(recoverInput)
    .output(accepted),
  list: base
    .route({ method: "GET", path: "/tokens/{address}/operations", tags, summary: "A token's operations, newest first" })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(listOperationsInput)
    .output(operationPage),
  awaitingMyApproval: base
    .route({
      method: "GET",
      path: "/me/token-operations/awaiting-approval",
      tags,
      summary:
        "Operations waiting for a second person on the tokens you are granted on, that you did not request; oldest first",
    })
    .meta(operate)
    .input(z.object(paging))
    .output(operationPage),
  events: base
    .route({
      method: "GET",
      path: "/tokens/{address}/operations/events",
      tags,
      summary: "A token's operations as server-sent events, each time its status changes (from the moment you connect)",
    })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(z.object({ address: evmAddress("address") }))
    .output(eventIterator(operationView)),
  get: base
    .route({ method: "GET", path: "/token-operations/{id}", tags, summary: "One operation and its status history" })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(operationIdInput)
    .output(operationView.extend({ history: z.array(historyEntry) })),
  approve: base
    .route({
      method: "POST",
      path: "/token-operations/{id}/approve",
      tags,
      summary: "Approve an operation awaiting a second person (not your own), with a reason",
    })
    .meta({ ...operate, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(decisionInput)
    .output(accepted),
  reject: base
    .route({
      method: "POST",
      path: "/token-operations/{id}/reject",
      tags,
      summary: "Refuse an operation, with a reason",
    })
    .meta({ ...operate, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(decisionInput)
    .output(accepted),
  policy: policyContract,
};

export const grantsContract = {
  mine: base
    .route({
      method: "GET",
      path: "/me/token-grants",
      tags,
      summary: "The tokens you may service (your grants on this chain), by token address",
    })
    .meta(operate)
    .input(z.object(paging))
    .output(z.object({ items: z.array(myGrantView), nextCursor: z.string().nullable() })),
  list: base
    .route({ method: "GET", path: "/tokens/{address}/grants", tags, summary: "The users who may service a token" })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(z.object({ address: evmAddress("address") }))
    .output(z.object({ items: z.array(grantView) })),
  add: base
    .route({
      method: "POST",
      path: "/tokens/{address}/grants",
      tags,
      summary: "Let an issuer service a token (admins, or an issuer already granted on it)",
    })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(grantInput)
    .output(grantView),
  remove: base
    .route({ method: "DELETE", path: "/tokens/{address}/grants/{userId}", tags, summary: "Take a user's grant away" })
    .meta({ ...operate, errors: ["NOT_FOUND"] })
    .input(grantInput)
    .output(z.object({ removed: z.boolean() })),
};
