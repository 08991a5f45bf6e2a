// The reviewer's risk level through HTTP: set with a reason on an application in review, by its
// reviewer (or an admin); shown in the review view; filterable in the queue.
import { describe, expect, test } from "bun:test";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createSubmittedApplication } from "../../../test/kyc";
import { createUser, type TestUser } from "../../../test/users";

const kit = await createTestKit();
const [reviewer, otherReviewer, admin, investor] = await Promise.all([
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "admin"),
  createUser(kit, "investor"),
]);

const call = (who: TestUser, method: string, path: string, body?: unknown) => callApi(kit.app, who, method, path, body);
const setRisk = (who: TestUser, id: string, body: Record<string, unknown>) =>
  call(who, "POST", `/kyc/review/${id}/risk`, body);

function expectError(answer: ApiAnswer, status: number, code: string, message?: string) {
  expect({ status: answer.status, code: answer.body?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  if (message) expect(answer.body.message).toContain(message);
}

async function inReview() {
  const application = await createSubmittedApplication(kit, await createApplicant(kit));
  expect((await call(reviewer, "POST", `/kyc/review/${application.id}/claim`)).status).toBe(200);
  return application.id;
}

describe("risk level", () => {
  test("the assigned reviewer sets it with a reason; the review view shows who and when", async () => {
    const id = await inReview();
    expect((await call(reviewer, "GET", `/kyc/review/${id}`)).body.risk).toBeNull();
    const started = Date.now();
    const set = await setRisk(reviewer, id, { level: "medium", reason: "Cash-intensive business" });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.risk).toMatchObject({ level: "medium", reason: "Cash-intensive business", setBy: reviewer.id });
    expect(Date.parse(set.body.risk.setAt)).toBeGreaterThanOrEqual(started - 1_000);
    // Changed again (an admin may too): the latest stands.
    const raised = await setRisk(admin, id, { level: "high", reason: "PEP relative" });
    expect(raised.body.risk).toMatchObject({ level: "high", reason: "PEP relative", setBy: admin.id });
  });

  test("refused: another reviewer, an application not in review, a bad level, no reason, an investor", async () => {
    const id = await inReview();
    expectError(
      await setRisk(otherReviewer, id, { level: "low", reason: "r" }),
      403,
      "FORBIDDEN",
      "claimed by another reviewer",
    );
    expectError(
      await setRisk(reviewer, id, { level: "extreme", reason: "r" }),
      400,
      "BAD_REQUEST",
      "low, medium or high",
    );
    expectError(await setRisk(reviewer, id, { level: "low" }), 400, "BAD_REQUEST");
    expect((await setRisk(investor, id, { level: "low", reason: "r" })).status).toBe(403);
    const submitted = await createSubmittedApplication(kit, await createApplicant(kit));
    expectError(
      await setRisk(reviewer, submitted.id, { level: "low", reason: "r" }),
      409,
      "CONFLICT",
      "claim it first",
    );
    expect((await call(reviewer, "GET", `/kyc/review/${id}`)).body.risk).toBeNull();
  });

  test("the queue filters on it and shows it", async () => {
    const [low, high, none] = [await inReview(), await inReview(), await inReview()];
    await setRisk(reviewer, low, { level: "low", reason: "Salary only" });
    await setRisk(reviewer, high, { level: "high", reason: "Adverse media" });
    const highs = await call(reviewer, "GET", "/kyc/review?risk=high&limit=100");
    expect(highs.status, JSON.stringify(highs.body)).toBe(200);
    const ids = highs.body.items.map((item: { id: string }) => item.id);
    expect(ids).toContain(high);
    expect(ids).not.toContain(low);
    expect(ids).not.toContain(none);
    expect(highs.body.items.every((item: { riskLevel: string }) => item.riskLevel === "high")).toBe(true);
    const all = await call(reviewer, "GET", "/kyc/review?status=in_review&limit=100");
    const byId = new Map(all.body.items.map((item: { id: string; riskLevel: string }) => [item.id, item.riskLevel]));
    expect([byId.get(low), byId.get(high), byId.get(none)]).toEqual(["low", "high", null]);
    expectError(await call(reviewer, "GET", "/kyc/review?risk=extreme"), 400, "BAD_REQUEST");
  });
});
