// The packed client in a dApp of its own, as a dApp developer gets it: `npm pack` of the build, a
// fresh Vite `react-ts` project outside the workspace (test/vite-app: the template's own tsconfig
// files), `npm install` of the tarball, then tsc (the template's settings, and stricter ones) over a
// page and over every ```ts snippet of the READMEs, `vite build`, and the page in Chromium against a
// real Kit. The project lives in the system's temp folder (nothing of the workspace can be resolved
// from there) and is kept between runs, so a warm run installs only the new tarball.
import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { freePort } from "../../api/src/dev/ports";
import { DAPP_ORIGIN, startKit } from "../test/kit";

const CLIENT = join(import.meta.dir, "..");
const FIXTURE = join(CLIENT, "test", "vite-app");
const READMES = { readme: join(CLIENT, "..", "..", "README.md"), "client-readme": join(CLIENT, "README.md") };
const CHROMIUM = "/usr/bin/chromium";
// One project per checkout and dependency list: a changed package.json starts from a clean folder.
const key = createHash("sha256")
  .update(CLIENT)
  .update(readFileSync(join(FIXTURE, "package.json")))
  .digest("hex")
  .slice(0, 12);
const APP = join(tmpdir(), `kit-client-vite-app-${key}`);

/** Runs a command; a failure throws with everything it printed. */
async function run(command: string[], cwd: string, timeoutMs = 180_000): Promise<string> {
  const child = Bun.spawn(command, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: timeoutMs });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`${command.join(" ")} (in ${cwd}) exited ${code}:\n${stdout}\n${stderr}`);
  return stdout;
}

/** The newest change to a source file under `dir` (the client's declarations inline the api's contract). */
function newestSource(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((path) => path.endsWith(".ts") && !path.endsWith(".test.ts"))
      .map((path) => statSync(join(dir, path)).mtimeMs),
  );
}

/** Builds the client when dist/ is missing or older than its source or the api's (CI builds first). */
async function ensureBuilt() {
  const dts = join(CLIENT, "dist", "index.d.ts");
  const built = existsSync(dts) ? statSync(dts).mtimeMs : 0;
  const source = Math.max(newestSource(join(CLIENT, "src")), newestSource(join(CLIENT, "..", "api", "src")));
  if (built < source) await run(["bun", "run", "build"], CLIENT, 300_000);
}

/** The ```ts and ```tsx blocks of a markdown file. */
function snippetsOf(markdown: string): { code: string; tsx: boolean }[] {
  return [...markdown.matchAll(/^```(tsx?)\n([\s\S]*?)^```$/gm)].map((match) => ({
    tsx: match[1] === "tsx",
    code: match[2] ?? "",
  }));
}

/** What a dApp developer would see from tsc, in one line per config. */
async function typecheck(config: string): Promise<void> {
  await run([join(APP, "node_modules", ".bin", "tsc"), "-p", config], APP).catch((error: Error) => {
    throw new Error(`the dApp does not type-check under ${config}:\n${error.message}`);
  });
}

const pagePort = await freePort();
const pageOrigin = `http://localhost:${pagePort}`;
// The page is another origin of the same site (localhost): CORS with credentials, the Lax cookie sent.
// The test's own clients sign up as the dApp's origin does (browserClient): trusted too.
const kit = await startKit({ host: "localhost", env: { CORS_ORIGINS: `${pageOrigin},${DAPP_ORIGIN}` } });
const profile = mkdtempSync(join(tmpdir(), "kit-client-vite-chromium-"));
afterAll(() => rmSync(profile, { recursive: true, force: true }));

test("the packed client installs in a fresh Vite react-ts project, type-checks there with its READMEs' snippets, and builds", async () => {
  await ensureBuilt();
  const declarations = readFileSync(join(CLIENT, "dist", "index.d.ts"), "utf8");
  const script = readFileSync(join(CLIENT, "dist", "index.js"), "utf8");
  for (const output of [declarations, script]) {
    expect(output).not.toContain("@kit/api");
    expect(output).not.toMatch(/from ["'](\.\.?\/|.*kit\/api)/);
  }

  mkdirSync(APP, { recursive: true });
  const packed = (await run(["npm", "pack", "--json", "--pack-destination", APP], CLIENT)).trim();
  const [tarball] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
  if (!tarball) throw new Error(`npm pack printed no tarball: ${packed}`);
  expect(tarball.files.map((file) => file.path).sort()).toEqual([
    "README.md",
    "dist/index.d.ts",
    "dist/index.js",
    "package.json",
  ]);

  // The template's files as they come, the page and the snippets' globals; the READMEs' snippets beside.
  for (const entry of readdirSync(FIXTURE)) {
    if (entry !== "README.md") cpSync(join(FIXTURE, entry), join(APP, entry), { recursive: true, force: true });
  }
  const snippets = join(APP, "snippets");
  for (const file of readdirSync(snippets)) if (file !== "globals.d.ts") rmSync(join(snippets, file));
  let count = 0;
  for (const [name, path] of Object.entries(READMES)) {
    for (const [index, snippet] of snippetsOf(readFileSync(path, "utf8")).entries()) {
      await Bun.write(join(snippets, `${name}-${index + 1}.${snippet.tsx ? "tsx" : "ts"}`), snippet.code);
      count++;
    }
  }
  expect(count).toBeGreaterThanOrEqual(3);

  await run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", join(APP, tarball.filename)], APP).catch(
    (error: Error) => {
      if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network/i.test(error.message)) {
        throw new Error(
          `The npm registry is unreachable: this test installs Vite, React and TypeScript from it into ${APP} (CI reaches it; a warm run needs only the new tarball).\n${error.message}`,
        );
      }
      throw error;
    },
  );
  const installed = JSON.parse(readFileSync(join(APP, "node_modules", "@kit", "client", "package.json"), "utf8"));
  expect(JSON.stringify(installed.dependencies)).not.toContain("workspace:");

  // The template's own settings (TypeScript 7), then exactOptionalPropertyTypes and
  // noUncheckedIndexedAccess, then module resolution as Node does it; and its vite.config.ts.
  for (const config of ["tsconfig.app.json", "tsconfig.strict.json", "tsconfig.nodenext.json", "tsconfig.node.json"]) {
    await typecheck(config);
  }
  await run([join(APP, "node_modules", ".bin", "vite"), "build", "--logLevel", "warn"], APP);
  expect(existsSync(join(APP, "dist", "index.html"))).toBe(true);
}, 300_000);

interface Report {
  step: string;
  [key: string]: unknown;
}

test.skipIf(!existsSync(CHROMIUM))(
  "the built dApp signs in and reads two procedures in Chromium",
  async () => {
    const dist = join(APP, "dist");
    if (!existsSync(join(dist, "index.html"))) throw new Error("the dApp was not built: see the test above");
    const reports: Report[] = [];
    const page = Bun.serve({
      port: pagePort,
      hostname: "127.0.0.1",
      fetch: async (request) => {
        const { pathname } = new URL(request.url);
        if (pathname === "/report" && request.method === "POST") {
          reports.push((await request.json()) as Report);
          return new Response(null, { status: 204 });
        }
        const file = Bun.file(join(dist, pathname === "/" ? "index.html" : pathname));
        if (!pathname.includes("..") && (await file.exists())) {
          const type = extname(pathname) === ".js" ? "text/javascript" : file.type;
          return new Response(file, { headers: { "content-type": type } });
        }
        return new Response("not found", { status: 404 });
      },
    });

    const user = kit.browserClient();
    const credentials = { email: `vite-${crypto.randomUUID().slice(0, 8)}@example.com`, password: "a long password" };
    expect((await user.auth.signUp.email({ ...credentials, name: "Vi Te" })).error).toBeNull();

    const url = `${pageOrigin}/?${new URLSearchParams({ api: kit.baseUrl, ...credentials })}`;
    const chromium = Bun.spawn(
      [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        `--user-data-dir=${profile}`,
        url,
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    );
    try {
      const deadline = Date.now() + 20_000;
      let shown: Report | undefined;
      while (!shown && Date.now() < deadline) {
        const failed = reports.find((r) => r.step === "error");
        if (failed) throw new Error(`the page failed: ${failed.message}`);
        shown = reports.find((r) => r.step === "shown");
        await Bun.sleep(100);
      }
      if (!shown) throw new Error(`the page showed nothing within 20 s; it reported ${JSON.stringify(reports)}`);
      expect(shown.email).toBe(credentials.email);
      expect(shown.currencies).toBeGreaterThan(100);
    } finally {
      chromium.kill("SIGTERM");
      await chromium.exited;
      page.stop(true);
    }
  },
  60_000,
);
