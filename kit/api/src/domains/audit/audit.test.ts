// The audit trail: staff actions land in it with who, from where and before/after; it is
// append-only whatever the role asks; and its hash chain names the first row changed or removed,
// as the database owner could do it (triggers disabled), through `bun run kit audit:verify` too.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createUser, TRUSTED_ORIGIN } from "../../../test/users";
import { postgresError } from "../../infra/db";
import { recordAudit, SYSTEM_ACTOR } from "./record";
import { verifyAuditChain } from "./verify";

const kit = await createTestKit();
const admin = await createUser(kit, "admin");
const db = kit.deps.db;

const cli = (args: string[]) =>
  Bun.spawnSync(["bun", join(import.meta.dir, "../../cli.ts"), ...args], {
    env: { PATH: process.env.PATH ?? "", ...kit.env },
    stdout: "pipe",
    stderr: "pipe",
  });

/** As the database owner, around the append-only triggers (what an attacker with that role can do). */
async function asOwner(statement: ReturnType<typeof sql>) {
  await db.transaction(async (tx) => {
    await tx.execute(sql`alter table audit_events disable trigger user`);
    await tx.execute(statement);
    await tx.execute(sql`alter table audit_events enable trigger user`);
  });
}

test("a role change and a system setting are recorded: who, from where, before and after; admins read them", async () => {
  const target = await createUser(kit, "investor");
  const role = await callApi(kit.app, admin, "PUT", `/users/${target.id}/role`, { role: "issuer" });
  expect(role.status).toBe(200);
  const settings = await callApi(kit.app, admin, "PATCH", "/settings/system", { kycValidityDays: 200 });
  expect(settings.status).toBe(200);

  const page = await callApi(kit.app, admin, "GET", `/audit?subjectType=user&subjectId=${target.id}`);
  expect(page.status).toBe(200);
  expect(page.body.items).toMatchObject([
    {
      actorId: admin.id,
      actorKind: "user",
      action: "user.role_changed",
      subject: { type: "user", id: target.id },
      before: { role: "investor" },
      after: { role: "issuer" },
    },
  ]);
  expect(page.body.items[0].requestId).toBeString();
  const changed = await callApi(kit.app, admin, "GET", "/audit?action=system_settings.changed");
  expect(changed.body.items[0]).toMatchObject({ after: { kycValidityDays: 200 } });

  // Filters that cannot match, paging, and who may read at all.
  expect((await callApi(kit.app, admin, "GET", "/audit?actorId=nobody")).body.items).toEqual([]);
  const first = await callApi(kit.app, admin, "GET", "/audit?limit=1");
  const second = await callApi(kit.app, admin, "GET", `/audit?limit=1&cursor=${first.body.nextCursor}`);
  expect(BigInt(second.body.items[0].id)).toBeLessThan(BigInt(first.body.items[0].id));
  expect((await callApi(kit.app, admin, "GET", "/audit?subjectId=x")).status).toBe(400);
  expect((await callApi(kit.app, admin, "GET", "/audit?action=nonsense")).status).toBe(400);
  for (const role of ["investor", "issuer", "kyc_reviewer"] as const) {
    expect((await callApi(kit.app, await createUser(kit, role), "GET", "/audit")).status).toBe(403);
  }
});

test("a user change and its audit event commit together: an event that cannot be written leaves the user as they were", async () => {
  const changes = [
    { path: "role", body: { role: "issuer" }, action: "user.role_changed" },
    { path: "ban", body: { reason: "test" }, action: "user.banned" },
    { path: "sessions/revoke", body: {}, action: "user.sessions_revoked" },
  ];
  await db.execute(sql`create function fail_audit_at_commit() returns trigger language plpgsql as $$
    begin raise exception 'forced failure at commit'; end $$`);
  for (const change of changes) {
    const target = await createUser(kit, "investor");
    const method = change.path === "role" ? "PUT" : "POST";
    await db.execute(
      sql.raw(`create constraint trigger fail_audit_at_commit after insert on audit_events
        deferrable initially deferred for each row
        when (new.subject_id = '${target.id}') execute function fail_audit_at_commit()`),
    );
    try {
      const failed = await callApi(kit.app, admin, method, `/users/${target.id}/${change.path}`, change.body);
      expect(failed.status).toBe(500);
    } finally {
      await db.execute(sql`drop trigger fail_audit_at_commit on audit_events`);
    }
    const state = async () => {
      const { rows } = await db.execute<{ role: string; banned: boolean; sessions: number; events: number }>(sql`
        select u.role, coalesce(u.banned, false) as banned,
               (select count(*)::int from session s where s.user_id = u.id) as sessions,
               (select count(*)::int from audit_events a where a.subject_id = u.id) as events
          from "user" u where u.id = ${target.id}`);
      return rows[0];
    };
    expect(await state()).toEqual({ role: "investor", banned: false, sessions: 1, events: 0 });
    // Without the fault, the same change lands with its one event.
    const done = await callApi(kit.app, admin, method, `/users/${target.id}/${change.path}`, change.body);
    expect(done.status).toBe(200);
    expect((await state())?.events).toBe(1);
    const [event] = (await callApi(kit.app, admin, "GET", `/audit?subjectType=user&subjectId=${target.id}`)).body.items;
    expect(event.action).toBe(change.action);
  }
  await db.execute(sql`drop function fail_audit_at_commit()`);
});

test("an API key made and deleted from a session is recorded, without the key itself", async () => {
  const owner = await createUser(kit, "investor");
  const post = (path: string, body: unknown) =>
    kit.request(`/api/auth${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, cookie: owner.cookie },
      body: JSON.stringify(body),
    });
  const created = (await (await post("/api-key/create", { name: "my script" })).json()) as { id: string; key: string };
  expect(created.key).toStartWith("kit_");
  expect((await post("/api-key/delete", { keyId: created.id })).status).toBe(200);

  const trail = await callApi(kit.app, admin, "GET", `/audit?actorId=${owner.id}`);
  expect(trail.body.items).toMatchObject([
    {
      action: "api_key.revoked",
      actorKind: "user",
      subject: { type: "user", id: owner.id },
      before: { keyId: created.id },
    },
    {
      action: "api_key.created",
      actorKind: "user",
      subject: { type: "user", id: owner.id },
      after: { keyId: created.id },
    },
  ]);
  expect(JSON.stringify(trail.body)).not.toContain(created.key);
  expect(JSON.stringify(trail.body)).not.toContain("my script");
});

test("append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
  await recordAudit(db, SYSTEM_ACTOR, { action: "job.retried", subject: { type: "test", id: "append-only" } });
  for (const statement of [
    sql`update audit_events set action = 'user.banned' where subject_id = 'append-only'`,
    sql`delete from audit_events where subject_id = 'append-only'`,
    sql`truncate audit_events`,
  ]) {
    const refused = await db.execute(statement).then(
      () => undefined,
      (error: unknown) => postgresError(error)?.code,
    );
    expect(refused).toBe("42501");
  }
});

test("rows written at once still form one chain", async () => {
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      recordAudit(db, { userId: admin.id }, { action: "job.retried", subject: { type: "test", id: `at-once-${i}` } }),
    ),
  );
  const report = await verifyAuditChain(db);
  expect(report.broken).toBeNull();
  expect(report.rows).toBeGreaterThanOrEqual(23);
  const held = cli(["audit:verify"]);
  expect(held.exitCode).toBe(0);
  expect(held.stdout.toString()).toContain(`audit trail holds: ${report.rows} rows, head ${report.head}`);
});

test("an edited row and a removed row are named, by the verifier and the CLI", async () => {
  for (let i = 0; i < 3; i++) {
    await recordAudit(db, SYSTEM_ACTOR, { action: "job.retried", subject: { type: "test", id: `tamper-${i}` } });
  }
  const ids = await db.execute<{ id: string; subject_id: string }>(
    sql`select id::text as id, subject_id from audit_events where subject_id like 'tamper-%' order by id`,
  );
  const [first, middle, last] = ids.rows;
  if (!first || !middle || !last) throw new Error("rows missing");

  // Changing what a row says (even its hash recomputed the trigger's way) breaks the chain there or after.
  await asOwner(sql`update audit_events set after = '{"status": "ok"}' where id = ${first.id}::bigint`);
  expect((await verifyAuditChain(db)).broken).toEqual({
    id: first.id,
    problem: "its content was changed after it was written",
  });
  const edited = cli(["audit:verify"]);
  expect(edited.exitCode).toBe(1);
  expect(edited.stderr.toString()).toContain(`audit trail broken at row ${first.id}: its content was changed`);
  await asOwner(
    sql`update audit_events set hash = encode(sha256(convert_to(prev_hash || audit_events_canonical(audit_events), 'UTF8')), 'hex') where id = ${first.id}::bigint`,
  );
  expect((await verifyAuditChain(db)).broken?.id).toBe(middle.id);

  // Put right, then a row removed: the next one no longer links.
  await asOwner(sql`update audit_events set after = null where id = ${first.id}::bigint`);
  await asOwner(
    sql`update audit_events set hash = encode(sha256(convert_to(prev_hash || audit_events_canonical(audit_events), 'UTF8')), 'hex') where id = ${first.id}::bigint`,
  );
  expect((await verifyAuditChain(db)).broken).toBeNull();
  await asOwner(sql`delete from audit_events where id = ${middle.id}::bigint`);
  const removed = await verifyAuditChain(db);
  expect(removed.broken?.id).toBe(last.id);
  expect(removed.broken?.problem).toContain("a row before it was removed");
});
