// DATABASE_READ_URL against a real streaming replica: a primary and a standby of this file's own
// (test/postgres-replica.ts). With the standby's replay paused, an application submitted on the
// primary is missing from the reviewers' queue page (the replica's) and present in the investor's
// own read-back and the reviewer's view of it (the primary's); once replay resumes, the page has it.
// Replay paused past DATABASE_READ_MAX_LAG_SECONDS, the lists read the primary until it catches up;
// with the standby stopped, they read the primary too, and the rest goes on.
import { afterAll, describe, expect, test } from "bun:test";
import { callApi } from "../../test/api";
import { eventually } from "../../test/eventually";
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
    // A lag limit far above this file's pauses: the replica serves until stopped (the limit itself
    // is the third test's, with a kit of its own).
    env: { TRUST_PROXY_HOPS: "1", KYC_REQUIRE_VERIFIED_EMAIL: "false", DATABASE_READ_MAX_LAG_SECONDS: "60" },
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

    test("replay paused past DATABASE_READ_MAX_LAG_SECONDS: the lists read the primary until the standby catches up", async () => {
      const strict = await createTestKit({
        env: { TRUST_PROXY_HOPS: "1", KYC_REQUIRE_VERIFIED_EMAIL: "false", DATABASE_READ_MAX_LAG_SECONDS: "1" },
        databaseEnv: () => ({ DATABASE_URL: cluster.primaryUrl, DATABASE_READ_URL: cluster.standbyUrl }),
      });
      const strictQueue = async () => {
        const page = await callApi(strict.app, reviewer, "GET", "/kyc/review?limit=100");
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        return page.body.items.map((item: { id: string }) => item.id) as string[];
      };
      const guard = strict.deps.local.replica;
      await cluster.waitForReplay();
      await eventually("the guard measuring the caught-up standby", () => guard.status().lagSeconds !== null);
      expect(guard.status().inUse).toBe(true);
      const late = await createUser(kit, "investor");
      await createDraftApplication(kit, late, { lastName: "Late" });
      const draft = await callApi(kit.app, late, "GET", "/kyc/application");
      await cluster.pauseReplay();
      try {
        const submitted = await callApi(kit.app, late, "POST", "/kyc/application/submit", {
          version: draft.body.version,
        });
        expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
        await eventually("the lag past 1 s noticed", () => !guard.status().inUse, 10_000);
        expect(guard.status()).toMatchObject({ inUse: false, reason: "lagging" });
        expect(guard.status().lagSeconds).toBeGreaterThan(1);
        // Served by the primary now: the submission the standby has not replayed is on the page.
        expect(await strictQueue()).toContain(draft.body.id);
        // Reported by /ready, and no reason to be unready (the test kit's chain and S3 are its own business).
        const ready = await (await strict.request("/ready")).json();
        expect(ready.replica).toMatchObject({ inUse: false, reason: "lagging" });
        expect(ready.failing.filter((name: string) => name.includes("replica") || name === "postgres")).toEqual([]);
        const metrics = await (await strict.request("/metrics")).text();
        expect(metrics).toContain("kit_db_replica_in_use 0");
      } finally {
        await cluster.resumeReplay();
      }
      await eventually("the standby caught up and in use again", () => guard.status().inUse, 10_000);
      expect(await strictQueue()).toContain(draft.body.id);
    }, 60_000);

    test("the replica down: the lists answer from the primary once the guard has seen it (a typed 503 until then), the rest throughout", async () => {
      await cluster.stopStandby();
      const statuses = new Set<number>();
      await eventually(
        "the queue page served without the replica",
        async () => {
          const page = await callApi(kit.app, reviewer, "GET", "/kyc/review?limit=5");
          statuses.add(page.status);
          if (page.status === 503) expect(page.body.code).toBe("SERVICE_UNAVAILABLE");
          return page.status === 200;
        },
        15_000,
      );
      expect([...statuses].filter((status) => status !== 200 && status !== 503)).toEqual([]);
      expect(kit.deps.local.replica.status()).toMatchObject({ inUse: false, reason: "unreachable" });
      expect((await callApi(kit.app, investor, "GET", "/kyc/application")).status).toBe(200);
      expect((await callApi(kit.app, investor, "GET", "/me")).status).toBe(200);
      const ready = await (await kit.request("/ready")).json();
      expect(ready.replica).toMatchObject({ inUse: false, reason: "unreachable" });
      expect(ready.failing.filter((name: string) => name.includes("replica") || name === "postgres")).toEqual([]);
    }, 30_000);
  });
}
