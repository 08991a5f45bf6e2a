// @kit/client in a real browser (Debian's Chromium, headless), from a page on an origin of its own:
// the README's React example signs in through its form and shows the KYC status; the page signs up
// with the session cookie, uploads documents straight to the object store and streams kyc.events over
// fetch. A reviewer in Bun claims and approves; the stream and the example both follow, live.
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../api/src/dev/ports";
import { DAPP_ORIGIN, startKit } from "../test/kit";

const CHROMIUM = "/usr/bin/chromium";
const pagePort = await freePort();
const pageOrigin = `http://localhost:${pagePort}`;
// Same site as the page (localhost), another origin: CORS with credentials, Lax cookies sent. The
// reviewer in Bun is a cookie client of DAPP_ORIGIN: cookie mutations need a trusted origin.
const kit = await startKit({ host: "localhost", env: { CORS_ORIGINS: `${pageOrigin},${DAPP_ORIGIN}` } });

interface Report {
  step: string;
  [key: string]: unknown;
}

const reports: Report[] = [];
const waiting = new Set<() => void>();

/** The first report of `step` that `matches`, or a failure naming everything seen so far. */
async function reported(step: string, matches: (report: Report) => boolean = () => true, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const error = reports.find((r) => r.step === "error");
    if (error) throw new Error(`the page failed: ${error.message}`);
    const found = reports.find((r) => r.step === step && matches(r));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no "${step}" within ${ms} ms; seen: ${JSON.stringify(reports)}`);
    await new Promise<void>((resolve) => {
      const wake = () => {
        waiting.delete(wake);
        resolve();
      };
      waiting.add(wake);
      setTimeout(wake, 200);
    });
  }
}

const build = await Bun.build({
  entrypoints: [join(import.meta.dir, "../test/browser/page.ts")],
  target: "browser",
  // What Vite would put in for the example's `import.meta.env.VITE_KIT_URL`.
  define: { "import.meta.env.VITE_KIT_URL": JSON.stringify(kit.baseUrl), "process.env.NODE_ENV": '"production"' },
});
if (!build.success) throw new AggregateError(build.logs, "the page did not build");
const script = (await build.outputs[0]?.text()) ?? "";

const page = Bun.serve({
  port: pagePort,
  hostname: "127.0.0.1",
  fetch: async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/report" && request.method === "POST") {
      reports.push((await request.json()) as Report);
      for (const wake of waiting) wake();
      return new Response(null, { status: 204 });
    }
    if (pathname === "/page.js") return new Response(script, { headers: { "content-type": "text/javascript" } });
    if (pathname === "/favicon.ico") return new Response(null, { status: 204 });
    return new Response('<!doctype html><title>dApp</title><script type="module" src="/page.js"></script>', {
      headers: { "content-type": "text/html" },
    });
  },
});

const profile = await mkdtemp(join(tmpdir(), "kit-client-chromium-"));
afterAll(async () => {
  page.stop(true);
  await rm(profile, { recursive: true, force: true });
});

test.skipIf(!existsSync(CHROMIUM))(
  "the React example, the session cookie, direct uploads and live kyc.events work in Chromium",
  async () => {
    const reviewer = kit.browserClient();
    const credentials = {
      email: `reviewer-${crypto.randomUUID().slice(0, 8)}@example.com`,
      password: "a long password for the dApp",
    };
    const signedUp = await reviewer.auth.signUp.email({ ...credentials, name: "Rita Reviewer" });
    await reviewer.auth.signIn.email(credentials);
    const admin = kit.browserClient();
    await admin.auth.signIn.email(kit.admin);
    await admin.rpc.users.setRole({ id: signedUp.data?.user.id ?? "", role: "kyc_reviewer" });

    const email = `browser-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const url = `${pageOrigin}/?${new URLSearchParams({ api: kit.baseUrl, email })}`;
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
      expect(await reported("signed-up")).toMatchObject({ email, authenticatedWith: "session" });
      const shows = (text: string) => (r: Report) => String(r.text).includes(text);
      await reported("shown", shows("Sign in"));
      await reported("shown", shows("KYC status: not started"));
      const { applicationId } = await reported("submitted");
      expect(applicationId).toBeString();
      await reported("shown", shows("KYC status: submitted"));

      // The page's own stream opens with the current status; then the reviewer acts.
      await reported("event", (r) => r.status === "submitted");
      await reviewer.rpc.kyc.review.claim({ applicationId: String(applicationId) });
      expect(await reported("event", (r) => r.status === "in_review")).toMatchObject({ previousStatus: "submitted" });
      await reported("shown", shows("KYC status: in_review"));
      await reviewer.rpc.kyc.review.decide({ applicationId: String(applicationId), decision: "approve" });
      await reported("done");
      await reported("shown", shows("KYC status: approved"));
      expect(reports.filter((r) => r.step === "event").map((r) => r.status)).toEqual([
        "submitted",
        "in_review",
        "approved",
      ]);
    } finally {
      chromium.kill("SIGTERM");
      await chromium.exited;
    }
  },
  60_000,
);
