// Runs in Chromium, bundled from @kit/client as a dApp would bundle it. The README's React example
// is mounted and signed in through its own form; then this page drafts an application, uploads two
// documents straight to the object store and submits, and also streams kyc.events itself. Every step
// and every text the example shows is POSTed to the page's own server, where the test reads it.
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { App } from "../../examples/react-dapp";
import { consumeEventIterator, createKitClient, type KitClient } from "../../src/index";

const params = new URLSearchParams(location.search);
const api = params.get("api") ?? "";
const email = params.get("email") ?? "";
const password = "a long password for the dApp";

function report(step: string, detail: Record<string, unknown> = {}): Promise<unknown> {
  return fetch("/report", { method: "POST", body: JSON.stringify({ step, ...detail }) });
}

addEventListener("error", (event) => void report("error", { message: String((event as ErrorEvent).message) }));
addEventListener("unhandledrejection", (event) => {
  void report("error", { message: String((event as PromiseRejectionEvent).reason) });
});

async function until<T>(what: string, find: () => T | null | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function upload(kit: KitClient, type: "passport" | "proof_of_address", bytes: Uint8Array<ArrayBuffer>) {
  const sha256 = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const created = await kit.rpc.kyc.documents.createUpload({
    type,
    fileName: `${type}.pdf`,
    contentType: "application/pdf",
    size: bytes.byteLength,
    sha256,
  });
  const put = await fetch(created.uploadUrl, { method: "PUT", headers: created.headers, body: bytes });
  if (!put.ok) throw new Error(`upload of ${type} answered ${put.status}`);
  return kit.rpc.kyc.documents.confirm({ id: created.documentId });
}

async function main() {
  // No fetch, no headers: the browser sends Origin and keeps the cookie (credentials: "include").
  const kit = createKitClient({ baseUrl: api });
  const signedUp = await kit.auth.signUp.email({ email, password, name: "Bea Browser" });
  if (signedUp.error) throw new Error(`sign-up: ${signedUp.error.status} ${signedUp.error.message}`);
  const signedIn = await kit.auth.signIn.email({ email, password });
  if (signedIn.error) throw new Error(`sign-in: ${signedIn.error.status} ${signedIn.error.message}`);
  const me = await kit.rpc.me.get();
  await report("signed-up", { email: me.user.email, authenticatedWith: me.authenticatedWith });
  await kit.auth.signOut();

  // The example, signed out: it shows its form; fill it in and submit as a person would.
  const root = document.createElement("main");
  document.body.append(root);
  let shown = "";
  new MutationObserver(() => {
    if (root.textContent !== shown) {
      shown = root.textContent ?? "";
      void report("shown", { text: shown });
    }
  }).observe(root, { subtree: true, childList: true, characterData: true });
  createRoot(root).render(createElement(App));
  const form = await until("the sign-in form", () => root.querySelector("form"));
  (form.elements.namedItem("email") as HTMLInputElement).value = email;
  (form.elements.namedItem("password") as HTMLInputElement).value = password;
  form.requestSubmit();
  await until("the signed-in example", () => shown.includes("KYC status: not started"));

  await kit.rpc.kyc.application.save({
    firstName: "Bea",
    lastName: "Browser",
    dateOfBirth: "1990-02-03",
    nationality: "DE",
    countryOfResidence: "DE",
    residencyStatus: "citizen",
    address: { line1: "Unter den Linden 1", city: "Berlin", postalCode: "10117", country: "DE" },
    nationalIdNumber: "L01X00T47",
    taxResidencies: ["DE"],
  });
  const pdf = (text: string) => new TextEncoder().encode(`%PDF-1.4\n% ${text}\n%%EOF\n`);
  await upload(kit, "passport", pdf("passport"));
  await upload(kit, "proof_of_address", pdf("utility bill"));
  const submitted = await kit.rpc.kyc.application.submit();
  await report("submitted", { applicationId: submitted.id });

  // The event iterator without React: callbacks, and a function that cancels.
  const cancel = consumeEventIterator(kit.rpc.kyc.events(), {
    onEvent: (event) => {
      // Status changes only: on-chain snapshots (`onchain`) have no status of the application.
      if ("onchain" in event) return;
      void report("event", { status: event.status, previousStatus: event.previousStatus });
      if (event.status === "approved") void cancel().then(() => report("done"));
    },
    onError: (error) => void report("error", { message: `kyc.events: ${error}` }),
  });
}

main().catch((error) => report("error", { message: String(error?.stack ?? error) }));
