// A KYC application end to end through @kit/client against a real Kit: the investor drafts, uploads
// two documents to their presigned URLs and submits; a reviewer claims and approves; the investor's
// event iterator sees each change as it happens. Plus the typed errors along the way.
import { beforeAll, describe, expect, test } from "bun:test";
import { QueryClient } from "@tanstack/query-core";
import { startKit } from "../test/kit";
import { isDefinedError, type KitClient, safe } from "./index";

const kit = await startKit();
const password = "a long password for the dApp";

async function signUp(name: string): Promise<KitClient & { id: string }> {
  const client = kit.browserClient();
  const email = `${name.toLowerCase().replace(/\W+/g, "-")}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const { data, error } = await client.auth.signUp.email({ email, password, name });
  if (error || !data) throw new Error(`sign-up failed: ${error?.message}`);
  const signedIn = await client.auth.signIn.email({ email, password });
  if (signedIn.error) throw new Error(`sign-in failed: ${signedIn.error.message}`);
  return { ...client, id: data.user.id };
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Buffer.from(digest).toString("hex");
}

/** The whole upload: declare, PUT the bytes to the presigned URL with the headers given, confirm. */
async function uploadDocument(
  client: KitClient,
  document: { type: "passport" | "proof_of_address"; fileName: string; contentType: "application/pdf" | "image/png" },
  bytes: Uint8Array<ArrayBuffer>,
) {
  const upload = await client.rpc.kyc.documents.createUpload({
    ...document,
    size: bytes.byteLength,
    sha256: await sha256Hex(bytes),
  });
  const put = await fetch(upload.uploadUrl, { method: "PUT", headers: upload.headers, body: bytes });
  expect(put.status).toBe(200);
  return client.rpc.kyc.documents.confirm({ id: upload.documentId });
}

/** The next event, or a failure after `ms`: a stream that stays silent must not hang the test. */
async function nextEvent<T>(events: AsyncIterator<T>, ms = 5_000): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
  });
  try {
    const result = await Promise.race([events.next(), timeout]);
    if (result.done) throw new Error("the event stream ended");
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

const passportPdf = new TextEncoder().encode("%PDF-1.4\n% passport of Ada Lovelace\n%%EOF\n");
const utilityBillPng = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8]);

let investor: KitClient & { id: string };
let reviewer: KitClient & { id: string };

beforeAll(async () => {
  investor = await signUp("Ada Lovelace");
  reviewer = await signUp("Rita Reviewer");
  const admin = kit.browserClient();
  const signedIn = await admin.auth.signIn.email(kit.admin);
  if (signedIn.error) throw new Error(`admin sign-in failed: ${signedIn.error.message}`);
  await admin.rpc.users.setRole({ id: reviewer.id, role: "kyc_reviewer" });
});

describe("KYC through the client", () => {
  let applicationId: string;

  test("draft, upload two documents to their presigned URLs, submit", async () => {
    expect(await investor.rpc.kyc.application.get()).toBeNull();

    const draft = await investor.rpc.kyc.application.save({
      firstName: "Ada",
      lastName: "Lovelace",
      dateOfBirth: "1985-12-10",
      nationality: "GB",
      countryOfResidence: "FR",
      residencyStatus: "permanent_resident",
      address: { line1: "1 rue de Rivoli", city: "Paris", postalCode: "75001", country: "FR" },
      nationalIdNumber: "AB 123456",
      taxResidencies: ["FR"],
    });
    applicationId = draft.id;
    expect(draft.status).toBe("draft");
    expect(draft.missing.length).toBeGreaterThan(0);

    // Submitting before the documents are in: a typed PRECONDITION_FAILED saying what is missing.
    const [early] = await safe(investor.rpc.kyc.application.submit());
    if (!isDefinedError(early)) throw new Error(`expected a typed error, got ${early}`);
    expect(early.code).toBe("PRECONDITION_FAILED");

    const passport = await uploadDocument(
      investor,
      { type: "passport", fileName: "passport.pdf", contentType: "application/pdf" },
      passportPdf,
    );
    expect(passport).toMatchObject({ type: "passport", status: "confirmed", size: passportPdf.byteLength });
    await uploadDocument(
      investor,
      { type: "proof_of_address", fileName: "utility-bill.png", contentType: "image/png" },
      utilityBillPng,
    );
    expect(await investor.rpc.kyc.documents.list()).toHaveLength(2);

    // What the owner downloads is what was uploaded.
    const { url } = await investor.rpc.kyc.documents.downloadUrl({ id: passport.id });
    expect(new Uint8Array(await (await fetch(url)).arrayBuffer())).toEqual(passportPdf);

    const ready = await investor.rpc.kyc.application.get();
    expect(ready?.missing).toEqual([]);
    const submitted = await investor.rpc.kyc.application.submit({ version: ready?.version });
    expect(submitted.status).toBe("submitted");
  });

  test("the investor's event iterator sees the reviewer claim and approve, live", async () => {
    const events = await investor.rpc.kyc.events();
    try {
      // A stream starts with the current status.
      expect(await nextEvent(events)).toMatchObject({ applicationId, status: "submitted" });

      const queue = await reviewer.rpc.kyc.review.queue({});
      expect(queue.items.map((item) => item.id)).toContain(applicationId);

      await reviewer.rpc.kyc.review.claim({ applicationId });
      const claimed = await nextEvent(events);
      expect(claimed).toMatchObject({ applicationId, status: "in_review", previousStatus: "submitted" });
      // Who reviews it is the reviewers' business: the applicant's stream never names them.
      expect(claimed).not.toHaveProperty("reviewerId");

      await reviewer.rpc.kyc.review.decide({ applicationId, decision: "approve" });
      const approved = await nextEvent(events);
      expect(approved).toMatchObject({ applicationId, status: "approved", previousStatus: "in_review" });
      if (!("version" in approved)) throw new Error("expected a status event, not an on-chain snapshot");
      expect(approved.version).toBeGreaterThan(1);
    } finally {
      await events.return?.();
    }
  });

  test("TanStack Query options fetch through the same client", async () => {
    const queryClient = new QueryClient();
    const options = investor.query.kyc.application.get.queryOptions();
    const application = await queryClient.fetchQuery(options);
    expect(application).toMatchObject({ id: applicationId, status: "approved" });
    expect(queryClient.getQueryData(options.queryKey)?.status).toBe("approved");
    queryClient.clear();
  });

  test("errors arrive typed: CONFLICT, NOT_FOUND, FORBIDDEN, BAD_REQUEST with issues", async () => {
    // Deciding again: the application is no longer in review.
    const [again] = await safe(reviewer.rpc.kyc.review.decide({ applicationId, decision: "approve" }));
    if (!isDefinedError(again)) throw new Error(`expected a typed error, got ${again}`);
    expect(again.code).toBe("CONFLICT");
    expect(again.status).toBe(409);

    // Another user's document, or one that does not exist: the same NOT_FOUND.
    const [missing] = await safe(investor.rpc.kyc.documents.confirm({ id: crypto.randomUUID() }));
    expect(isDefinedError(missing) && missing.code).toBe("NOT_FOUND");

    // An investor is not a reviewer.
    const [forbidden] = await safe(investor.rpc.kyc.review.queue({}));
    expect(isDefinedError(forbidden) && forbidden.code).toBe("FORBIDDEN");

    // Invalid input: each issue names its field. `data` is typed from the contract's error map.
    const [invalid] = await safe(
      investor.rpc.kyc.documents.createUpload({
        type: "passport",
        fileName: "x.pdf",
        contentType: "application/pdf",
        size: 0,
        sha256: "not a hash",
      }),
    );
    if (!isDefinedError(invalid) || invalid.code !== "BAD_REQUEST") throw new Error(`expected BAD_REQUEST: ${invalid}`);
    expect(invalid.data?.issues.map((issue) => issue.path).sort()).toEqual(["sha256", "size"]);
  });
});
