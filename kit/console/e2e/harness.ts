// A real Kit for the console's browser tests: the api process (`bun src/main.ts --role api`, the
// console built and served at /console) on its own database, Redis prefix and s3rver; users made
// in-process; Debian's Chromium driven by playwright-core. With `chain`, an anvil holding Kit's
// token suite and demo tokens (kit/contracts' snapshot) and every role in the process (`--role
// all`: the worker sends token operations, the indexer follows the tokens). `stop()` ends it all.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKitClient, type KitClient } from "@kit/client";
import { type DevChain, startDevChain, writeDeployment } from "@kit/contracts";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { loadConfig, requireResolved } from "../../api/src/config";
import type { Deps } from "../../api/src/deps";
import { freePort } from "../../api/src/dev/ports";
import type { RoleName } from "../../api/src/domains/auth/permissions";
import { createPasswordUser } from "../../api/src/domains/auth/service";
import { createLogger } from "../../api/src/infra/log";
import { closeDeps, createDeps } from "../../api/src/runtime";
import { createTestEnvironment } from "../../api/test/kit";
import { serveKit } from "../../api/test/serve";
import { identityCardPng, proofOfAddressPdf } from "./documents";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps dialling Google, which this machine refuses.
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOTS = join(import.meta.dir, "screenshots");
const CONSOLE_DIR = join(import.meta.dir, "..");

export interface ConsoleUser {
  id: string;
  email: string;
  password: string;
  name: string;
}

export interface ConsoleKit {
  url: string;
  deps: Deps;
  /** With `chain`: the anvil Kit uses, its deployment (demo tokens) and accounts (verified investors). */
  chain?: DevChain;
  browser: Browser;
  createUser(role: RoleName, name: string): Promise<ConsoleUser>;
  /** @kit/client signed in as `user` with a bearer token, as a dApp or a service would be. */
  clientFor(user: ConsoleUser): Promise<KitClient>;
  /** A fresh browser context (its own cookies; playwright gives Chromium a fresh profile) with a page that records console errors. */
  openPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }>;
  screenshot(page: Page, name: string, path?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the console (fast, and the test then always sees the current sources). */
export async function buildConsole(): Promise<void> {
  const build = Bun.spawn(["bun", "run", "build"], { cwd: CONSOLE_DIR, stdout: "pipe", stderr: "pipe" });
  if ((await build.exited) !== 0) {
    throw new Error(`the console did not build:\n${await new Response(build.stderr).text()}`);
  }
}

/** anvil with the demo tokens, and a deployment file naming them for Kit (its indexer finds them there). */
async function startChain(): Promise<{ chain: DevChain; env: Record<string, string>; stop(): Promise<void> }> {
  const chain = await startDevChain();
  const dir = await mkdtemp(join(tmpdir(), "kit-console-chain-"));
  const deploymentFile = join(dir, "deployment.json");
  await writeDeployment(deploymentFile, chain.deployment);
  return {
    chain,
    env: { RPC_URL: chain.rpcUrl, CHAIN_DEPLOYMENT_FILE: deploymentFile },
    stop: async () => {
      await chain.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startConsoleKit(
  options: { chain?: boolean /** More environment for the api (e.g. SMTP_URL). */; env?: Record<string, string> } = {},
): Promise<ConsoleKit> {
  await buildConsole();
  const environment = await createTestEnvironment();
  const chain = options.chain ? await startChain() : undefined;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The page's origin is Kit's own: better-auth trusts it, and the buckets' CORS rule names it.
  // One trusted proxy hop lets `clientFor` sign in from addresses of its own: the browsers' sign-ins
  // and the clients' would otherwise share 127.0.0.1's sign-in limit (10 a minute).
  const env = {
    ...environment.env,
    ...chain?.env,
    PUBLIC_URL: url,
    CORS_ORIGINS: url,
    TRUST_PROXY_HOPS: "1",
    ...options.env,
  };
  const served = await serveKit(env, { port, role: chain ? "all" : "api" }).catch(async (error) => {
    await chain?.stop();
    await environment.cleanup();
    throw error;
  });
  const config = requireResolved(loadConfig(env));
  const deps = createDeps(config, createLogger(config));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  await mkdir(SCREENSHOTS, { recursive: true });

  const createUser = async (role: RoleName, name: string): Promise<ConsoleUser> => {
    const email = `${name.toLowerCase().replace(/\W+/g, ".")}.${crypto.randomUUID().slice(0, 6)}@example.com`;
    const password = "a long e2e password";
    const created = await createPasswordUser(deps, { email, password, role, name });
    if (!created) throw new Error(`user ${email} exists`);
    return { id: created.id, email, password, name };
  };

  let clientSignIns = 0;
  const clientFor = async (user: ConsoleUser): Promise<KitClient> => {
    clientSignIns += 1;
    const address = `10.77.${clientSignIns >> 8}.${clientSignIns & 255}`;
    const response = await fetch(`${url}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: url, "x-forwarded-for": address },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    const token = response.headers.get("set-auth-token");
    if (!response.ok || !token) throw new Error(`sign-in of ${user.email} failed: ${response.status}`);
    return createKitClient({ baseUrl: url, headers: { authorization: `Bearer ${token}` } });
  };

  const openPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`${message.text()} (${message.location().url})`);
    });
    page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
    return { context, page, errors };
  };

  return {
    url,
    deps,
    chain: chain?.chain,
    browser,
    createUser,
    clientFor,
    openPage,
    screenshot: async (page, name, path) => {
      await page.screenshot({ path: path ?? join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    stop: async () => {
      await browser.close().catch(() => {});
      await closeDeps(deps);
      await served.stop();
      await chain?.stop();
      await environment.cleanup();
    },
  };
}

/** Signs in on the console's page and waits for the shell (or the "not allowed" page). */
export async function signInOnConsole(page: Page, url: string, user: ConsoleUser): Promise<void> {
  await page.goto(`${url}/console/`);
  await page.getByLabel("E-mail").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("hex");
}

/** Declare, PUT the bytes to the presigned URL with exactly the headers given, confirm. */
async function upload(
  client: KitClient,
  document: { type: "passport" | "proof_of_address"; fileName: string; contentType: "image/png" | "application/pdf" },
  bytes: Uint8Array<ArrayBuffer>,
): Promise<void> {
  const created = await client.rpc.kyc.documents.createUpload({
    ...document,
    size: bytes.byteLength,
    sha256: await sha256Hex(bytes),
  });
  const put = await fetch(created.uploadUrl, { method: "PUT", headers: created.headers, body: bytes });
  if (!put.ok) throw new Error(`upload to the presigned URL failed: ${put.status}`);
  await client.rpc.kyc.documents.confirm({ id: created.documentId });
}

/** A complete draft with a passport (PNG) and a proof of address (PDF), ready to submit. */
export async function applyWithDocuments(
  client: KitClient,
  person: { firstName: string; lastName: string; nationalIdNumber: string },
): Promise<void> {
  await client.rpc.kyc.application.save({
    ...person,
    dateOfBirth: "1986-12-09",
    nationality: "US",
    countryOfResidence: "FR",
    residencyStatus: "permanent_resident",
    address: { line1: "1 rue de Rivoli", city: "Paris", postalCode: "75001", country: "FR" },
    taxResidencies: ["FR"],
  });
  await upload(client, { type: "passport", fileName: "passport.png", contentType: "image/png" }, identityCardPng());
  await upload(
    client,
    { type: "proof_of_address", fileName: "electricity-bill.pdf", contentType: "application/pdf" },
    proofOfAddressPdf(`${person.firstName} ${person.lastName}`),
  );
}
