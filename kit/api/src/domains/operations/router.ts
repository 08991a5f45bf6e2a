import type { UserContext } from "../../rpc/context";
import { userProcedure } from "../../rpc/implement";
import { auditActorOf } from "../audit/record";
import { requireToken } from "../tokens/service";
import type { OperationKind } from "./contract-values";
import { addGrant, listGrants, listMyGrants, removeGrant } from "./grants";
import { watchOperations } from "./live";
import {
  decidePolicyChange,
  listPolicyChanges,
  listPolicyChangesAwaitingMe,
  readPolicy,
  requestPolicyChange,
} from "./policy-changes";
import { decideOperation, getOperation, listAwaitingMyApproval, listOperations, requestOperation } from "./service";
import { checkTransfer, viewerOf } from "./transfer-check";

// Every procedure needs `tokens: operate` (issuers, admins; rpc/access.ts); the services then ask
// for a grant on the token itself (grants.ts).
const actorOf = (context: UserContext) => ({
  id: context.user.id,
  role: context.user.role,
  audit: auditActorOf(context),
});

type RequestHandlerArgs = {
  context: UserContext;
  input: Record<string, unknown> & { address: string; idempotencyKey?: string };
};
const request =
  (kind: OperationKind) =>
  ({ context, input }: RequestHandlerArgs) =>
    requestOperation(context, actorOf(context), {
      kind,
      input,
      headerKey: context.headers.get("idempotency-key"),
    });

const o = userProcedure.tokens.operations;

export const operationsRouter = {
  mint: o.mint.handler(request("mint")),
  burn: o.burn.handler(request("burn")),
  pause: o.pause.handler(request("pause")),
  unpause: o.unpause.handler(request("unpause")),
  freeze: o.freeze.handler(request("freeze")),
  unfreeze: o.unfreeze.handler(request("unfreeze")),
  freezePartial: o.freezePartial.handler(request("freeze_partial")),
  unfreezePartial: o.unfreezePartial.handler(request("unfreeze_partial")),
  forcedTransfer: o.forcedTransfer.handler(request("forced_transfer")),
  recover: o.recover.handler(request("recover")),
  list: o.list.handler(({ context, input }) => listOperations(context, actorOf(context), input)),
  awaitingMyApproval: o.awaitingMyApproval.handler(({ context, input }) =>
    listAwaitingMyApproval(context, actorOf(context), input),
  ),
  events: o.events.handler(({ context, input, signal }) =>
    watchOperations(context, actorOf(context), input.address, signal),
  ),
  get: o.get.handler(({ context, input }) => getOperation(context, actorOf(context), input.id)),
  approve: o.approve.handler(({ context, input }) =>
    decideOperation(context, actorOf(context), { ...input, decision: "approve" }),
  ),
  reject: o.reject.handler(({ context, input }) =>
    decideOperation(context, actorOf(context), { ...input, decision: "reject" }),
  ),
  policy: {
    get: o.policy.get.handler(async ({ context, input }) =>
      readPolicy(context, actorOf(context), await requireToken(context, input.address)),
    ),
    set: o.policy.set.handler(async ({ context, input }) =>
      requestPolicyChange(context, actorOf(context), await requireToken(context, input.address), input),
    ),
    changes: o.policy.changes.handler(async ({ context, input }) =>
      listPolicyChanges(context, actorOf(context), await requireToken(context, input.address), input),
    ),
    awaitingMyApproval: o.policy.awaitingMyApproval.handler(({ context, input }) =>
      listPolicyChangesAwaitingMe(context, actorOf(context), input),
    ),
    approve: o.policy.approve.handler(({ context, input }) =>
      decidePolicyChange(context, actorOf(context), { ...input, decision: "approve" }),
    ),
    reject: o.policy.reject.handler(({ context, input }) =>
      decidePolicyChange(context, actorOf(context), { ...input, decision: "reject" }),
    ),
  },
};

const g = userProcedure.tokens.grants;

export const grantsRouter = {
  mine: g.mine.handler(({ context, input }) => listMyGrants(context, actorOf(context), input)),
  list: g.list.handler(async ({ context, input }) => {
    const token = await requireToken(context, input.address);
    return listGrants(context, actorOf(context), token.address);
  }),
  add: g.add.handler(async ({ context, input }) => {
    const token = await requireToken(context, input.address);
    return addGrant(context, actorOf(context), token.address, input.userId);
  }),
  remove: g.remove.handler(async ({ context, input }) => {
    const token = await requireToken(context, input.address);
    return removeGrant(context, actorOf(context), token.address, input.userId);
  }),
};

// Any signed-in user (and API keys with tokens: read) may ask; what Kit knows of the parties is
// told to them, the token's issuers and KYC reviewers only (transfer-check.ts).
export const transferCheckRouter = {
  transferCheck: userProcedure.tokens.transferCheck.handler(async ({ context, input }) => {
    const token = await requireToken(context, input.address);
    const viewer = await viewerOf(context, context.caller, token.address);
    return checkTransfer(context, token, viewer, input);
  }),
};
