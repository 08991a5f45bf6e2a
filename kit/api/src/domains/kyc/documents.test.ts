import { afterAll, describe, expect, test } from "bun:test";
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { eq, sql } from "drizzle-orm";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit, startBlackHole } from "../../../test/kit";
import { createUser, type TestUser } from "../../../test/users";
import { type App, createApp } from "../../app";
import { freePort } from "../../dev/ports";
import { type LocalS3, startLocalS3 } from "../../dev/s3";
import { createStorage, ensureBuckets, type Storage } from "../../infra/storage";
import { contentDisposition } from "./document-download";
import { cleanUpDocuments } from "./document-removal";
import { presignUpload } from "./document-store";
import { kycDocumentAccess, kycDocuments } from "./schema";

// Uploads are rate limited per user (30 a minute) and sign-ins per address (10 a minute); this file
// makes more of both, so uploads get a higher limit and each sign-in comes from an address of its own
// (x-forwarded-for, one trusted proxy hop).
const kit = await createTestKit({
  env: { TRUST_PROXY_HOPS: "1", RATE_LIMITS: JSON.stringify({ "kyc.uploads": { limit: 1000, windowSeconds: 60 } }) },
});

// A store of our own that can stop and come back with its data (the kit's loses it on stop).
const directory = await mkdtemp(join(tmpdir(), "kit-kyc-s3-"));
const port = await freePort();
let s3: LocalS3 = await startLocalS3({ directory, port, keepData: true });
const storage = createStorage({ s3: { ...kit.config.s3, endpoint: s3.endpoint, publicEndpoint: undefined } });
await ensureBuckets(storage, kit.deps.log);
const deps = { ...kit.deps, storage };
/** The app with that store. */
const app = createApp(deps);
afterAll(async () => {
  await s3.stop();
  await rm(directory, { recursive: true, force: true });
});

type Answer = ApiAnswer;

/** As `who`, from a known address and user agent (recorded in the document access log). */
function call(who: TestUser, method: string, path: string, body?: unknown, app: App = kit.app): Promise<Answer> {
  return callApi(app, who, method, path, body, { "user-agent": "kit-tests/1.0", "x-forwarded-for": "192.0.2.7" });
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** A PNG as far as `confirm` can tell (its signature, then `text`): uploads default to image/png. */
const file = (text: string) => new Uint8Array([...PNG_SIGNATURE, ...new TextEncoder().encode(text)]);

async function investorWithDraft(app: App = kit.app): Promise<TestUser> {
  const user = await createUser(kit, "investor");
  const saved = await call(user, "PUT", "/kyc/application", { firstName: "Ada" }, app);
  expect(saved.status).toBe(200);
  return user;
}

interface Started {
  documentId: string;
  uploadUrl: string;
  headers: Record<string, string>;
  expiresAt: string;
}

async function startUpload(
  who: TestUser,
  bytes: Uint8Array,
  declared: Partial<{ type: string; fileName: string; contentType: string; size: number; sha256: string }> = {},
  app: App = kit.app,
): Promise<Started> {
  const answer = await call(
    who,
    "POST",
    "/kyc/documents",
    {
      type: "passport",
      fileName: "passport.png",
      contentType: "image/png",
      size: bytes.length,
      sha256: sha256(bytes),
      ...declared,
    },
    app,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

function put(upload: Pick<Started, "uploadUrl" | "headers">, bytes: Uint8Array<ArrayBuffer>, headers = upload.headers) {
  return fetch(upload.uploadUrl, { method: "PUT", headers, body: bytes });
}

const documentRow = async (id: string) =>
  (await kit.deps.db.select().from(kycDocuments).where(eq(kycDocuments.id, id)))[0];

async function keyOf(documentId: string): Promise<string> {
  const row = await documentRow(documentId);
  if (!row) throw new Error(`no row for document ${documentId}`);
  return row.bucketKey;
}

async function objectExists(storage: Storage, key: string): Promise<boolean> {
  try {
    await storage.client.send(new HeadObjectCommand({ Bucket: storage.buckets.kycDocuments, Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe("upload and confirm", () => {
  test("without an application there is nothing to attach to: PRECONDITION_FAILED saying what to do", async () => {
    const user = await createUser(kit, "investor");
    const answer = await call(user, "POST", "/kyc/documents", {
      type: "passport",
      fileName: "p.png",
      contentType: "image/png",
      size: 3,
      sha256: sha256(file("abc")),
    });
    expect(answer.status).toBe(412);
    expect(answer.body.code).toBe("PRECONDITION_FAILED");
    expect(answer.body.message).toContain("PUT /api/kyc/application");
    expect((await call(user, "GET", "/kyc/documents")).body).toEqual([]);
  });

  test("a presigned PUT stores the file; confirm checks it; the owner downloads it as an attachment", async () => {
    const user = await investorWithDraft();
    const bytes = file("%PNG a real enough passport scan");
    const started = Date.now();
    const upload = await startUpload(user, bytes, { fileName: "Pässport (1).png" });
    // Exactly what the browser must send; it adds content-length itself.
    expect(upload.headers).toEqual({
      "content-type": "image/png",
      "x-amz-checksum-sha256": Buffer.from(sha256(bytes), "hex").toString("base64"),
    });
    expect(upload.uploadUrl.startsWith(kit.s3.endpoint)).toBe(true);
    const validFor = Date.parse(upload.expiresAt) - started;
    expect(validFor).toBeGreaterThan(14 * 60_000);
    expect(validFor).toBeLessThanOrEqual(15 * 60_000 + 1_000);
    const signed = new URL(upload.uploadUrl).searchParams.get("X-Amz-SignedHeaders");
    expect(signed).toBe("content-length;content-type;host;x-amz-checksum-sha256");

    const listed = await call(user, "GET", "/kyc/documents");
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0]).toMatchObject({ id: upload.documentId, status: "pending", confirmedAt: null });

    expect((await put(upload, bytes)).status).toBe(200);
    const confirmed = await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({
      id: upload.documentId,
      type: "passport",
      fileName: "Pässport (1).png",
      contentType: "image/png",
      size: bytes.length,
      sha256: sha256(bytes),
      status: "confirmed",
    });
    // Confirming again changes nothing.
    expect((await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`)).body).toEqual(confirmed.body);
    expect((await call(user, "GET", "/kyc/documents")).body).toEqual([confirmed.body]);

    const link = await call(user, "GET", `/kyc/documents/${upload.documentId}/url`);
    expect(link.status).toBe(200);
    expect(Date.parse(link.body.expiresAt) - Date.now()).toBeGreaterThan(14 * 60_000);
    // A link to Kit, which decrypts: the bucket holds only ciphertext of the file.
    expect(link.body.url.startsWith(`${kit.config.auth.publicUrl}/api/kyc/document-downloads/`)).toBe(true);
    const download = await kit.request(new URL(link.body.url).pathname);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
    expect(download.headers.get("content-disposition")).toBe(contentDisposition("Pässport (1).png"));
    expect(download.headers.get("content-type")).toBe("image/png");

    const access = await kit.deps.db
      .select()
      .from(kycDocumentAccess)
      .where(eq(kycDocumentAccess.documentId, upload.documentId));
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ userId: user.id, userAgent: "kit-tests/1.0", ipAddress: "192.0.2.7" });
  });

  test("the download name is safe for any file name", () => {
    expect(contentDisposition("scan.pdf")).toBe(`attachment; filename="scan.pdf"; filename*=UTF-8''scan.pdf`);
    expect(contentDisposition('Ré"sumé\\ (1)*.pdf')).toBe(
      `attachment; filename="R__sum__ (1)*.pdf"; filename*=UTF-8''R%C3%A9%22sum%C3%A9%5C%20%281%29%2A.pdf`,
    );
  });

  test("confirm before the upload: PRECONDITION_FAILED, and the document stays pending", async () => {
    const user = await investorWithDraft();
    const upload = await startUpload(user, file("not yet sent"));
    const answer = await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`);
    expect(answer.status).toBe(412);
    expect(answer.body.message).toContain("upload the file to uploadUrl first");
    expect((await documentRow(upload.documentId))?.confirmedAt).toBeNull();
  });

  test("a pending document has no download URL", async () => {
    const user = await investorWithDraft();
    const upload = await startUpload(user, file("pending"));
    const answer = await call(user, "GET", `/kyc/documents/${upload.documentId}/url`);
    expect(answer.status).toBe(412);
    expect(answer.body.message).toContain("confirm it first");
  });

  const mismatches = [
    {
      name: "wrong size",
      path: "size",
      send: (bytes: Uint8Array<ArrayBuffer>) => new Uint8Array([...bytes, 0x21]),
      headers: (u: Started) => u.headers,
    },
    {
      name: "wrong content type",
      path: "contentType",
      send: (bytes: Uint8Array<ArrayBuffer>) => bytes,
      headers: (u: Started) => ({ ...u.headers, "content-type": "image/jpeg" }),
    },
    {
      name: "wrong checksum (same size, other bytes)",
      path: "sha256",
      send: (bytes: Uint8Array<ArrayBuffer>) => bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 1 : b)),
      headers: (u: Started) => u.headers,
    },
  ];
  for (const mismatch of mismatches) {
    test(`${mismatch.name}: BAD_REQUEST naming ${mismatch.path}; the object is removed and a right upload then passes`, async () => {
      const user = await investorWithDraft();
      const bytes = file(`the declared file for ${mismatch.name}`);
      const upload = await startUpload(user, bytes);
      // s3rver accepts what real S3 would refuse (it checks no signed header or checksum): confirm is the guard.
      expect((await put(upload, mismatch.send(bytes), mismatch.headers(upload))).status).toBe(200);
      const answer = await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.code).toBe("BAD_REQUEST");
      expect(answer.body.data.issues.map((i: { path: string }) => i.path)).toEqual([mismatch.path]);
      expect(await objectExists(kit.deps.storage, await keyOf(upload.documentId))).toBe(false);
      expect((await call(user, "GET", "/kyc/documents")).body[0]).toMatchObject({ status: "pending" });

      expect((await put(upload, bytes)).status).toBe(200);
      expect((await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`)).body.status).toBe("confirmed");
    });
  }

  const disguised = [
    {
      name: "HTML declared as a PDF",
      contentType: "application/pdf",
      bytes: "<!doctype html><script>alert(1)</script>",
    },
    { name: "a PDF declared as a PNG", contentType: "image/png", bytes: "%PDF-1.7 not an image" },
    { name: "a PNG declared as a JPEG", contentType: "image/jpeg", bytes: "\x89PNG\r\n\x1a\n an image, not a JPEG" },
    { name: "a Windows executable declared as a JPEG", contentType: "image/jpeg", bytes: "MZ\x90\x00 this program" },
  ];
  for (const fake of disguised) {
    test(`${fake.name}: the bytes do not start as the type does, so BAD_REQUEST naming contentType and the object is removed`, async () => {
      const user = await investorWithDraft();
      const bytes = Buffer.from(fake.bytes, "latin1");
      const upload = await startUpload(user, bytes, { contentType: fake.contentType, fileName: "scan" });
      // Declared and stored with the same content type: only the bytes give it away.
      expect((await put(upload, bytes)).status).toBe(200);
      const answer = await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.data.issues).toEqual([
        {
          path: "contentType",
          message: expect.stringContaining(`declared ${fake.contentType}, but the file's content`),
        },
      ]);
      expect(answer.body.message).toContain("it was removed");
      expect(await objectExists(kit.deps.storage, await keyOf(upload.documentId))).toBe(false);
      expect((await documentRow(upload.documentId))?.confirmedAt).toBeNull();
    });
  }

  test("each accepted type confirms when its bytes start as that type does", async () => {
    const user = await investorWithDraft();
    for (const [contentType, start] of [
      ["application/pdf", "%PDF-1.4\n"],
      ["image/jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF"],
      ["image/png", "\x89PNG\r\n\x1a\n"],
    ] as const) {
      const bytes = Buffer.from(`${start} the rest of a ${contentType}`, "latin1");
      const upload = await startUpload(user, bytes, { contentType, fileName: "scan" });
      expect((await put(upload, bytes)).status).toBe(200);
      const answer = await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`);
      expect(answer.body, contentType).toMatchObject({ status: "confirmed", contentType });
    }
  });

  test("a file name with bidirectional override characters is refused before anything is stored", async () => {
    const user = await investorWithDraft();
    // U+202E makes "photo\u202Egpj.exe" display as "photoexe.jpg".
    for (const fileName of ["photo\u202Egpj.exe", "scan\u2066.pdf", "a\u202Ab.png", "x\u2069.jpg"]) {
      const answer = await call(user, "POST", "/kyc/documents", {
        type: "passport",
        fileName,
        contentType: "image/png",
        size: 10,
        sha256: sha256(file("x")),
      });
      expect(answer.status, fileName).toBe(400);
      expect(answer.body.data.issues).toEqual([
        { path: "fileName", message: expect.stringContaining("bidirectional override characters") },
      ]);
    }
    expect((await call(user, "GET", "/kyc/documents")).body).toEqual([]);
  });

  test("an expired upload URL is refused by the store", async () => {
    const bytes = file("late");
    const upload = await presignUpload(
      kit.deps.storage,
      { key: `expiry-test/${randomUUID()}`, contentType: "image/png", size: bytes.length, sha256: sha256(bytes) },
      1,
    );
    // SigV4 dates have one-second resolution: past two seconds the URL is expired whatever the rounding.
    await Bun.sleep(2_100);
    const response = await put(upload, bytes);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("expired");
  });

  test("at most 20 live documents per application; a removed one frees its place", async () => {
    const user = await investorWithDraft();
    const uploads = [];
    for (let i = 0; i < 20; i++) uploads.push(await startUpload(user, file(`doc ${i}`)));
    const refused = await call(user, "POST", "/kyc/documents", {
      type: "other",
      fileName: "21.pdf",
      contentType: "application/pdf",
      size: 2,
      sha256: sha256(file("21")),
    });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain("at most 20");
    expect((await call(user, "DELETE", `/kyc/documents/${uploads[0]?.documentId}`)).status).toBe(200);
    await startUpload(user, file("21"));
  });
});

describe("remove", () => {
  test("removes the object and the row; the id is then unknown", async () => {
    const user = await investorWithDraft();
    const bytes = file("to remove");
    const upload = await startUpload(user, bytes);
    await put(upload, bytes);
    expect((await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`)).status).toBe(200);
    expect(await call(user, "DELETE", `/kyc/documents/${upload.documentId}`)).toEqual({
      status: 200,
      body: { id: upload.documentId },
    });
    expect(await documentRow(upload.documentId)).toBeUndefined();
    expect((await call(user, "GET", "/kyc/documents")).body).toEqual([]);
    expect((await call(user, "DELETE", `/kyc/documents/${upload.documentId}`)).status).toBe(404);
    expect((await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`)).status).toBe(404);
  });
});

describe("IDOR: another investor's documents do not exist for you", () => {
  test("list, confirm, remove and download by a guessed id all answer as for an unknown id", async () => {
    const alice = await investorWithDraft();
    const bob = await investorWithDraft();
    const bytes = file("alice's passport");
    const upload = await startUpload(alice, bytes);
    await put(upload, bytes);
    const pendingId = (await startUpload(alice, file("pending one"))).documentId;
    expect((await call(alice, "POST", `/kyc/documents/${upload.documentId}/confirm`)).status).toBe(200);

    expect((await call(bob, "GET", "/kyc/documents")).body).toEqual([]);
    expect((await call(bob, "GET", "/kyc/application")).body.id).not.toBe(
      (await call(alice, "GET", "/kyc/application")).body.id,
    );
    const unknown = randomUUID();
    for (const id of [upload.documentId, pendingId]) {
      for (const [method, path] of [
        ["POST", `/kyc/documents/${id}/confirm`],
        ["DELETE", `/kyc/documents/${id}`],
        ["GET", `/kyc/documents/${id}/url`],
      ] as const) {
        const answer = await call(bob, method, path);
        const control = await call(bob, method, path.replace(id, unknown));
        expect(answer.status, `${method} ${path}`).toBe(404);
        expect(answer.body.message.replace(id, "ID")).toBe(control.body.message.replace(unknown, "ID"));
      }
    }
    // Nothing of Alice's changed, and no URL was handed out for Bob.
    expect((await call(alice, "GET", "/kyc/documents")).body.map((d: { status: string }) => d.status)).toEqual([
      "confirmed",
      "pending",
    ]);
    const access = await kit.deps.db.select().from(kycDocumentAccess).where(eq(kycDocumentAccess.userId, bob.id));
    expect(access).toEqual([]);
    expect(await objectExists(kit.deps.storage, await keyOf(upload.documentId))).toBe(true);
  });
});

describe("when the object store fails", () => {
  const liveRows = async (userId: string) =>
    (
      await kit.deps.db.execute<{ n: number }>(
        sql`select count(*)::int as n from kyc_documents d join kyc_applications a on a.id = d.application_id where a.user_id = ${userId}`,
      )
    ).rows[0]?.n;

  test("stopped mid-upload: confirm and new uploads get a typed 503, and no row is left behind", async () => {
    const user = await investorWithDraft(app);
    const bytes = file("uploaded just before the outage");
    const upload = await startUpload(user, bytes, {}, app);
    expect((await put(upload, bytes)).status).toBe(200);
    await s3.stop();
    try {
      const confirm = await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`, undefined, app);
      expect(confirm.status).toBe(503);
      expect(confirm.body.code).toBe("SERVICE_UNAVAILABLE");
      expect(confirm.body.message).toContain("nothing was changed");
      expect((await documentRow(upload.documentId))?.confirmedAt).toBeNull();

      const before = await liveRows(user.id);
      const started = await call(
        user,
        "POST",
        "/kyc/documents",
        {
          type: "proof_of_address",
          fileName: "bill.pdf",
          contentType: "application/pdf",
          size: 4,
          sha256: sha256(file("bill")),
        },
        app,
      );
      expect(started.status).toBe(503);
      expect(started.body.code).toBe("SERVICE_UNAVAILABLE");
      expect(await liveRows(user.id)).toBe(before);
    } finally {
      s3 = await startLocalS3({ directory, port, keepData: true });
    }
    // Back up: the same upload confirms.
    const confirmed = await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`, undefined, app);
    expect(confirmed.body.status).toBe("confirmed");
  });

  test("a store that accepts connections and never answers: a typed 503 after a short wait, and no row", async () => {
    const hole = await startBlackHole();
    try {
      const hanging = createStorage({ s3: { ...kit.config.s3, endpoint: hole.url, publicEndpoint: undefined } });
      const hangingApp = createApp({ ...kit.deps, storage: hanging });
      const user = await investorWithDraft();
      const started = Date.now();
      const answer = await call(
        user,
        "POST",
        "/kyc/documents",
        { type: "passport", fileName: "p.png", contentType: "image/png", size: 4, sha256: sha256(file("scan")) },
        hangingApp,
      );
      expect(answer.status).toBe(503);
      expect(answer.body.code).toBe("SERVICE_UNAVAILABLE");
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await liveRows(user.id)).toBe(0);
    } finally {
      hole.stop();
    }
  });

  test("remove while the store is down: the row is hidden at once; the clean-up job finishes once it is back", async () => {
    const user = await investorWithDraft(app);
    const bytes = file("removed during an outage");
    const upload = await startUpload(user, bytes, {}, app);
    await put(upload, bytes);
    expect((await call(user, "POST", `/kyc/documents/${upload.documentId}/confirm`, undefined, app)).status).toBe(200);

    await s3.stop();
    try {
      const removed = await call(user, "DELETE", `/kyc/documents/${upload.documentId}`, undefined, app);
      expect(removed).toEqual({ status: 200, body: { id: upload.documentId } });
      expect((await call(user, "GET", "/kyc/documents", undefined, app)).body).toEqual([]);
      expect((await call(user, "GET", `/kyc/documents/${upload.documentId}/url`, undefined, app)).status).toBe(404);
      expect((await documentRow(upload.documentId))?.deletingAt).toBeInstanceOf(Date);
      // Still down: the job fails on the row and keeps it for the next run.
      const failedRun = await cleanUpDocuments(deps);
      expect(failedRun.failed).toBeGreaterThanOrEqual(1);
      expect(await documentRow(upload.documentId)).toBeDefined();
    } finally {
      s3 = await startLocalS3({ directory, port, keepData: true });
    }
    const key = await keyOf(upload.documentId);
    expect(await objectExists(storage, key)).toBe(true);
    const run = await cleanUpDocuments(deps);
    expect(run.removed).toBeGreaterThanOrEqual(1);
    expect(run.failed).toBe(0);
    expect(await documentRow(upload.documentId)).toBeUndefined();
    expect(await objectExists(storage, key)).toBe(false);
  });
});

describe("clean-up job", () => {
  test("removes unconfirmed uploads older than the limit, object and row; keeps fresh and confirmed ones", async () => {
    const user = await investorWithDraft();
    const stale = file("abandoned upload");
    const staleUpload = await startUpload(user, stale);
    await put(staleUpload, stale);
    const fresh = await startUpload(user, file("still uploading"));
    const kept = file("confirmed long ago");
    const keptUpload = await startUpload(user, kept, { type: "proof_of_address", fileName: "bill.png" });
    await put(keptUpload, kept);
    expect((await call(user, "POST", `/kyc/documents/${keptUpload.documentId}/confirm`)).status).toBe(200);
    const hours = kit.config.kyc.unconfirmedUploadHours + 1;
    await kit.deps.db.execute(
      sql`update kyc_documents set created_at = now() - make_interval(hours => ${hours}) where id in (${staleUpload.documentId}, ${keptUpload.documentId})`,
    );

    const staleKey = await keyOf(staleUpload.documentId);
    expect(await objectExists(kit.deps.storage, staleKey)).toBe(true);

    const run = await cleanUpDocuments(kit.deps);
    expect(run.failed).toBe(0);
    expect(run.removed).toBeGreaterThanOrEqual(1);
    expect(await documentRow(staleUpload.documentId)).toBeUndefined();
    expect(await objectExists(kit.deps.storage, staleKey)).toBe(false);
    expect(await objectExists(kit.deps.storage, await keyOf(keptUpload.documentId))).toBe(true);
    expect((await call(user, "GET", "/kyc/documents")).body.map((d: { id: string }) => d.id).sort()).toEqual(
      [fresh.documentId, keptUpload.documentId].sort(),
    );
  });
});
