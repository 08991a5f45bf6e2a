// DATABASE_READ_URL against a real streaming replica: a primary and a standby of this file's own
// (test/postgres-replica.ts). With the standby's replay paused, an application submitted on the
// primary is missing from the reviewers' queue page (the replica's) and present in the investor's
// own read-back and the reviewer's view of it (the primary's); once replay resumes, the page has it.
// With the standby stopped, its lists answer 503 and the rest goes on.
import { afterAll, describe, expect, test } from "bun:test";
import { callApi } from "../../test/api";
import { createTestKit } from "../../test/kit";
import { createDraftApplication } from "../../test/kyc";
import { replicaMissing, startReplicatedPostgres } from "../../test/postgres-replica";
import { createUser } from "../../test/users";
import { loadConfig } from "../config";
import { createLogger } from "./log";

const missing = replicaMissing();
if (missing) {
  console.warn(`db-replica.test.ts skipped: ${missing}`);
  test.skip(`Kit with a read replica (${missing})`, () => {});
} else await defineReplicaTests();

async function defineReplicaTests() {
  const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent" });
  const cluster = await startReplicatedPostgres({ migrationsDir: config.migrationsDir, log: createLogger(config) });
  const kit = await createTestKit({
    env: { TRUST_PROXY_HOPS: "1", KYC_REQUIRE_VERIFIED_EMAIL: "false" },
    databaseEnv: () => ({ DATABASE_URL: cluster.primaryUrl, DATABASE_READ_URL: cluster.standbyUrl }),
  }).catch(async (error) => {
    await cluster.stop();
    throw error;
  });
  // After the kit's own clean-up (hooks run in the order registered): its pools close first.
  afterAll(() => cluster.stop());
  const [reviewer, admin, investor] = await Promise.all([
    createUser(kit, "kyc_reviewer"),
    createUser(kit, "admin"),
    createUser(kit, "investor"),
  ]);
  const queueIds = async () => {
    const page = await callApi(kit.app, reviewer, "GET", "/kyc/review?limit=100");
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    return page.body.items.map((item: { id: string }) => item.id) as string[];
  };

  describe("DATABASE_READ_URL: a streaming replica", () => {
    test("the kit has a second pool, on the standby, which is in recovery", async () => {
      expect(kit.deps.dbRead).not.toBe(kit.deps.db);
      const read = await kit.deps.poolRead.query<{ standby: boolean }>("select pg_is_in_recovery() as standby");
      const primary = await kit.deps.pool.query<{ standby: boolean }>("select pg_is_in_recovery() as standby");
      expect([read.rows[0]?.standby, primary.rows[0]?.standby]).toEqual([true, false]);
    });

    test("replay paused: the queue page (replica) lacks the new application; the investor's and reviewer's reads (primary) have it", async () => {
      await createDraftApplication(kit, investor, { lastName: "Lagging" });
      const draft = await callApi(kit.app, investor, "GET", "/kyc/application");
      await cluster.waitForReplay();
      await cluster.pauseReplay();
      try {
        const submitted = await callApi(kit.app, investor, "POST", "/kyc/application/submit", {
          version: draft.body.version,
        });
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
        // Read-your-write: the investor's own application and the reviewer's view of one read the primary.
        expect((await callApi(kit.app, investor, "GET", "/kyc/application")).body.status).toBe("submitted");
        const view = await callApi(kit.app, reviewer, "GET", `/kyc/review/${draft.body.id}`);
        expect(view.status, JSON.stringify(view.body)).toBe(200);
        expect(view.body.application.status).toBe("submitted");
        // The page is the replica's, which has not applied the submission yet.
        expect(await queueIds()).not.toContain(draft.body.id);
        // So is the audit trail: a settings change made now is not on its page yet.
        const changed = await callApi(kit.app, admin, "PATCH", "/settings/system", { kycValidityDays: 123 });
        expect(changed.status).toBe(200);
        const auditNow = await callApi(kit.app, admin, "GET", "/audit?limit=100");
        expect(auditNow.status, JSON.stringify(auditNow.body)).toBe(200);
        const after = JSON.stringify(auditNow.body.items.map((i: { after: unknown }) => i.after));
        expect(after).not.toContain("123");
      } finally {
        await cluster.resumeReplay();
      }
      await cluster.waitForReplay();
      expect(await queueIds()).toContain(draft.body.id);
      const audit = await callApi(kit.app, admin, "GET", "/audit?limit=100");
      expect(JSON.stringify(audit.body.items.map((i: { after: unknown }) => i.after))).toContain("123");
    });

    test("the replica down: its lists answer 503, what reads the primary still answers", async () => {
      await cluster.stopStandby();
      const page = await callApi(kit.app, reviewer, "GET", "/kyc/review?limit=5");
      expect(page.status, JSON.stringify(page.body)).toBe(503);
      expect(page.body.code).toBe("SERVICE_UNAVAILABLE");
      expect((await callApi(kit.app, investor, "GET", "/kyc/application")).status).toBe(200);
      expect((await callApi(kit.app, investor, "GET", "/me")).status).toBe(200);
    });
  });
}
