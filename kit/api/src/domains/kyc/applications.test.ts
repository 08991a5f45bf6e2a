import { describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { asc, eq, sql } from "drizzle-orm";
import { type ApiAnswer, callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createUser, type TestUser } from "../../../test/users";
import { getApplication, saveApplication } from "./applications";
import { createPiiKeyring, keyId } from "./crypto";
import { DATA_KEY_ID, openApplicationCipher } from "./data-keys";
import { kycDataKeys } from "./data-keys-schema";
import { finishKeyRotation } from "./key-rotation";
import { decryptPersonalData } from "./present";
import { kycApplications, kycStatusHistory } from "./schema";

// Each sign-in comes from an address of its own (x-forwarded-for, one trusted proxy hop): this file
// signs in more investors than better-auth's per-address limit allows in a minute.
const kit = await createTestKit({ env: { TRUST_PROXY_HOPS: "1" } });

type Answer = ApiAnswer;

function call(who: TestUser | undefined, method: string, path: string, body?: unknown): Promise<Answer> {
  return callApi(kit.app, who, method, path, body);
}

const COMPLETE = {
  firstName: "Ada",
  lastName: "Lovelace",
  dateOfBirth: "1990-12-10",
  nationality: "GB",
  countryOfResidence: "FR",
  residencyStatus: "permanent_resident" as const,
  address: { line1: "1 Rue de Rivoli", city: "Paris", postalCode: "75001", country: "FR" },
  nationalIdNumber: "AB 123456 C",
  taxResidencies: ["FR"],
};

const EMPTY = Object.fromEntries(Object.keys(COMPLETE).map((k) => [k, null]));

/** Uploads `bytes` through a real presigned PUT and confirms it. */
async function uploadConfirmed(
  who: TestUser,
  type: string,
  // A PDF as far as `confirm` can tell: its signature, then anything.
  bytes = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(256)]),
): Promise<string> {
  const started = await call(who, "POST", "/kyc/documents", {
    type,
    fileName: `${type}.pdf`,
    contentType: "application/pdf",
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const put = await fetch(started.body.uploadUrl, { method: "PUT", headers: started.body.headers, body: bytes });
  expect(put.status).toBe(200);
  const confirmed = await call(who, "POST", `/kyc/documents/${started.body.documentId}/confirm`);
  expect(confirmed.body.status).toBe("confirmed");
  return started.body.documentId;
}

const history = (applicationId: string) =>
  kit.deps.db
    .select({
      fromStatus: kycStatusHistory.fromStatus,
      toStatus: kycStatusHistory.toStatus,
      actorId: kycStatusHistory.actorId,
    })
    .from(kycStatusHistory)
    .where(eq(kycStatusHistory.applicationId, applicationId))
    .orderBy(asc(kycStatusHistory.id));

async function rawRow(applicationId: string) {
  const { rows } = await kit.deps.pool.query("select * from kyc_applications where id = $1", [applicationId]);
  return rows[0];
}

describe("save and read", () => {
  test("nothing before a first save; a first save starts a draft, on record in the history", async () => {
    const user = await createUser(kit, "investor");
    expect(await call(user, "GET", "/kyc/application")).toEqual({ status: 200, body: null });
    const saved = await call(user, "PUT", "/kyc/application", { firstName: "Ada", dateOfBirth: "1990-12-10" });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toMatchObject({
      status: "draft",
      version: 1,
      personalData: { ...EMPTY, firstName: "Ada", dateOfBirth: "1990-12-10" },
      decisionReason: null,
      submittedAt: null,
    });
    expect(saved.body.missing).toContain("last name");
    expect(saved.body.missing).toContain("a confirmed proof of address");
    expect((await call(user, "GET", "/kyc/application")).body).toEqual({ ...saved.body, onchain: [] });
    expect(await history(saved.body.id)).toEqual([{ fromStatus: null, toStatus: "draft", actorId: user.id }]);
  });

  test("a save replaces the whole form: fields left out are cleared; every save bumps the version", async () => {
    const user = await createUser(kit, "investor");
    const first = await call(user, "PUT", "/kyc/application", COMPLETE);
    expect(first.body.personalData).toEqual(COMPLETE);
    expect(first.body.missing).toEqual([
      "a confirmed identity document (passport, national id or driving licence)",
      "a confirmed proof of address",
    ]);
    const second = await call(user, "PUT", "/kyc/application", { lastName: "Byron" });
    expect(second.body).toMatchObject({ id: first.body.id, version: 2, personalData: { ...EMPTY, lastName: "Byron" } });
    expect(await rawRow(first.body.id)).toMatchObject({
      date_of_birth_encrypted: null,
      national_id_encrypted: null,
      pii_key_id: null,
    });
  });

  test("a stale version is refused with CONFLICT naming the current one; the current one is accepted", async () => {
    const user = await createUser(kit, "investor");
    const first = await call(user, "PUT", "/kyc/application", { firstName: "Ada" });
    await call(user, "PUT", "/kyc/application", { firstName: "Ada", version: 1 });
    const stale = await call(user, "PUT", "/kyc/application", { firstName: "Eve", version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("CONFLICT");
    expect(stale.body.message).toContain("version 2");
    expect((await call(user, "GET", "/kyc/application")).body.personalData.firstName).toBe("Ada");
    const current = await call(user, "PUT", "/kyc/application", { firstName: "Eve", version: 2 });
    expect(current.body).toMatchObject({ id: first.body.id, version: 3, personalData: { firstName: "Eve" } });
    expect((await call(user, "POST", "/kyc/application/submit", { version: 2 })).status).toBe(409);
  });

  test("names with bidirectional override characters are refused, naming the field; nothing is saved", async () => {
    const user = await createUser(kit, "investor");
    // U+202E would show "Ada\u202Eecalevol" as "Adalovelace" reversed in the reviewers' console.
    for (const [field, value] of [
      ["firstName", "Ada\u202Eecalevol"],
      ["lastName", "\u2067Lovelace"],
      ["firstName", "A\u202Ada"],
    ] as const) {
      const answer = await call(user, "PUT", "/kyc/application", { ...COMPLETE, [field]: value });
      expect(answer.status, value).toBe(400);
      expect(answer.body.data.issues).toEqual([
        { path: field, message: expect.stringContaining("bidirectional override characters") },
      ]);
    }
    expect((await call(user, "GET", "/kyc/application")).body).toBeNull();
    // Right-to-left scripts themselves are fine: only the invisible reordering characters are refused.
    expect((await call(user, "PUT", "/kyc/application", { ...COMPLETE, firstName: "עדה" })).status).toBe(200);
  });

  test("concurrent first saves make one application and never a 500", async () => {
    const user = await createUser(kit, "investor");
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(user, "PUT", "/kyc/application", { firstName: `Ada ${i}` })),
    );
    for (const answer of answers) expect([200, 409], JSON.stringify(answer.body)).toContain(answer.status);
    expect(answers.some((a) => a.status === 200)).toBe(true);
    const rows = await kit.deps.db.select().from(kycApplications).where(eq(kycApplications.userId, user.id));
    expect(rows).toHaveLength(1);
    expect(await history(rows[0]?.id ?? "")).toHaveLength(1);
  });

  test("each investor sees and changes only their own application", async () => {
    const alice = await createUser(kit, "investor");
    const bob = await createUser(kit, "investor");
    const alices = await call(alice, "PUT", "/kyc/application", COMPLETE);
    expect((await call(bob, "GET", "/kyc/application")).body).toBeNull();
    // An id in the body is not part of the API: Bob's save starts his own draft.
    const bobs = await call(bob, "PUT", "/kyc/application", { firstName: "Bob", id: alices.body.id } as object);
    expect(bobs.body.id).not.toBe(alices.body.id);
    expect((await call(alice, "GET", "/kyc/application")).body).toEqual({ ...alices.body, onchain: [] });
    expect((await call(undefined, "GET", "/kyc/application")).status).toBe(401);
  });
});

describe("submit", () => {
  test("the whole flow: save, upload an identity document and a proof of address, confirm, submit", async () => {
    const user = await createUser(kit, "investor");
    const draft = await call(user, "PUT", "/kyc/application", COMPLETE);
    const passport = await uploadConfirmed(user, "passport");
    await uploadConfirmed(user, "proof_of_address");
    const ready = await call(user, "GET", "/kyc/application");
    expect(ready.body.missing).toEqual([]);

    const submitted = await call(user, "POST", "/kyc/application/submit", { version: ready.body.version });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    expect(submitted.body).toMatchObject({
      id: draft.body.id,
      status: "submitted",
      personalData: COMPLETE,
      missing: [],
    });
    expect(Date.parse(submitted.body.submittedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await call(user, "GET", "/kyc/application")).body).toEqual({ ...submitted.body, onchain: [] });
    expect(await history(draft.body.id)).toEqual([
      { fromStatus: null, toStatus: "draft", actorId: user.id },
      { fromStatus: "draft", toStatus: "submitted", actorId: user.id },
    ]);

    // Now frozen for the applicant.
    const save = await call(user, "PUT", "/kyc/application", COMPLETE);
    expect(save.status).toBe(409);
    expect(save.body.message).toContain("submitted");
    const again = await call(user, "POST", "/kyc/application/submit", {});
    expect(again.status).toBe(409);
    expect(again.body.message).toContain("Your application is submitted");
    const upload = await call(user, "POST", "/kyc/documents", {
      type: "selfie",
      fileName: "me.png",
      contentType: "image/png",
      size: 1,
      sha256: "0".repeat(64),
    });
    expect(upload.status).toBe(409);
    expect((await call(user, "DELETE", `/kyc/documents/${passport}`)).status).toBe(409);
    expect((await call(user, "GET", "/kyc/documents")).body).toHaveLength(2);
    expect(await history(draft.body.id)).toHaveLength(2);
  });

  test("a submit racing the removal of a required document: one of them wins, never both", async () => {
    const user = await createUser(kit, "investor");
    await call(user, "PUT", "/kyc/application", COMPLETE);
    await uploadConfirmed(user, "passport");
    const proof = await uploadConfirmed(user, "proof_of_address");
    const [submit, remove] = await Promise.all([
      call(user, "POST", "/kyc/application/submit", {}),
      call(user, "DELETE", `/kyc/documents/${proof}`),
    ]);
    const outcome = [submit.status, remove.status];
    expect([
      [200, 409],
      [412, 200],
    ]).toContainEqual(outcome);
    const documents = (await call(user, "GET", "/kyc/documents")).body;
    const status = (await call(user, "GET", "/kyc/application")).body.status;
    if (status === "submitted") expect(documents.map((d: { id: string }) => d.id)).toContain(proof);
    else expect(status).toBe("draft");
  });

  test("an incomplete application is refused with PRECONDITION_FAILED listing what is missing", async () => {
    const user = await createUser(kit, "investor");
    expect((await call(user, "POST", "/kyc/application/submit", {})).status).toBe(412);
    const draft = await call(user, "PUT", "/kyc/application", { firstName: "Ada" });
    const refused = await call(user, "POST", "/kyc/application/submit", {});
    expect(refused.status).toBe(412);
    expect(refused.body.code).toBe("PRECONDITION_FAILED");
    for (const words of ["last name", "date of birth", "national id number", "tax residency", "proof of address"]) {
      expect(refused.body.message).toContain(words);
    }

    // Complete data, one document confirmed and the other only uploaded: the missing one is named.
    await call(user, "PUT", "/kyc/application", COMPLETE);
    await uploadConfirmed(user, "national_id");
    const bytes = randomBytes(64);
    const pending = await call(user, "POST", "/kyc/documents", {
      type: "proof_of_address",
      fileName: "bill.pdf",
      contentType: "application/pdf",
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
    await fetch(pending.body.uploadUrl, { method: "PUT", headers: pending.body.headers, body: bytes });
    const stillMissing = await call(user, "POST", "/kyc/application/submit", {});
    expect(stillMissing.status).toBe(412);
    expect(stillMissing.body.message).toContain("a confirmed proof of address");
    expect(stillMissing.body.message).not.toContain("identity document");
    expect((await call(user, "GET", "/kyc/application")).body.status).toBe("draft");
    expect(await history(draft.body.id)).toHaveLength(1);
  });

  test("an applicant under 18 cannot submit", async () => {
    const user = await createUser(kit, "investor");
    const today = new Date();
    const seventeen = `${today.getUTCFullYear() - 17}-${String(today.getUTCMonth() + 1).padStart(2, "0")}-01`;
    await call(user, "PUT", "/kyc/application", { ...COMPLETE, dateOfBirth: seventeen });
    await uploadConfirmed(user, "driving_licence");
    await uploadConfirmed(user, "proof_of_address");
    const refused = await call(user, "POST", "/kyc/application/submit", {});
    expect(refused.status).toBe(412);
    expect(refused.body.message).toContain("age of at least 18");
    expect(refused.body.message).not.toContain("proof of address");
  });

  test("after a rejection, a save starts a new draft; the old application stays as it was", async () => {
    const user = await createUser(kit, "investor");
    const first = await call(user, "PUT", "/kyc/application", COMPLETE);
    await uploadConfirmed(user, "passport");
    // Rejected along the graph, as a reviewer would (review.ts has its own tests).
    for (const status of ["submitted", "in_review", "rejected"]) {
      await kit.deps.db.execute(sql`update kyc_applications set status = ${status} where id = ${first.body.id}`);
    }
    const rejected = await call(user, "GET", "/kyc/application");
    expect(rejected.body.status).toBe("rejected");
    expect((await call(user, "GET", "/kyc/documents")).body).toHaveLength(1);
    const second = await call(user, "PUT", "/kyc/application", { firstName: "Ada" });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: "draft", version: 1 });
    expect(second.body.id).not.toBe(first.body.id);
    expect((await call(user, "GET", "/kyc/application")).body.id).toBe(second.body.id);
    // Documents belong to an application: the new draft starts without any.
    expect((await call(user, "GET", "/kyc/documents")).body).toEqual([]);
    expect((await rawRow(first.body.id)).status).toBe("rejected");
  });
});

describe("personal data at rest", () => {
  test("date of birth and national id number are unreadable in a raw SELECT", async () => {
    const user = await createUser(kit, "investor");
    const saved = await call(user, "PUT", "/kyc/application", COMPLETE);
    const row = await rawRow(saved.body.id);
    expect(row.date_of_birth_encrypted).toBeInstanceOf(Buffer);
    expect(row.national_id_encrypted).toBeInstanceOf(Buffer);
    // Under the application's own data key, which is stored only wrapped by the master key.
    expect(row.pii_key_id).toBe(DATA_KEY_ID);
    const [wrapped] = await kit.deps.db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, saved.body.id));
    expect(wrapped?.masterKeyId).toBe(kit.deps.local.piiKeyring.currentKeyId);
    expect(wrapped?.wrappedKey?.length).toBe(12 + 32 + 16);
    const everything = Buffer.concat([row.date_of_birth_encrypted, row.national_id_encrypted]);
    for (const secret of [COMPLETE.dateOfBirth, COMPLETE.nationalIdNumber, "123456", "1990"]) {
      expect(everything.includes(secret)).toBe(false);
    }
    const asText = JSON.stringify(row);
    expect(asText).not.toContain(COMPLETE.nationalIdNumber);
    expect(asText).not.toContain(COMPLETE.dateOfBirth);
    // Each save encrypts afresh (new nonce): equal values do not show as equal ciphertext.
    await call(user, "PUT", "/kyc/application", COMPLETE);
    expect((await rawRow(saved.body.id)).national_id_encrypted.equals(row.national_id_encrypted)).toBe(false);
  });

  test("ciphertext copied into another application does not decrypt", async () => {
    const alice = await createUser(kit, "investor");
    const mallory = await createUser(kit, "investor");
    const alices = await call(alice, "PUT", "/kyc/application", COMPLETE);
    const mallorys = await call(mallory, "PUT", "/kyc/application", { firstName: "Mallory" });
    await kit.deps.db.execute(sql`
      update kyc_applications m
         set date_of_birth_encrypted = a.date_of_birth_encrypted,
             national_id_encrypted = a.national_id_encrypted,
             pii_key_id = a.pii_key_id
        from kyc_applications a
       where a.id = ${alices.body.id} and m.id = ${mallorys.body.id}`);
    const [copied] = await kit.deps.db.select().from(kycApplications).where(eq(kycApplications.id, mallorys.body.id));
    if (!copied) throw new Error("no row");
    const keyring = kit.deps.local.piiKeyring;
    const mallorysCipher = await openApplicationCipher(kit.deps.db, keyring, mallorys.body.id);
    expect(() => decryptPersonalData(mallorysCipher, copied)).toThrow();
    // Swapping the two fields within one row fails as well.
    const [own] = await kit.deps.db.select().from(kycApplications).where(eq(kycApplications.id, alices.body.id));
    if (!own) throw new Error("no row");
    const alicesCipher = await openApplicationCipher(kit.deps.db, keyring, alices.body.id);
    expect(decryptPersonalData(alicesCipher, own).nationalIdNumber).toBe(COMPLETE.nationalIdNumber);
    // Alice's data key under Mallory's id (a wrapped key copied to another row) does not unwrap.
    await kit.deps.db.execute(sql`
      update kyc_data_keys m set wrapped_key = a.wrapped_key
        from kyc_data_keys a where a.application_id = ${alices.body.id} and m.application_id = ${mallorys.body.id}`);
    await expect(openApplicationCipher(kit.deps.db, keyring, mallorys.body.id)).rejects.toThrow();
    const swapped = {
      ...own,
      dateOfBirthEncrypted: own.nationalIdEncrypted,
      nationalIdEncrypted: own.dateOfBirthEncrypted,
    };
    expect(() => decryptPersonalData(alicesCipher, swapped)).toThrow();
  });

  test("after a key rotation old rows still read, saves too, and once the job re-wrapped the data key only the new key reads it", async () => {
    const user = await createUser(kit, "investor");
    const saved = await call(user, "PUT", "/kyc/application", COMPLETE);
    const newKey = randomBytes(32);
    const config = {
      ...kit.config,
      kyc: { ...kit.config.kyc, encryptionKey: newKey, previousEncryptionKeys: [kit.config.kyc.encryptionKey] },
    };
    // As a process started with the new key has them: its keyring made from it.
    const rotated = { ...kit.deps, config, local: { ...kit.deps.local, piiKeyring: createPiiKeyring(config) } };
    expect((await getApplication(rotated, user.id))?.personalData).toEqual(COMPLETE);
    const resaved = await saveApplication(rotated, user.id, { ...COMPLETE, version: saved.body.version });
    expect(resaved.personalData).toEqual(COMPLETE);
    expect((await rawRow(saved.body.id)).pii_key_id).toBe(DATA_KEY_ID);
    expect((await finishKeyRotation(rotated)).rewrapped).toBeGreaterThanOrEqual(1);
    const [wrapped] = await kit.deps.db.select().from(kycDataKeys).where(eq(kycDataKeys.applicationId, saved.body.id));
    expect(wrapped?.masterKeyId).toBe(keyId(newKey));
    expect((await getApplication(rotated, user.id))?.personalData).toEqual(COMPLETE);
    // Only the new key reads it now.
    await expect(getApplication(kit.deps, user.id)).rejects.toThrow();
  });
});
