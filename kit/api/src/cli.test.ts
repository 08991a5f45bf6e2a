// The first admin: made by the CLI or by BOOTSTRAP_ADMIN_* at start, never by "first sign-up".
import { expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { createTestKit } from "../test/kit";
import { createApplicant, createDraftApplication } from "../test/kyc";
import { createUser, signIn, TRUSTED_ORIGIN } from "../test/users";
import { loadConfig, requireResolved } from "./config";
import { keyId } from "./domains/kyc/crypto";
import { createEndpoint, rotateSecret } from "./domains/webhooks/endpoints";
import { webhookEndpoints } from "./domains/webhooks/schema";
import { createSecretBox } from "./domains/webhooks/secrets";
import { createLogger } from "./infra/log";
import { startKit } from "./runtime";

// Each test starts several CLI processes, each loading the config and connecting anew: on a busy
// 2-core machine that alone can take most of the package's 30 s.
setDefaultTimeout(90_000);

const kit = await createTestKit();
const cli = (args: string[], env: Record<string, string> = {}) =>
  Bun.spawnSync(["bun", join(import.meta.dir, "cli.ts"), ...args], {
    env: { PATH: process.env.PATH ?? "", ...kit.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });

test("users:create makes an admin with a generated password printed once; a second run refuses", async () => {
  const first = cli(["users:create", "--email", "Ops@Example.com", "--role", "admin"]);
  expect(first.exitCode).toBe(0);
  const out = first.stdout.toString();
  expect(out).toContain("created admin ops@example.com");
  const password = out.match(/password \(shown once\): (\S+)/)?.[1];
  expect(password?.length).toBeGreaterThanOrEqual(24);

  const { cookie } = await signIn(kit, "ops@example.com", password ?? "");
  const me = (await (await kit.request("/api/me", { headers: { cookie } })).json()) as { user: { role: string } };
  expect(me.user.role).toBe("admin");

  const again = cli(["users:create", "--email", "ops@example.com", "--role", "investor"]);
  expect(again.exitCode).toBe(1);
  expect(again.stderr.toString()).toContain("already exists");
});

test("users:create with a given password, and bad arguments exit 1 with the usage", () => {
  const created = cli([
    "users:create",
    "--email",
    "rev@example.com",
    "--role",
    "kyc_reviewer",
    "--password",
    "a reviewer password",
  ]);
  expect(created.exitCode).toBe(0);
  expect(created.stdout.toString()).not.toContain("password");
  for (const args of [
    ["users:create", "--email", "x", "--role", "admin"],
    ["users:create", "--email", "a@b.co", "--role", "root"],
    ["nope"],
  ]) {
    const result = cli(args);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toContain("usage: bun run kit users:create");
  }
});

test("help lists every command and exits 0", () => {
  for (const args of [["help"], ["--help"], ["-h"]]) {
    const result = cli(args);
    expect(result.exitCode).toBe(0);
    for (const command of ["users:create", "keys:create", "indexer:reset", "kyc:keys", "dossier:verify"])
      expect(result.stdout.toString()).toContain(`  ${command} `);
  }
});

test("kyc:keys counts data keys and webhook secrets per master key id; --reencrypt moves both to the current key, after which the old key may go", async () => {
  const applications = await Promise.all(
    [1, 2].map(async () => createDraftApplication(kit, await createApplicant(kit))),
  );
  // A webhook endpoint whose secret was rotated with an overlap: both slots are under the old key.
  const owner = await createUser(kit, "investor");
  const actor = { userId: owner.id, mayManageSystem: false };
  const publicHost = async () => [{ address: "93.184.216.34", family: 4 as const }];
  const created = await createEndpoint(
    kit.deps,
    actor,
    { url: "https://hooks.example.com/kit", eventTypes: ["kyc.approved"], scope: "user" },
    publicHost,
  );
  const { secret } = await rotateSecret(kit.deps, actor, created.endpoint.id, 24);
  const oldKey = kit.config.kyc.encryptionKey;
  const newKey = randomBytes(32);
  const rotated = {
    KYC_ENCRYPTION_KEY: newKey.toString("base64"),
    KYC_PREVIOUS_ENCRYPTION_KEYS: oldKey.toString("base64"),
  };
  const line = (out: string, id: string) => out.split("\n").find((l) => l.includes(id)) ?? "";

  const before = cli(["kyc:keys"], rotated);
  expect(before.exitCode).toBe(0);
  const listed = before.stdout.toString();
  expect(line(listed, keyId(newKey))).toMatch(/current\s+0 data keys\s+0 legacy rows\s+0 webhook secrets/);
  expect(line(listed, keyId(oldKey))).toMatch(
    new RegExp(
      `previous\\s+${applications.length} data keys\\s+0 legacy rows\\s+2 webhook secrets\\s+left for the kyc.reencrypt-pii job`,
    ),
  );
  expect(listed).not.toContain(oldKey.toString("base64"));

  const moved = cli(["kyc:keys", "--reencrypt"], rotated);
  expect(moved.exitCode, moved.stderr.toString()).toBe(0);
  const after = moved.stdout.toString();
  expect(after).toContain(`re-wrapped ${applications.length} data keys under the current master key`);
  expect(after).toContain("re-sealed 1 webhook endpoints' secrets");
  const [rotation] = await kit.deps.db
    .execute<{ actor_kind: string; after: { rewrapped: number } }>(
      sql`select actor_kind, after from audit_events where action = 'kyc.encryption_key_rotated'`,
    )
    .then((r) => r.rows);
  expect(rotation).toMatchObject({ actor_kind: "system", after: { rewrapped: applications.length } });
  expect(line(after, keyId(oldKey))).toMatch(
    /previous\s+0 data keys\s+0 legacy rows\s+0 webhook secrets\s+none left: this key may leave KYC_PREVIOUS_ENCRYPTION_KEYS/,
  );
  // Without the old key, the endpoint's secrets still open: the same secret, both slots.
  const [row] = await kit.deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, created.endpoint.id));
  const newBox = createSecretBox({ kyc: { ...kit.config.kyc, encryptionKey: newKey, previousEncryptionKeys: [] } });
  expect(row && newBox.open(row.id, "current", row.secretKeyId, row.secretCiphertext)).toBe(secret);
  expect(
    row?.previousSecretCiphertext &&
      newBox.open(row.id, "previous", row.previousSecretKeyId ?? "", row.previousSecretCiphertext),
  ).toBe(created.secret);

  // Dropped too early, a key shows up as unconfigured, not as a crash.
  const lost = cli(["kyc:keys"], { KYC_ENCRYPTION_KEY: randomBytes(32).toString("base64") });
  expect(lost.exitCode).toBe(0);
  expect(line(lost.stdout.toString(), keyId(newKey))).toMatch(
    /unconfigured\s+2 data keys\s+0 legacy rows\s+0 webhook secrets\s+UNREADABLE/,
  );
  expect(lost.stdout.toString()).toContain(
    "2 webhook secrets are under a master key that is not configured: UNREADABLE",
  );
});

test("sign-up never makes an admin: the first user is an investor, and a role in the body is refused", async () => {
  const fresh = await createTestKit();
  const authPost = (path: string, body: Record<string, string>) =>
    fresh.request(`/api/auth${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
      body: JSON.stringify(body),
    });
  const signUp = (body: Record<string, string>) => authPost("/sign-up/email", body);
  const first = await signUp({ email: "first@example.com", password: "first user password", name: "First" });
  expect(first.status).toBe(200);
  const signedIn = await authPost("/sign-in/email", { email: "first@example.com", password: "first user password" });
  expect(signedIn.status).toBe(200);
  const cookie = signedIn.headers.get("set-cookie")?.split(";")[0] ?? "";
  const me = (await (await fresh.request("/api/me", { headers: { cookie } })).json()) as { user: { role: string } };
  expect(me.user.role).toBe("investor");

  const sneaky = await signUp({
    email: "second@example.com",
    password: "second user password",
    name: "S",
    role: "admin",
  });
  expect(sneaky.status).toBe(400);
});

test("BOOTSTRAP_ADMIN_* creates the admin at start, once, and leaves it alone on the next start", async () => {
  const config = requireResolved(
    loadConfig({
      ...kit.env,
      PORT: "0",
      BOOTSTRAP_ADMIN_EMAIL: "boot@example.com",
      BOOTSTRAP_ADMIN_PASSWORD: "bootstrap password 1",
    }),
  );
  const log = createLogger(config);
  for (let run = 0; run < 2; run++) {
    const running = await startKit(config, ["api"], log);
    await running.stop();
  }
  const { cookie } = await signIn(kit, "boot@example.com", "bootstrap password 1");
  const me = (await (await kit.request("/api/me", { headers: { cookie } })).json()) as { user: { role: string } };
  expect(me.user.role).toBe("admin");
});

test("indexer:reset forgets one chain's index, and refuses while an indexer holds that chain", async () => {
  const hash = `0x${"cd".repeat(32)}`;
  for (const chainId of [31337, 1]) {
    await kit.deps.pool.query(
      `insert into tokens (chain_id, address, name, symbol, decimals, kind, discovered_via, deployment_block)
       values ($1, $2, 'T', 'T', 0, 'erc20', 'config', 1)`,
      [chainId, `0x${String(chainId).padStart(40, "0")}`],
    );
    await kit.deps.pool.query(
      "insert into indexer_checkpoints (chain_id, block_number, block_hash) values ($1, 9, $2)",
      [chainId, hash],
    );
  }
  const count = async (chainId: number) =>
    Number((await kit.deps.pool.query("select count(*) as n from tokens where chain_id = $1", [chainId])).rows[0].n);

  // An indexer of chain 31337 is running: it holds the lock the reset needs.
  const indexer = await kit.deps.pool.connect();
  try {
    await indexer.query("select pg_advisory_lock(1263097944, 31337)");
    const refused = cli(["indexer:reset", "--chain-id", "31337"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("stop every indexer process first");
    expect(await count(31337)).toBe(1);
  } finally {
    await indexer.query("select pg_advisory_unlock(1263097944, 31337)");
    indexer.release();
  }

  const reset = cli(["indexer:reset", "--chain-id", "31337"]);
  expect(reset.exitCode).toBe(0);
  expect(reset.stdout.toString()).toContain("forgot chain 31337's index (2 rows)");
  expect(await count(31337)).toBe(0);
  expect(await count(1)).toBe(1);

  const bad = cli(["indexer:reset", "--chain-id", "mainnet"]);
  expect(bad.exitCode).toBe(1);
  expect(bad.stderr.toString()).toContain("--chain-id");
});

test("keys:create makes a key carrying the grants given, printed once; bad grants exit 1 with the vocabulary", async () => {
  const owner = cli(["users:create", "--email", "service@example.com", "--role", "issuer"]);
  expect(owner.exitCode).toBe(0);
  const made = cli([
    "keys:create",
    "--email",
    "Service@example.com",
    "--grant",
    "me:read",
    "--grant",
    "kyc:read,submit",
  ]);
  expect(made.exitCode).toBe(0);
  const out = made.stdout.toString();
  expect(out).toContain("granting me: read; kyc: read, submit");
  const key = out.match(/key \(shown once\): (\S+)/)?.[1] ?? "";
  expect(key.startsWith("kit_")).toBe(true);
  const headers = { "x-api-key": key, "content-type": "application/json" };
  const me = await kit.request("/api/me", { headers });
  expect(me.status).toBe(200);
  expect(((await me.json()) as { keyGrants: unknown }).keyGrants).toEqual({ me: ["read"], kyc: ["read", "submit"] });
  // Only what it carries: not settings.
  const settings = await kit.request("/api/settings", {
    method: "PATCH",
    headers,
    body: JSON.stringify({ theme: "dark" }),
  });
  expect(settings.status).toBe(403);

  for (const [args, says] of [
    [["keys:create", "--email", "service@example.com", "--grant", "users:impersonate"], "unknown users: impersonate"],
    [["keys:create", "--email", "service@example.com", "--grant", "me"], "at least one, as subject:action"],
    [["keys:create", "--email", "service@example.com"], "at least one"],
    [["keys:create", "--email", "nobody@example.com", "--grant", "me:read"], "no user has the e-mail"],
  ] as const) {
    const result = cli([...args]);
    expect({ args, exitCode: result.exitCode }).toEqual({ args, exitCode: 1 });
    expect(result.stderr.toString()).toContain(says);
  }
});

test("indexer:reset --token forgets one token; while an indexer runs, only a quarantined one", async () => {
  const chainId = 31337;
  const [factoryToken, configToken] = [
    "0x00000000000000000000000000000000000000f1",
    "0x00000000000000000000000000000000000000c1",
  ];
  await kit.deps.pool.query(
    `insert into tokens (chain_id, address, name, symbol, decimals, kind, discovered_via, deployment_block, factory,
       total_supply, quarantined_at, quarantine_reason, catch_up_block)
     values ($1, $2, 'F', 'F', 0, 't-rex', 'factory', 5, $4, 7, now(), 'holder … would hold -5', 8),
            ($1, $3, 'C', 'C', 0, 'erc20', 'config', 5, null, 0, null, null, null)`,
    [chainId, factoryToken, configToken, `0x${"fa".repeat(20)}`],
  );
  await kit.deps.pool.query(
    `insert into indexer_checkpoints (chain_id, block_number, block_hash) values ($1, 20, $2)
     on conflict (chain_id) do update set block_number = 20`,
    [chainId, `0x${"cd".repeat(32)}`],
  );
  await kit.deps.pool.query(
    `insert into token_balances (chain_id, token, holder, balance, updated_block) values ($1, $2, $3, 7, 6)`,
    [chainId, factoryToken, `0x${"ab".repeat(20)}`],
  );
  const token = async (address: string) =>
    (
      await kit.deps.pool.query(
        "select total_supply, quarantined_at, quarantine_reason, catch_up_block from tokens where address = $1",
        [address],
      )
    ).rows[0];

  const indexer = await kit.deps.pool.connect();
  try {
    await indexer.query("select pg_advisory_lock(1263097944, 31337)");
    // A quarantined token is in no batch: reset while the indexer runs, it reads again from its creation.
    const reset = cli([
      "indexer:reset",
      "--chain-id",
      "31337",
      "--token",
      factoryToken.toUpperCase().replace("0X", "0x"),
    ]);
    expect(reset.stdout.toString()).toContain(`forgot token ${factoryToken}'s index (1 rows)`);
    expect(reset.exitCode).toBe(0);
    expect(await token(factoryToken)).toEqual({
      total_supply: "0",
      quarantined_at: null,
      quarantine_reason: null,
      catch_up_block: "4",
    });
    const refused = cli(["indexer:reset", "--chain-id", "31337", "--token", configToken]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("is not quarantined: stop every indexer process first");
  } finally {
    await indexer.query("select pg_advisory_unlock(1263097944, 31337)");
    indexer.release();
  }
  // With no indexer running any token may be reset; one from INDEXER_TOKENS is removed (added again from there).
  const forgotten = cli(["indexer:reset", "--chain-id", "31337", "--token", configToken]);
  expect(forgotten.exitCode).toBe(0);
  expect(forgotten.stdout.toString()).toContain("an indexer adds it again from INDEXER_TOKENS");
  expect(await token(configToken)).toBeUndefined();

  const unknown = cli(["indexer:reset", "--chain-id", "31337", "--token", configToken]);
  expect(unknown.exitCode).toBe(1);
  expect(unknown.stderr.toString()).toContain("is not indexed on chain 31337");
  const bad = cli(["indexer:reset", "--chain-id", "31337", "--token", "0x1234"]);
  expect(bad.exitCode).toBe(1);
  expect(bad.stderr.toString()).toContain("--token: expected a token address");
});
