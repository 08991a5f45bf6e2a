// Kit's own operations (eligibility) share the outbox but are nobody's to see or decide: a sanctions
// freeze on a token is not in its issuers' list, stream or approval inbox, reading or approving it
// by id is a 404, and the database refuses an operation that names neither a requester nor a cause.
import { describe, expect, test } from "bun:test";
import { callApi } from "../../../test/api";
import { grantedIssuer, startOperationsKit } from "../../../test/operations";
import { createUser } from "../../../test/users";
import { tokenOperations } from "./schema";
import { recordSystemOperation } from "./system";

const ops = await startOperationsKit();
const { kit, bond, dev } = ops;
const issuer = await grantedIssuer(ops, [bond]);
const wallet = (dev.accounts.others[0] as { address: string }).address.toLowerCase();

describe("system operations", () => {
  test("recorded pending (never awaiting approval), once per wallet while open, and invisible to issuers", async () => {
    const input = {
      chainId: dev.deployment.chainId,
      kind: "freeze" as const,
      token: bond.toLowerCase(),
      cause: "kyc_freeze:00000000-0000-4000-8000-000000000000",
      parameters: { wallet, userId: issuer.id },
    };
    const operation = await recordSystemOperation(kit.deps.db, input);
    expect(operation).toMatchObject({ status: "pending", requestedBy: null, needsApproval: false });
    // A job retried finds the open one rather than recording another.
    expect((await recordSystemOperation(kit.deps.db, input)).id).toBe(operation.id);

    const list = await callApi(kit.app, issuer, "GET", `/tokens/${bond}/operations`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((o: { id: string }) => o.id)).not.toContain(operation.id);
    expect((await callApi(kit.app, issuer, "GET", `/token-operations/${operation.id}`)).status).toBe(404);
    const approver = await grantedIssuer(ops, [bond]);
    const approve = await callApi(kit.app, approver, "POST", `/token-operations/${operation.id}/approve`, {
      reason: "looks fine",
    });
    expect(approve.status).toBe(404);
    const inbox = await callApi(kit.app, approver, "GET", "/me/token-operations/awaiting-approval");
    expect(inbox.body.items).toEqual([]);
  });

  test("the database refuses an operation with neither a requester nor a cause, or with both", async () => {
    const base = {
      chainId: dev.deployment.chainId,
      token: bond.toLowerCase(),
      kind: "pause" as const,
      parameters: {},
      requestHash: "x",
      status: "pending" as const,
    };
    const insert = async (values: typeof tokenOperations.$inferInsert) =>
      kit.deps.db.insert(tokenOperations).values(values).returning();
    await expect(insert(base)).rejects.toThrow();
    const user = await createUser(kit, "issuer");
    await expect(insert({ ...base, requestedBy: user.id, cause: "kyc_freeze:x" })).rejects.toThrow();
    // Only Kit's identity kinds go without a token.
    await expect(insert({ ...base, token: null, requestedBy: user.id })).rejects.toThrow();
    expect(await insert({ ...base, requestedBy: user.id })).toHaveLength(1);
  });
});
