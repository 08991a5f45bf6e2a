// Destroying an application's data key (erasure): afterwards every read of its personal data and
// documents answers a typed "erased" 404 (never a 500, never the 503 of a missing master key), the
// ciphertext left behind decrypts with no key Kit has, the tombstone cannot be undone, and the
// erasure ledger destroys the key again in a database restored from before the erasure.
import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { eq, sql } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createApplicant, createSubmittedApplication } from "../../../test/kyc";
import { createUser } from "../../../test/users";
import type { CallerUser } from "../auth/session";
import { getApplication } from "./applications";
import { open } from "./crypto";
import { DATA_KEY_ID, destroyApplicationDataKey, KycDataErasedError, loadDataKey } from "./data-keys";
import { kycDataKeys } from "./data-keys-schema";
import { verifyDocumentLink } from "./document-download";
import { readDocumentBytes, sealStoredDocuments } from "./document-seal";
import { applyErasureLedger, exportErasureLedger, parseErasureLedger } from "./erasure-ledger";
import { getReview } from "./review";
import { kycApplications, kycDocuments } from "./schema";

const kit = await createTestKit();
const { db } = kit.deps;
const keyring = kit.deps.local.piiKeyring;
const [reviewer, investor] = await Promise.all([createUser(kit, "kyc_reviewer"), createUser(kit, "investor")]);
const requester = { ipAddress: null, userAgent: null };

const destroy = (applicationId: string) => db.transaction((tx) => destroyApplicationDataKey(tx, applicationId));
const erased = (answer: { status: number; body: { code?: string; message?: string } }) => {
  expect(answer.status, JSON.stringify(answer.body)).toBe(404);
  expect(answer.body.code).toBe("NOT_FOUND");
  expect(answer.body.message).toContain("were erased");
};
const objectBytes = async (key: string) => {
  const object = await kit.deps.storage.client.send(
    new GetObjectCommand({ Bucket: kit.deps.storage.buckets.kycDocuments, Key: key }),
  );
  return Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
};

describe("destroyApplicationDataKey", () => {
  test("afterwards every read of the application's personal data or documents is a typed erased 404", async () => {
    const app = await createSubmittedApplication(kit, await createApplicant(kit), { nationalIdNumber: "ERASE 42" });
    const [document] = app.documents;
    if (!document) throw new Error("fixture has no document");
    // Before: readable, and a link handed out now.
    expect((await callApi(kit.app, reviewer, "GET", `/kyc/review/${app.id}`)).status).toBe(200);
    const link = await callApi(kit.app, reviewer, "GET", `/kyc/review/documents/${document.id}/url`);
    expect(link.status).toBe(200);

    expect(await destroy(app.id)).toEqual({ destroyed: true });

    erased(await callApi(kit.app, reviewer, "GET", `/kyc/review/${app.id}`));
    erased(await callApi(kit.app, reviewer, "GET", `/kyc/review/documents/${document.id}/url`));
    const dossier = await kit.request(`/api/kyc/review/${app.id}/dossier`, { headers: { cookie: reviewer.cookie } });
    erased({ status: dossier.status, body: await dossier.json() });
    // A link handed out before the erasure leads nowhere now.
    const download = await kit.request(new URL(link.body.url).pathname);
    erased({ status: download.status, body: await download.json() });
    await expect(getReview(kit.deps, reviewer as unknown as CallerUser, app.id, requester)).rejects.toBeInstanceOf(
      KycDataErasedError,
    );
    // Idempotent.
    expect(await destroy(app.id)).toEqual({ destroyed: false });
  });

  test("what is left decrypts with no key Kit has: the wrapped key is gone, the master key opens nothing", async () => {
    const app = await createSubmittedApplication(kit, await createApplicant(kit), { nationalIdNumber: "ERASE 43" });
    const [document] = app.documents;
    if (!document) throw new Error("fixture has no document");
    const [before] = await db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, app.id));
    await destroy(app.id);

    const [key] = await db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, app.id));
    expect(key).toMatchObject({ wrappedKey: null, masterKeyId: null });
    expect(key?.destroyedAt).toBeInstanceOf(Date);
    await expect(loadDataKey(db, keyring, app.id)).rejects.toBeInstanceOf(KycDataErasedError);

    // The ciphertext is still in the row (the erasure flow may clear it too): nothing Kit holds opens it.
    const [row] = await db.select().from(kycApplications).where(eq(kycApplications.id, app.id));
    expect(row?.piiKeyId).toBe(DATA_KEY_ID);
    const nationalId = row?.nationalIdEncrypted as Buffer;
    expect(nationalId.includes("ERASE 43")).toBe(false);
    expect(() => keyring.decrypt(app.id, "national_id", keyring.currentKeyId, nationalId)).toThrow();
    // And the document's object in the bucket (the erasure flow deletes it; a backup keeps it): ciphertext.
    const stored = await objectBytes(document.bucketKey);
    const plain = Buffer.from(app.bytes.get(document.id) ?? []);
    expect(stored.includes(plain.subarray(0, 20))).toBe(false);
    const aad = Buffer.from(`kyc-document:${app.id}:${document.id}`);
    expect(() => open(kit.config.kyc.encryptionKey, aad, stored)).toThrow();
    // The key that did open it, as it was before: proof the bytes are the document, under that key alone.
    expect(before?.wrappedKey).toBeInstanceOf(Buffer);
    const dataKey = keyring.unwrapDataKey(app.id, before?.masterKeyId as string, before?.wrappedKey as Buffer);
    expect(open(dataKey, aad, stored).equals(plain)).toBe(true);
  });

  test("the tombstone cannot be undone: no update brings a key back, no delete removes it", async () => {
    const app = await createSubmittedApplication(kit, await createApplicant(kit));
    const [before] = await db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, app.id));
    await destroy(app.id);
    const wrapped = before?.wrappedKey as Buffer;
    // As the database owner, around Kit's code: the trigger refuses it all the same.
    const refusal = async (statement: ReturnType<typeof sql>) => {
      try {
        await db.execute(statement);
        return "done";
      } catch (error) {
        return String((error as { cause?: Error }).cause?.message);
      }
    };
    expect(
      await refusal(
        sql`update kyc_data_keys set wrapped_key = ${wrapped}, master_key_id = ${keyring.currentKeyId}, destroyed_at = null where application_id = ${app.id}`,
      ),
    ).toContain("cannot come back");
    expect(await refusal(sql`delete from kyc_data_keys where application_id = ${app.id}`)).toContain(
      "cannot come back",
    );
    await expect(loadDataKey(db, keyring, app.id)).rejects.toBeInstanceOf(KycDataErasedError);
  });

  test("the applicant's own reads and saves answer erased too", async () => {
    const saved = await callApi(kit.app, investor, "PUT", "/kyc/application", {
      firstName: "Ada",
      nationalIdNumber: "ERASE 44",
    });
    expect(saved.status).toBe(200);
    await destroy(saved.body.id);
    erased(await callApi(kit.app, investor, "GET", "/kyc/application"));
    erased(await callApi(kit.app, investor, "PUT", "/kyc/application", { firstName: "Ada" }));
    await expect(getApplication(kit.deps, investor.id)).rejects.toBeInstanceOf(KycDataErasedError);
  });

  test("a row from before envelope encryption (personal data under the master key) loses its ciphertext", async () => {
    const applicant = await createApplicant(kit);
    const id = randomUUID();
    await db.insert(kycApplications).values({
      id,
      userId: applicant.id,
      nationalIdEncrypted: keyring.encrypt(id, "national_id", "LEGACY 1"),
      piiKeyId: keyring.currentKeyId,
    });
    await destroy(id);
    const [row] = await db.select().from(kycApplications).where(eq(kycApplications.id, id));
    expect(row).toMatchObject({ nationalIdEncrypted: null, dateOfBirthEncrypted: null, piiKeyId: null });
    await expect(loadDataKey(db, keyring, id)).rejects.toBeInstanceOf(KycDataErasedError);
  });
});

describe("the erasure ledger", () => {
  test("destroys again, in a database that still has them, the keys a later erasure destroyed", async () => {
    const app = await createSubmittedApplication(kit, await createApplicant(kit));
    const [document] = app.documents;
    if (!document) throw new Error("fixture has no document");
    // What a backup taken now holds: the wrapped key. The erasure comes after it.
    const [backedUp] = await db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, app.id));
    await destroy(app.id);
    const ledger = await exportErasureLedger(db);
    expect(ledger.erasures.map((e) => e.applicationId)).toContain(app.id);

    // The database as the backup restores it: the key is back (the tombstone trigger allows no
    // update, so the restore's insert is simulated on another application with that row's key).
    const restored = await createSubmittedApplication(kit, await createApplicant(kit));
    const [restoredKey] = await db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, restored.id));
    expect(restoredKey?.wrappedKey).toBeInstanceOf(Buffer);
    expect(backedUp?.wrappedKey).toBeInstanceOf(Buffer);
    const withRestored = {
      ...ledger,
      erasures: [...ledger.erasures, { applicationId: restored.id, destroyedAt: new Date().toISOString() }],
    };
    const absent = { applicationId: randomUUID(), destroyedAt: new Date().toISOString() };
    const applied = await applyErasureLedger(db, { ...withRestored, erasures: [...withRestored.erasures, absent] });
    expect(applied).toEqual({ destroyed: 1, alreadyDestroyed: ledger.erasures.length, absent: 1 });
    // Erased again in full (not only its key): reviewers see the pseudonymous record, nothing personal.
    const view = await callApi(kit.app, reviewer, "GET", `/kyc/review/${restored.id}`);
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    expect(view.body.erasedAt).toBeTruthy();
    expect(Object.values(view.body.application.personalData).every((value) => value === null)).toBe(true);
    // Again: nothing more to do.
    expect((await applyErasureLedger(db, withRestored)).destroyed).toBe(0);
  });

  test("a file that is not a ledger is refused, saying why", () => {
    expect(parseErasureLedger("nope")).toBe("not JSON");
    expect(parseErasureLedger('{"format":"other"}')).toContain("format is not kit.kyc-erasures/1");
    expect(parseErasureLedger('{"format":"kit.kyc-erasures/1","erasures":[{"applicationId":"x"}]}')).toContain(
      "names no application id",
    );
  });
});

test("objects: after confirm the bucket holds ciphertext only, and the plain upload is gone", async () => {
  // The whole upload path through the API (the fixtures above write sealed objects directly).
  const user = await createUser(kit, "investor");
  expect((await callApi(kit.app, user, "PUT", "/kyc/application", { firstName: "Ada" })).status).toBe(200);
  const bytes = Buffer.from("%PDF-1.4 plain passport bytes of Ada Lovelace");
  const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  const upload = await callApi(kit.app, user, "POST", "/kyc/documents", {
    type: "passport",
    fileName: "passport.pdf",
    contentType: "application/pdf",
    size: bytes.length,
    sha256,
  });
  expect(upload.status, JSON.stringify(upload.body)).toBe(200);
  expect(
    (await fetch(upload.body.uploadUrl, { method: "PUT", headers: upload.body.headers, body: bytes })).status,
  ).toBe(200);
  const [pending] = await db
    .execute<{ bucket_key: string }>(sql`select bucket_key from kyc_documents where id = ${upload.body.documentId}`)
    .then((r) => r.rows);
  expect((await callApi(kit.app, user, "POST", `/kyc/documents/${upload.body.documentId}/confirm`)).status).toBe(200);
  const [confirmed] = await db
    .execute<{ bucket_key: string; encrypted: boolean }>(
      sql`select bucket_key, encrypted from kyc_documents where id = ${upload.body.documentId}`,
    )
    .then((r) => r.rows);
  expect(confirmed?.encrypted).toBe(true);
  expect(confirmed?.bucket_key).not.toBe(pending?.bucket_key);
  const stored = await objectBytes(confirmed?.bucket_key as string);
  expect(stored.includes(Buffer.from("plain passport bytes"))).toBe(false);
  await expect(
    kit.deps.storage.client.send(
      new HeadObjectCommand({ Bucket: kit.deps.storage.buckets.kycDocuments, Key: pending?.bucket_key as string }),
    ),
  ).rejects.toThrow();
  // Through Kit, the original bytes.
  const link = await callApi(kit.app, user, "GET", `/kyc/documents/${upload.body.documentId}/url`);
  const download = await kit.request(new URL(link.body.url).pathname);
  expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
  // A link Kit did not make, or one altered, leads nowhere; nor one past its 15 minutes.
  const forged = `${new URL(link.body.url).pathname.slice(0, -3)}AAA`;
  expect((await kit.request(forged)).status).toBe(404);
  const token = new URL(link.body.url).pathname.split("/").at(-1) as string;
  const key = kit.config.kyc.encryptionKey;
  expect(verifyDocumentLink(key, token).documentId).toBe(upload.body.documentId);
  expect(() => verifyDocumentLink(key, token, new Date(Date.now() + 16 * 60_000))).toThrow("has expired");
});

test("documents stored in clear before envelope encryption read as they are, and the job encrypts them", async () => {
  const app = await createSubmittedApplication(kit, await createApplicant(kit));
  const id = randomUUID();
  const bytes = Buffer.from("%PDF-1.4 a passport confirmed before documents were encrypted");
  const uploadKey = `${app.id}/passport/${id}`;
  await kit.deps.storage.client.send(
    new PutObjectCommand({ Bucket: kit.deps.storage.buckets.kycDocuments, Key: uploadKey, Body: bytes }),
  );
  const [legacy] = await db
    .insert(kycDocuments)
    .values({
      id,
      applicationId: app.id,
      type: "passport",
      bucketKey: uploadKey,
      fileName: "old.pdf",
      contentType: "application/pdf",
      size: bytes.length,
      sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex"),
      confirmedAt: new Date(),
    })
    .returning();
  if (!legacy) throw new Error("no row");
  expect((await readDocumentBytes(kit.deps, legacy)).equals(bytes)).toBe(true);

  const result = await sealStoredDocuments(kit.deps);
  expect(result.sealed).toBeGreaterThanOrEqual(1);
  const [after] = await db.select().from(kycDocuments).where(eq(kycDocuments.id, id));
  expect(after?.encrypted).toBe(true);
  expect((await objectBytes(after?.bucketKey as string)).includes(Buffer.from("a passport confirmed"))).toBe(false);
  await expect(
    kit.deps.storage.client.send(
      new HeadObjectCommand({ Bucket: kit.deps.storage.buckets.kycDocuments, Key: uploadKey }),
    ),
  ).rejects.toThrow();
  expect((await readDocumentBytes(kit.deps, after as typeof legacy)).equals(bytes)).toBe(true);
  // Erased afterwards: like every other document, unreadable.
  await destroy(app.id);
  await expect(readDocumentBytes(kit.deps, after as typeof legacy)).rejects.toBeInstanceOf(KycDataErasedError);
});
