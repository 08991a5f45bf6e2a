// Four eyes: a forced transfer (by default) or a mint above the token's threshold waits for a
// second of the token's issuers; the requester cannot approve it; approvals and refusals carry a
// reason and are recorded; nothing is sent before approval.
import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { callApi } from "../../../test/api";
import {
  balanceOf,
  grantedIssuer,
  operationRow,
  startOperationsKit,
  startOperationsWorker,
  waitForOperation,
} from "../../../test/operations";
import { createUser, type TestUser } from "../../../test/users";
import { PG_CHECK_VIOLATION, postgresError } from "../../infra/db";

const ops = await startOperationsKit();
const { kit, dev, equity } = ops;
await startOperationsWorker(kit);
const [requester, approver] = [await grantedIssuer(ops, [equity]), await grantedIssuer(ops, [equity])];
const [alice, bob] = dev.accounts.investors.map((a) => a.address);
if (!alice || !bob) throw new Error("dev accounts missing");
const agentNonce = () => dev.clients.publicClient.getTransactionCount({ address: dev.accounts.deployer.address });

describe("a forced transfer needs a second person by default", () => {
  test("it waits, the requester cannot approve it, another issuer approves with a reason, then it is sent", async () => {
    const [fromBefore, toBefore, nonce] = [
      await balanceOf(dev, equity, alice),
      await balanceOf(dev, equity, bob),
      await agentNonce(),
    ];
    const requested = await callApi(kit.app, requester, "POST", `/tokens/${equity}/operations/forced-transfer`, {
      from: alice,
      to: bob,
      amount: "10",
    });
    expect(requested.status).toBe(202);
    expect(requested.body.operation).toMatchObject({ status: "awaiting_approval", needsApproval: true });
    const id = requested.body.operation.id;

    const own = await callApi(kit.app, requester, "POST", `/token-operations/${id}/approve`, { reason: "looks right" });
    expect(own.status).toBe(403);
    expect(own.body.message).toContain("another of the token's issuers must approve it");
    const noReason = await callApi(kit.app, approver, "POST", `/token-operations/${id}/approve`, { reason: " " });
    expect(noReason.status).toBe(400);
    const ungranted = await createUser(kit, "issuer");
    expect((await callApi(kit.app, ungranted, "POST", `/token-operations/${id}/approve`, { reason: "x" })).status).toBe(
      403,
    );
    expect(await agentNonce()).toBe(nonce); // nothing sent while it waits

    const approved = await callApi(kit.app, approver, "POST", `/token-operations/${id}/approve`, {
      reason: "court order 2026-114",
    });
    expect(approved.status).toBe(200);
    expect(approved.body.operation).toMatchObject({ decidedBy: approver.id, decisionReason: "court order 2026-114" });
    await waitForOperation(kit, id);
    expect(await balanceOf(dev, equity, alice)).toBe(fromBefore - 10n);
    expect(await balanceOf(dev, equity, bob)).toBe(toBefore + 10n);

    const { body } = await callApi(kit.app, approver, "GET", `/token-operations/${id}`);
    expect(body.history.slice(0, 2)).toMatchObject([
      { from: null, to: "awaiting_approval", actorId: requester.id },
      { from: "awaiting_approval", to: "pending", actorId: approver.id, reason: "court order 2026-114" },
    ]);
    const twice = await callApi(kit.app, approver, "POST", `/token-operations/${id}/approve`, { reason: "again" });
    expect(twice.status).toBe(409);
  });

  test("a refusal is recorded with its reason and nothing is ever sent", async () => {
    const nonce = await agentNonce();
    const requested = await callApi(kit.app, requester, "POST", `/tokens/${equity}/operations/forced-transfer`, {
      from: alice,
      to: bob,
      amount: "1",
    });
    const id = requested.body.operation.id;
    const refused = await callApi(kit.app, approver, "POST", `/token-operations/${id}/reject`, { reason: "no order" });
    expect(refused.body.operation).toMatchObject({
      status: "rejected",
      decidedBy: approver.id,
      decisionReason: "no order",
    });
    const late = await callApi(kit.app, approver, "POST", `/token-operations/${id}/approve`, {
      reason: "changed mind",
    });
    expect(late.status).toBe(409);
    expect((await operationRow(kit, id))?.txHash).toBeNull();
    expect(await agentNonce()).toBe(nonce);
  });
});

describe("what waits for me, and the tokens I may service", () => {
  test("another granted issuer sees a waiting operation, oldest first and paged; the requester and others do not", async () => {
    const request = async (amount: string) => {
      const { body } = await callApi(kit.app, requester, "POST", `/tokens/${equity}/operations/forced-transfer`, {
        from: alice,
        to: bob,
        amount,
      });
      expect(body.operation.status).toBe("awaiting_approval");
      return body.operation.id as string;
    };
    const [first, second] = [await request("2"), await request("3")];
    const inbox = "/me/token-operations/awaiting-approval";

    const page1 = await callApi(kit.app, approver, "GET", `${inbox}?limit=1`);
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((o: { id: string }) => o.id)).toEqual([first]);
    expect(page1.body.items[0]).toMatchObject({ kind: "forced_transfer", requestedBy: requester.id });
    const page2 = await callApi(kit.app, approver, "GET", `${inbox}?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((o: { id: string }) => o.id)).toEqual([second]);
    expect(page2.body.nextCursor).toBeNull();

    // Their own requests are not the requester's to approve; an issuer granted elsewhere sees nothing.
    expect((await callApi(kit.app, requester, "GET", inbox)).body.items).toEqual([]);
    const elsewhere = await grantedIssuer(ops, [ops.bond]);
    expect((await callApi(kit.app, elsewhere, "GET", inbox)).body.items).toEqual([]);
    const investor = await createUser(kit, "investor");
    expect((await callApi(kit.app, investor, "GET", inbox)).status).toBe(403);

    // Decided, it leaves the list.
    await callApi(kit.app, approver, "POST", `/token-operations/${first}/reject`, { reason: "duplicate" });
    await callApi(kit.app, approver, "POST", `/token-operations/${second}/reject`, { reason: "duplicate" });
    expect((await callApi(kit.app, approver, "GET", inbox)).body.items).toEqual([]);
  });

  test("my token grants, by address and paged; none for an issuer granted nowhere", async () => {
    const both = await grantedIssuer(ops, [ops.bond, equity]);
    const sorted = [ops.bond, equity].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
    const page1 = await callApi(kit.app, both, "GET", "/me/token-grants?limit=1");
    expect(page1.status).toBe(200);
    expect(page1.body.items).toMatchObject([{ token: sorted[0], grantedBy: ops.admin.id }]);
    const page2 = await callApi(kit.app, both, "GET", `/me/token-grants?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body).toMatchObject({ items: [{ token: sorted[1] }], nextCursor: null });
    const nowhere = await createUser(kit, "issuer");
    expect((await callApi(kit.app, nowhere, "GET", "/me/token-grants")).body).toEqual({ items: [], nextCursor: null });
    expect((await callApi(kit.app, both, "GET", "/me/token-grants?cursor=nonsense")).status).toBe(400);
  });
});

describe("the token's policy", () => {
  const path = `/tokens/${equity}/operations-policy`;
  const setPolicy = (who: TestUser, body: Record<string, unknown>) => callApi(kit.app, who, "PUT", path, body);
  const decide = (who: TestUser, id: string, decision: "approve" | "reject", reason: string) =>
    callApi(kit.app, who, "POST", `/token-policy-changes/${id}/${decision}`, { reason });
  const forcedTransfer = () =>
    callApi(kit.app, requester, "POST", `/tokens/${equity}/operations/forced-transfer`, {
      from: alice,
      to: bob,
      amount: "1",
    });

  test("defaults, then a tightening (a mint threshold) applies at once: a mint above it waits, one at it does not", async () => {
    const defaults = await callApi(kit.app, requester, "GET", path);
    expect(defaults.body).toMatchObject({
      approvalKinds: ["forced_transfer", "recover"],
      mintThreshold: null,
      isDefault: true,
      pendingChange: null,
    });
    const set = await setPolicy(requester, { approvalKinds: ["forced_transfer", "recover"], mintThreshold: "100" });
    expect(set.status).toBe(200);
    expect(set.body.change).toMatchObject({ status: "applied", loosens: false, decidedBy: null });
    expect(set.body.policy).toMatchObject({ mintThreshold: "100", isDefault: false, pendingChange: null });

    const mint = (amounts: string[]) =>
      callApi(kit.app, requester, "POST", `/tokens/${equity}/operations/mint`, {
        recipients: amounts.map((amount) => ({ to: alice, amount })),
      });
    const above = await mint(["60", "41"]);
    expect(above.body.operation.status).toBe("awaiting_approval");
    const at = await mint(["100"]);
    expect(at.body.operation.status).toBe("pending");
    await waitForOperation(kit, at.body.operation.id);
  });

  test("one issuer cannot loosen four eyes alone: dropping forced transfers waits for another issuer", async () => {
    const asked = await setPolicy(requester, {
      approvalKinds: ["recover"],
      mintThreshold: "100",
      reason: "forced transfers under a standing court order",
    });
    expect(asked.status).toBe(200);
    expect(asked.body.change).toMatchObject({ status: "pending", loosens: true, requestedBy: requester.id });
    const id = asked.body.change.id as string;
    // Nothing changed yet: a forced transfer still waits, and the policy shows what is asked.
    expect(asked.body.policy).toMatchObject({ approvalKinds: ["forced_transfer", "recover"], pendingChange: { id } });
    expect((await forcedTransfer()).body.operation.status).toBe("awaiting_approval");

    // The other issuer finds it among what waits for them; the requester does not.
    const inbox = "/me/token-policy-changes/awaiting-approval";
    expect((await callApi(kit.app, approver, "GET", inbox)).body.items).toMatchObject([
      { id, token: equity.toLowerCase(), approvalKinds: ["recover"], mintThreshold: "100" },
    ]);
    expect((await callApi(kit.app, requester, "GET", inbox)).body.items).toEqual([]);

    const own = await decide(requester, id, "approve", "mine");
    expect(own.status).toBe(403);
    expect(own.body.message).toContain("another of the token's issuers must approve it");
    const ungranted = await createUser(kit, "issuer");
    expect((await decide(ungranted, id, "approve", "x")).status).toBe(403);
    expect((await decide(approver, id, "approve", " ")).status).toBe(400);
    expect((await decide(approver, crypto.randomUUID(), "approve", "x")).status).toBe(404);
    expect((await callApi(kit.app, requester, "GET", path)).body.approvalKinds).toEqual(["forced_transfer", "recover"]);

    const approved = await decide(approver, id, "approve", "order 2026-114 on file");
    expect(approved.status).toBe(200);
    expect(approved.body.change).toMatchObject({
      status: "applied",
      decidedBy: approver.id,
      decisionReason: "order 2026-114 on file",
    });
    expect(approved.body.policy).toMatchObject({ approvalKinds: ["recover"], pendingChange: null });
    const forced = await forcedTransfer();
    expect(forced.body.operation.status).toBe("pending");
    await waitForOperation(kit, forced.body.operation.id);
    expect((await decide(approver, id, "approve", "again")).status).toBe(409);
    expect((await callApi(kit.app, approver, "GET", inbox)).body.items).toEqual([]);

    // The audit trail has both sides: who asked (policy before and after) and who decided.
    const trail = await callApi(
      kit.app,
      ops.admin,
      "GET",
      `/audit?subjectType=token&subjectId=${equity.toLowerCase()}`,
    );
    expect(trail.body.items.slice(0, 2)).toMatchObject([
      { action: "token_policy.change_decided", actorId: approver.id, after: { changeId: id, status: "applied" } },
      {
        action: "token_policy.change_requested",
        actorId: requester.id,
        before: { approvalKinds: ["forced_transfer", "recover"] },
        after: { changeId: id, approvalKinds: ["recover"], status: "pending" },
      },
    ]);

    const history = await callApi(kit.app, approver, "GET", `${path}/changes?limit=2`);
    expect(history.body.items).toMatchObject([
      {
        id,
        requestedBy: requester.id,
        reason: "forced transfers under a standing court order",
        decidedBy: approver.id,
      },
      { status: "applied", loosens: false, requestedBy: requester.id, decidedBy: null },
    ]);
  });

  test("a later request replaces a waiting one; a refusal keeps the policy; the requester may withdraw their own", async () => {
    const first = await setPolicy(requester, { approvalKinds: [], mintThreshold: "100" });
    const second = await setPolicy(requester, { approvalKinds: [], mintThreshold: null });
    expect(second.body.change.status).toBe("pending");
    const replaced = await decide(approver, first.body.change.id, "approve", "ok");
    expect(replaced.status).toBe(409);
    expect(replaced.body.message).toContain("superseded");

    const refused = await decide(approver, second.body.change.id, "reject", "recoveries stay four-eyes");
    expect(refused.body.change).toMatchObject({ status: "rejected", decidedBy: approver.id });
    expect(refused.body.policy).toMatchObject({
      approvalKinds: ["recover"],
      mintThreshold: "100",
      pendingChange: null,
    });

    const third = await setPolicy(requester, { approvalKinds: [], mintThreshold: "100" });
    const withdrawn = await decide(requester, third.body.change.id, "reject", "asked by mistake");
    expect(withdrawn.body.change).toMatchObject({ status: "rejected", decidedBy: requester.id });
    expect((await callApi(kit.app, requester, "GET", path)).body).toMatchObject({
      approvalKinds: ["recover"],
      pendingChange: null,
    });
  });

  test("the database itself refuses a loosening applied by the user who asked for it", async () => {
    const asked = await setPolicy(requester, { approvalKinds: [], mintThreshold: "100" });
    const id = asked.body.change.id as string;
    const selfApproval = await kit.deps.db
      .execute(
        sql`update token_policy_changes set status = 'applied', decided_by = requested_by, decided_at = now() where id = ${id}`,
      )
      .then(
        () => undefined,
        (error: unknown) => postgresError(error),
      );
    expect(selfApproval).toMatchObject({
      code: PG_CHECK_VIOLATION,
      constraint: "token_policy_changes_four_eyes_check",
    });
    await decide(requester, id, "reject", "cleanup");
  });
});
