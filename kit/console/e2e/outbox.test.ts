// "Outbox (dev)" against `bun run dev` itself (its own data folder, database, ports): the embedded
// SMTP server keeps what Kit sends under <DATA_DIR>/mail, and an admin reads it in the console.
import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { loadConfig, requireResolved } from "../../api/src/config";
import { freePort } from "../../api/src/dev/ports";
import { createPasswordUser } from "../../api/src/domains/auth/service";
import { createLogger } from "../../api/src/infra/log";
import { closeDeps, createDeps } from "../../api/src/runtime";
import { createTestEnvironment } from "../../api/test/kit";
import { buildConsole, CHROMIUM, CHROMIUM_FLAGS, signInOnConsole } from "./harness";

const hasChromium = existsSync(CHROMIUM);

describe.skipIf(!hasChromium)("console: Outbox (dev)", () => {
  test("an admin lists the mail the dev stack received and reads one", async () => {
    await buildConsole();
    const environment = await createTestEnvironment();
    const dataDir = await mkdtemp(join(tmpdir(), "kit-dev-mail-"));
    const { RPC_URL: _rpc, CHAIN_DEPLOYMENT_FILE: _file, ...services } = environment.env;
    const port = await freePort();
    const url = `http://localhost:${port}`;
    const env = {
      PATH: process.env.PATH ?? "",
      ...services,
      NODE_ENV: "development",
      LOG_LEVEL: "warn",
      DATABASE_MIGRATE: "true",
      PORT: String(port),
      ANVIL_PORT: String(await freePort()),
      DATA_DIR: dataDir,
    };
    const stack = spawn("bun", ["run", "--cwd", join(import.meta.dir, "../../api"), "dev"], {
      env,
      detached: true,
      stdio: "pipe",
    });
    let output = "";
    stack.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise((resolve) => stack.once("exit", resolve));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    afterAll(async () => {
      await browser.close().catch(() => {});
      if (stack.exitCode === null) process.kill(-(stack.pid as number), "SIGINT");
      await exited;
      await environment.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    });
    const deadline = Date.now() + 60_000;
    while (!output.includes("is running")) {
      if (Date.now() > deadline || stack.exitCode !== null) throw new Error(`dev stack did not start:\n${output}`);
      await Bun.sleep(100);
    }
    expect(output).toContain(`${url}/console/outbox`);
    expect(output).toContain(join(dataDir, "mail"));

    const config = requireResolved(
      loadConfig({ ...env, S3_ENDPOINT: "http://127.0.0.1:1", RPC_URL: "http://127.0.0.1:1" }),
    );
    const deps = createDeps(config, createLogger(config));
    const admin = { email: `admin.${crypto.randomUUID().slice(0, 6)}@example.com`, password: "a long e2e password" };
    await createPasswordUser(deps, { ...admin, role: "admin", name: "Ada Admin" });
    await closeDeps(deps);

    // Mail for the admin: the worker of the dev stack sends it to the embedded server.
    const asked = await fetch(`${url}/api/auth/request-password-reset`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: url },
      body: JSON.stringify({ email: admin.email, redirectTo: `${url}/console/reset-password` }),
    });
    expect(asked.status).toBe(200);
    const mailDir = join(dataDir, "mail");
    for (let i = 0; i < 100 && !(await readdir(mailDir).catch(() => [])).some((f) => f.endsWith(".eml")); i++)
      await Bun.sleep(100);

    const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await signInOnConsole(page, url, { id: "", name: "Ada Admin", ...admin });
    await page.getByRole("link", { name: "Outbox (dev)" }).click();
    await page.getByRole("button", { name: "Reset your Kit password" }).click();
    await page.getByRole("heading", { name: "Reset your Kit password" }).waitFor();
    expect(await page.textContent("pre.mail-text")).toContain("/api/auth/reset-password/");
    await page.screenshot({ path: join(import.meta.dir, "screenshots", "outbox-dev.png"), fullPage: true });
    await context.close();
    expect(errors).toEqual([]);
  }, 120_000);
});
