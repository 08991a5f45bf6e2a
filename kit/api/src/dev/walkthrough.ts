// `bun run kit demo:walkthrough`: an operator's first hour, run against a dev Kit over its public
// REST API only (what a dApp or a script of the operator's would do), printing each step and where
// to look in the console. Exits 1, naming the step, when anything fails.
import { createHash, randomUUID } from "node:crypto";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { DEMO_USERS } from "./demo-users";

export interface WalkthroughOptions {
  /** Kit's public URL (the one its sign-in cookies and SIWE domain belong to). */
  url: string;
  chainId: number;
  /** Makes the admin (an operator command, not an endpoint); returns its e-mail. */
  createAdmin: (email: string, password: string) => Promise<void>;
  say: (line: string) => void;
  /** How long to wait for the wallet to be verified on chain. */
  onchainTimeoutMs?: number;
}

class WalkthroughError extends Error {}

interface Session {
  headers: Record<string, string>;
}

export async function runWalkthrough(options: WalkthroughOptions): Promise<void> {
  const { url, say } = options;
  const { api, signIn } = restClient(url);
  const step = stepRunner(say);
  const run = randomUUID().slice(0, 8);

  const admin = { email: `admin-${run}@example.com`, password: `walkthrough-${run}-admin` };
  await step("create an admin with `bun run kit users:create`", async () => {
    await options.createAdmin(admin.email, admin.password);
    say(`  ${admin.email} / ${admin.password}: sign in at ${url}/console/users`);
  });

  const investor = { email: `investor-${run}@example.com`, password: `walkthrough-${run}-investor` };
  const applicant = await step("sign up an investor (POST /api/auth/sign-up/email)", async () => {
    await api(undefined, "POST", "/auth/sign-up/email", { ...investor, name: `Walkthrough Investor ${run}` });
    return signIn("/sign-in/email", investor);
  });

  await step("confirm the investor's e-mail address: follow the link in their mail (GET /api/dev/mail)", async () => {
    const session = await signIn("/sign-in/email", admin);
    const link = await verificationLink(api, session, investor.email);
    const followed = await fetch(link, { redirect: "manual" });
    if (followed.status >= 400) throw new WalkthroughError(`the link answered ${followed.status}`);
    say(`  the mail is in the dev outbox: ${url}/console/outbox`);
  });

  const application = await applyForKyc(api, step, applicant, run);

  const reviewer = DEMO_USERS.find((u) => u.role === "kyc_reviewer");
  if (!reviewer) throw new WalkthroughError("no demo reviewer is defined");
  await step(`approve it as the demo reviewer ${reviewer.email}`, async () => {
    const session = await signIn("/sign-in/email", { email: reviewer.email, password: reviewer.password });
    await api(session, "POST", `/kyc/review/${application.id}/claim`, {});
    await api(session, "POST", `/kyc/review/${application.id}/decision`, { decision: "approve" });
    say(`  see it at ${url}/console/applications/${application.id}`);
  });

  const wallet = privateKeyToAccount(generatePrivateKey());
  await step(`link a fresh wallet ${wallet.address} by signing in with Ethereum`, async () => {
    const { nonce } = await api<{ nonce: string }>(applicant, "POST", "/auth/siwe/nonce", {});
    const message = createSiweMessage({
      address: wallet.address,
      chainId: options.chainId,
      domain: new URL(url).host,
      nonce,
      uri: url,
      version: "1",
      issuedAt: new Date(),
    });
    await api(applicant, "POST", "/me/wallets", { message, signature: await wallet.signMessage({ message }) });
  });

  await step("wait until the wallet is verified on chain (GET /api/kyc/application)", () =>
    waitUntilVerified(api, applicant, wallet.address, options),
  );
  say(`✓ done: the investor ${investor.email} is KYC-approved and their wallet may hold Kit's tokens.`);
}

type Api = <T>(session: Session | undefined, method: string, path: string, body?: unknown) => Promise<T>;
type Step = <T>(title: string, action: () => Promise<T>) => Promise<T>;

/** Kit's REST API as a browser on its own origin calls it; a refusal is a WalkthroughError naming the call. */
function restClient(url: string): { api: Api; signIn: (path: string, body: unknown) => Promise<Session> } {
  const api: Api = async <T>(session: Session | undefined, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/api${path}`, {
      method,
      headers: {
        origin: url,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...session?.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new WalkthroughError(`${method} /api${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const signIn = async (path: string, body: unknown): Promise<Session> => {
    const response = await fetch(`${url}/api/auth${path}`, {
      method: "POST",
      headers: { origin: url, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const token = response.headers.get("set-auth-token");
    if (!response.ok || !token)
      throw new WalkthroughError(`POST /api/auth${path} answered ${response.status}: ${await response.text()}`);
    return { headers: { authorization: `Bearer ${token}` } };
  };
  return { api, signIn };
}

/** Prints each step's title and names the step in whatever fails inside it. */
function stepRunner(say: (line: string) => void): Step {
  return async <T>(title: string, action: () => Promise<T>): Promise<T> => {
    say(`→ ${title}`);
    try {
      return await action();
    } catch (error) {
      const reason = error instanceof WalkthroughError ? error.message : String(error);
      throw new WalkthroughError(`✗ ${title}: ${reason}`);
    }
  };
}

/** The applicant's side: the application, its two documents, the submission. */
async function applyForKyc(api: Api, step: Step, applicant: Session, run: string): Promise<{ id: string }> {
  const application = await step("fill a KYC application (PUT /api/kyc/application)", () =>
    api<{ id: string }>(applicant, "PUT", "/kyc/application", {
      firstName: "Grace",
      lastName: `Hopper ${run}`,
      dateOfBirth: "1986-12-09",
      nationalIdNumber: `WT ${run}`,
      nationality: "US",
      countryOfResidence: "FR",
      residencyStatus: "permanent_resident",
      address: { line1: "1 rue de Rivoli", city: "Paris", postalCode: "75001", country: "FR" },
      taxResidencies: ["FR"],
    }),
  );

  for (const type of ["passport", "proof_of_address"] as const) {
    await step(`upload the ${type.replaceAll("_", " ")} (presigned PUT, then confirm)`, async () => {
      const bytes = samplePdf(`${type} of walkthrough ${run}`);
      const upload = await api<{ documentId: string; uploadUrl: string; headers: Record<string, string> }>(
        applicant,
        "POST",
        "/kyc/documents",
        {
          type,
          fileName: `${type}.pdf`,
          contentType: "application/pdf",
          size: bytes.byteLength,
          sha256: createHash("sha256").update(bytes).digest("hex"),
        },
      );
      const put = await fetch(upload.uploadUrl, { method: "PUT", headers: upload.headers, body: bytes });
      if (!put.ok) throw new WalkthroughError(`the object store refused the upload: ${put.status}`);
      await api(applicant, "POST", `/kyc/documents/${upload.documentId}/confirm`, {});
    });
  }

  await step("submit it (POST /api/kyc/application/submit)", () =>
    api(applicant, "POST", "/kyc/application/submit", {}),
  );
  return application;
}

/** Polls the application until the wallet's on-chain registration is done, failed, or overdue. */
async function waitUntilVerified(
  api: Api,
  applicant: Session,
  address: string,
  options: Pick<WalkthroughOptions, "say" | "onchainTimeoutMs">,
): Promise<void> {
  const deadline = Date.now() + (options.onchainTimeoutMs ?? 60_000);
  for (;;) {
    const current = await api<{
      onchain: { wallet: string; status: string; identity: string | null; error: string | null }[];
    }>(applicant, "GET", "/kyc/application");
    const entry = current.onchain.find((o) => o.wallet.toLowerCase() === address.toLowerCase());
    if (entry?.status === "registered") {
      options.say(`  registered in the identity registry; its ONCHAINID identity is ${entry.identity}`);
      return;
    }
    if (entry?.status === "failed") throw new WalkthroughError(`on-chain registration failed: ${entry.error}`);
    if (Date.now() > deadline)
      throw new WalkthroughError(
        `still ${entry?.status ?? "not started"} after ${(options.onchainTimeoutMs ?? 60_000) / 1000} s: is the worker role running?`,
      );
    await Bun.sleep(500);
  }
}

/**
 * The verification link mailed to `email`, read from the dev outbox (the embedded SMTP server's
 * store, `bun run dev` only); the worker sends within seconds of the sign-up.
 */
async function verificationLink(api: Api, admin: Session, email: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const list = await api<{ messages: { id: string; to: string[]; subject: string }[] }>(
      admin,
      "GET",
      "/dev/mail",
    ).catch((error) => {
      throw new WalkthroughError(
        `${(error as Error).message}: this Kit has no dev outbox (SMTP_URL was given), so follow the link mailed to ${email} in that relay's inbox`,
      );
    });
    const found = list.messages.find((m) => m.to.includes(email) && /e-mail/i.test(m.subject));
    if (found) {
      const mail = await api<{ text: string }>(admin, "GET", `/dev/mail/${found.id}`);
      const link = mail.text.match(/https?:\/\/\S+\/api\/auth\/verify-email\S+/)?.[0];
      if (!link) throw new WalkthroughError("the verification mail holds no link");
      return link;
    }
    if (Date.now() > deadline)
      throw new WalkthroughError(`no mail to ${email} after 20 s: is the worker role running?`);
    await Bun.sleep(300);
  }
}

/** The smallest document the upload's content check accepts as a PDF. */
function samplePdf(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`%PDF-1.4\n% ${text}\n%%EOF\n`);
}

export { WalkthroughError };
