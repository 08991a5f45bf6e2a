// The first admin: made by the CLI or by BOOTSTRAP_ADMIN_* at start, never by "first sign-up".
import { expect, test } from "bun:test";
import { join } from "node:path";
import { createTestKit } from "../test/kit";
import { signIn, TRUSTED_ORIGIN } from "../test/users";
import { loadConfig, requireResolved } from "./config";
import { createLogger } from "./infra/log";
import { startKit } from "./runtime";

const kit = await createTestKit();
const cli = (args: string[]) =>
  Bun.spawnSync(["bun", join(import.meta.dir, "cli.ts"), ...args], {
    env: { PATH: process.env.PATH ?? "", ...kit.env },
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

test("sign-up never makes an admin: the first user is an investor, and a role in the body is refused", async () => {
  const fresh = await createTestKit();
  const signUp = (body: Record<string, string>) =>
    fresh.request("/api/auth/sign-up/email", {
      method: "POST",
      headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
      body: JSON.stringify(body),
    });
  const first = await signUp({ email: "first@example.com", password: "first user password", name: "First" });
  expect(first.status).toBe(200);
  const cookie = first.headers.get("set-cookie")?.split(";")[0] ?? "";
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
