// Kit behind PgBouncer in transaction mode: DATABASE_URL through the pooler, DATABASE_DIRECT_URL
// straight to Postgres for what needs a session. Kit's flows (sign-up and sign-in, a KYC
// submission and its review, settings writes under transaction locks, concurrent calls) go through
// the pooler; the indexer's leader lock stays exclusive only because it takes the direct URL (a
// pooler of one server connection shows what happens otherwise); named prepared statements are off
// behind it, and shown to break there when forced on.
import { afterAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { callApi } from "../../test/api";
import { createEmptyDatabase, dropDatabase } from "../../test/databases";
import { createTestKit } from "../../test/kit";
import { createDraftApplication } from "../../test/kyc";
import { pgBouncerMissing, startPgBouncer } from "../../test/pgbouncer";
import { createUser, signIn, TRUSTED_ORIGIN } from "../../test/users";
import { loadConfig, requireResolved } from "../config";
import { MeWallets } from "../domains/auth/me-wallets";
import { startIndexer } from "../domains/tokens/indexer";
import { migrateDirect } from "./db";
import { createLogger } from "./log";
import { closeRedis, createRedis } from "./redis";

const INDEXER_LOCK_CLASS = 1_263_097_944;

const missing = pgBouncerMissing();
if (missing) {
  console.warn(`db-pooler.test.ts skipped: ${missing}`);
  test.skip(`Kit behind PgBouncer (${missing})`, () => {});
} else await definePoolerTests();

async function definePoolerTests() {
  // Four server connections for the kit's ten: calls share sessions as they would in production.
  const bouncer = await startPgBouncer({ poolSize: 4 });
  // One server connection: every client of it shares one session, so a session lock or a named
  // statement left by one client is met by the next at once.
  const single = await startPgBouncer({ poolSize: 1 });
  afterAll(async () => {
    await bouncer.stop();
    await single.stop();
  });
  const kit = await createTestKit({
    chain: true,
    env: { TRUST_PROXY_HOPS: "1", KYC_REQUIRE_VERIFIED_EMAIL: "false" },
    databaseEnv: (direct) => ({ DATABASE_URL: bouncer.urlFor(direct), DATABASE_DIRECT_URL: direct }),
  });
  const direct = kit.config.db.directUrl;

  describe("Kit's calls through PgBouncer (transaction mode)", () => {
    test("the kit's pool reaches Postgres through the pooler; named prepared statements are off there", async () => {
      expect(new URL(kit.config.db.url).port).toBe(String(bouncer.port));
      expect(new URL(direct).port).toBe("5432");
      expect(kit.config.db.preparedStatements).toBe(false);
      const client = await kit.deps.pool.connect();
      try {
        expect((client as unknown as { port: number }).port).toBe(bouncer.port);
      } finally {
        client.release();
      }
    });

    test("sign-up, sign-in, me; a KYC application submitted, queued, claimed and approved; settings written", async () => {
      const email = `pooled-${crypto.randomUUID()}@example.com`;
      const password = "a long test password";
      const signUp = await kit.request("/api/auth/sign-up/email", {
        method: "POST",
        headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, "x-forwarded-for": "10.200.0.1" },
        body: JSON.stringify({ email, password, name: "Pooled Investor" }),
      });
      expect(signUp.status).toBe(200);
      const investor = await signIn(kit, email, password, "10.200.0.2");
      const me = await callApi(kit.app, investor, "GET", "/me");
      expect(me.status, JSON.stringify(me.body)).toBe(200);
      expect(me.body.user.email).toBe(email);
      expect(me.body.wallets).toEqual([]);

      const [reviewer, admin] = await Promise.all([createUser(kit, "kyc_reviewer"), createUser(kit, "admin")]);
      await createDraftApplication(kit, { id: me.body.user.id }, { lastName: "Pooled" });
      const draft = await callApi(kit.app, investor, "GET", "/kyc/application");
      const submitted = await callApi(kit.app, investor, "POST", "/kyc/application/submit", {
        version: draft.body.version,
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
      expect(submitted.body.status).toBe("submitted");

      const queue = await callApi(kit.app, reviewer, "GET", "/kyc/review?limit=50");
      expect(queue.status).toBe(200);
      expect(queue.body.items.map((i: { id: string }) => i.id)).toContain(draft.body.id);
      expect((await callApi(kit.app, reviewer, "POST", `/kyc/review/${draft.body.id}/claim`)).status).toBe(200);
      const approved = await callApi(kit.app, reviewer, "POST", `/kyc/review/${draft.body.id}/decision`, {
        decision: "approve",
      });
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      expect(approved.body.status).toBe("approved");

      // System settings are written under a transaction advisory lock (pg_advisory_xact_lock).
      const system = await callApi(kit.app, admin, "PATCH", "/settings/system", { kycValidityDays: 200 });
      expect(system.status, JSON.stringify(system.body)).toBe(200);
      expect((await callApi(kit.app, admin, "GET", "/settings/system")).body.kycValidityDays).toBe(200);
      const own = await callApi(kit.app, investor, "PATCH", "/settings", { theme: "dark" });
      expect(own.status).toBe(200);
      expect((await callApi(kit.app, investor, "GET", "/settings")).body.theme).toBe("dark");
    });

    test("60 concurrent calls (me, settings writes under locks, queue pages) all answer; no lock is left on a session", async () => {
      const users = await Promise.all([1, 2, 3].map(() => createUser(kit, "admin")));
      const calls = Array.from({ length: 60 }, (_, i) => {
        const who = users[i % users.length] as (typeof users)[number];
        if (i % 4 === 0) return callApi(kit.app, who, "PATCH", "/settings/system", { kycValidityDays: 300 + i });
        if (i % 4 === 1) return callApi(kit.app, who, "PATCH", "/settings", { theme: i % 8 === 1 ? "light" : "dark" });
        if (i % 4 === 2) return callApi(kit.app, who, "GET", "/kyc/review?limit=5");
        return callApi(kit.app, who, "GET", "/me");
      });
      const statuses = (await Promise.all(calls)).map((a) => a.status);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      // Transaction locks end with their transactions: a session lock leaking through the pooler would stay.
      const admin = new pg.Client({ connectionString: direct });
      await admin.connect();
      try {
        const { rows } = await admin.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory'
             and database = (select oid from pg_database where datname = current_database())`,
        );
        expect(rows[0].n).toBe(0);
      } finally {
        await admin.end();
      }
    });
  });

  describe("session locks take DATABASE_DIRECT_URL", () => {
    function indexerOn(env: Record<string, string>) {
      const config = requireResolved(loadConfig({ ...kit.env, INDEXER_POLL_MS: "20", ...env }));
      const log = createLogger(config);
      const redis = createRedis(config, log);
      const indexer = startIndexer({ config, redis, log });
      return {
        indexer,
        stop: async () => {
          await indexer.stop();
          await closeRedis(redis);
        },
      };
    }

    async function roles(indexers: ReturnType<typeof indexerOn>[], until: (roles: string[]) => boolean) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = indexers.map((i) => i.indexer.status().role);
        if (until(now) || Date.now() > deadline) return now;
        await Bun.sleep(20);
      }
    }

    async function lockHolders(): Promise<{ pid: number; application_name: string; port: number | null }[]> {
      const admin = new pg.Client({ connectionString: direct });
      await admin.connect();
      try {
        const { rows } = await admin.query(
          `select l.pid, a.application_name, a.client_port as port from pg_locks l join pg_stat_activity a using (pid)
            where l.locktype = 'advisory' and l.granted and l.classid = $1
              and l.database = (select oid from pg_database where datname = current_database())`,
          [INDEXER_LOCK_CLASS],
        );
        return rows;
      } finally {
        await admin.end();
      }
    }

    test("two indexers behind the pooler: one active, one waiting, on a session of its own; a stop hands over", async () => {
      const env = { DATABASE_URL: single.urlFor(direct), DATABASE_DIRECT_URL: direct };
      const first = indexerOn(env);
      const second = indexerOn(env);
      try {
        const settled = await roles([first, second], (r) => r.includes("active") && r.includes("standby"));
        expect(settled.sort()).toEqual(["active", "standby"]);
        const holders = await lockHolders();
        expect(holders).toHaveLength(1);
        expect(holders[0]?.application_name).toBe("kit-indexer");

        const [active, waiting] = first.indexer.status().role === "active" ? [first, second] : [second, first];
        await active.stop();
        expect(await roles([waiting], (r) => r[0] === "active")).toEqual(["active"]);
        expect(await lockHolders()).toHaveLength(1);
      } finally {
        await Promise.all([first.stop(), second.stop()]);
      }
    });

    test("without DATABASE_DIRECT_URL both would lead: the pooler hands the lock's session to the other", async () => {
      // What the direct URL prevents: both indexers' connections land on the pooler's one server
      // session, where the lock one took is granted again to the other (advisory locks re-enter).
      const env = { DATABASE_URL: single.urlFor(direct), DATABASE_DIRECT_URL: "" };
      const first = indexerOn(env);
      const second = indexerOn(env);
      try {
        expect(await roles([first, second], (r) => r.every((role) => role === "active"))).toEqual(["active", "active"]);
      } finally {
        await Promise.all([first.stop(), second.stop()]);
      }
    });
  });

  test("migrations at start take DATABASE_DIRECT_URL: applied, and their session lock gone with their connection", async () => {
    const empty = await createEmptyDatabase();
    try {
      const config = loadConfig({
        NODE_ENV: "test",
        LOG_LEVEL: "silent",
        DATABASE_URL: bouncer.urlFor(empty.url),
        DATABASE_DIRECT_URL: empty.url,
      });
      await migrateDirect(config, createLogger(config));
      const client = new pg.Client({ connectionString: empty.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          `select to_regclass('public.kyc_applications') is not null as migrated,
             (select count(*)::int from pg_locks where locktype = 'advisory'
                and database = (select oid from pg_database where datname = current_database())) as locks`,
        );
        expect(rows[0]).toEqual({ migrated: true, locks: 0 });
      } finally {
        await client.end();
      }
    } finally {
      await dropDatabase(empty.name);
    }
  });

  describe("prepared statements behind the pooler", () => {
    async function concurrentMeWallets(named: boolean): Promise<string[]> {
      const pool = new pg.Pool({ connectionString: single.urlFor(direct), max: 4 });
      try {
        // Users never read before: every call is a query (no copy to answer from).
        const wallets = new MeWallets(drizzle({ client: pool }), kit.deps.redis, kit.deps.log, named);
        try {
          const results = await Promise.allSettled(Array.from({ length: 16 }, () => wallets.read(crypto.randomUUID())));
          return results.flatMap((r) =>
            r.status === "rejected" ? [String((r.reason as Error).cause ?? r.reason)] : [],
          );
        } finally {
          await wallets.close();
        }
      } finally {
        await pool.end();
      }
    }

    test("unnamed (DATABASE_PREPARED_STATEMENTS=false, the default behind a pooler): every call answers", async () => {
      expect(await concurrentMeWallets(false)).toEqual([]);
    });

    test("named: a second client meets the first one's statement on the shared server session, and fails", async () => {
      const failures = await concurrentMeWallets(true);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.join("\n")).toMatch(/prepared statement "kit_me_wallets" (already exists|does not exist)/);
    });
  });
}
