// The investor's whole file: GET /api/kyc/review/{id}/dossier streams a signed ZIP; its content is
// the application decrypted, the documents' exact bytes, the history, the access log, the on-chain
// record; the signature verifies with the published key (node:crypto alone); `dossier:verify`
// passes, then fails once one byte of a document or of the manifest changes. Who may export, and
// that every export is logged and audited.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { unzipSync } from "fflate";
import { createTestKit } from "../../../test/kit";
import {
  createApplicant,
  createDraftApplication,
  createSubmittedApplication,
  moveApplication,
} from "../../../test/kyc";
import { createUser, type TestUser } from "../../../test/users";
import { auditEvents } from "../audit/schema";
import { tokenOperations } from "../operations/schema";
import { documentEntryName } from "./dossier";
import { verifyDossier } from "./dossier-verify";
import { kycDocumentAccess, kycOnchainRegistrations } from "./schema";

// Each CLI run is a process of its own, loading the config and Kit's modules.
setDefaultTimeout(60_000);

const kit = await createTestKit();
const { db } = kit.deps;
const [reviewer, admin, investor, issuer] = await Promise.all([
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "admin"),
  createUser(kit, "investor"),
  createUser(kit, "issuer"),
]);
const dir = await mkdtemp(join(tmpdir(), "kit-dossier-"));
// The exported files hold the (test) applicants' decrypted data: none is left behind.
afterAll(() => rm(dir, { recursive: true, force: true }));

const applicant = await createApplicant(kit, "Grace Hopper");
const approved = await createSubmittedApplication(kit, applicant, { nationalIdNumber: "ZX 987654" });
await moveApplication(kit, approved.id, "approved", { actorId: reviewer.id, reviewerId: reviewer.id });

// What the on-chain jobs leave behind (they need a chain; here their records are written as they would be).
const wallet = `0x${"ab".repeat(20)}`;
const txHash = `0x${"cd".repeat(32)}`;
await db.insert(kycOnchainRegistrations).values({
  applicationId: approved.id,
  userId: applicant.id,
  wallet,
  chainId: 31337,
  country: 250,
  status: "registered",
  lastTxHash: txHash,
  registeredAt: new Date(),
});
await db.insert(tokenOperations).values({
  chainId: 31337,
  token: null,
  target: `0x${"ef".repeat(20)}`,
  kind: "identity_register",
  parameters: { wallet, userId: applicant.id, applicationId: approved.id, country: 250 },
  cause: `kyc_application:${approved.id}`,
  requestHash: "0".repeat(64),
  status: "pending",
  txHash,
});

function exportDossier(who: { cookie: string } | { apiKey: string }, applicationId: string) {
  const headers: Record<string, string> = "cookie" in who ? { cookie: who.cookie } : { "x-api-key": who.apiKey };
  return kit.request(`/api/kyc/review/${applicationId}/dossier`, { headers });
}

async function downloadDossier(who: TestUser, applicationId: string): Promise<Uint8Array> {
  const response = await exportDossier(who, applicationId);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/zip");
  expect(response.headers.get("content-disposition")).toContain(`kyc-dossier-${applicationId}.zip`);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return new Uint8Array(await response.arrayBuffer());
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const json = (bytes: Uint8Array | undefined) => JSON.parse(text(bytes));

const CLI = join(import.meta.dir, "../../cli.ts");
const cli = (args: string[]) =>
  Bun.spawnSync(["bun", CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", ...kit.env },
    stdout: "pipe",
    stderr: "pipe",
  });

/** A copy of `archive` with the byte at `offset` changed. */
function flipped(archive: Uint8Array, offset: number): Uint8Array {
  const copy = archive.slice();
  copy[offset] = (copy[offset] ?? 0) ^ 0x01;
  return copy;
}

/** Where `needle` starts in `haystack` (stored entries keep their bytes as they are). */
function offsetOf(haystack: Uint8Array, needle: Uint8Array): number {
  const at = Buffer.from(haystack).indexOf(Buffer.from(needle));
  if (at < 0) throw new Error("bytes not found in the archive");
  return at;
}

describe("the dossier", async () => {
  const archive = await downloadDossier(reviewer, approved.id);
  const entries = unzipSync(archive);
  const keyResponse = await kit.request("/api/audit/export-key");
  const published = (await keyResponse.json()) as { algorithm: string; keyId: string; publicKeyPem: string };

  test("holds the application decrypted, every document's exact bytes, history, access log, on-chain record", () => {
    const documentNames = approved.documents.map(documentEntryName);
    expect(Object.keys(entries).sort()).toEqual(
      [
        "application.json",
        ...documentNames,
        "history.json",
        "access-log.json",
        "onchain.json",
        "manifest.json",
        "manifest.sig",
      ].sort(),
    );
    for (const document of approved.documents) {
      const stored = Buffer.from(entries[documentEntryName(document)] ?? []);
      expect(stored.equals(Buffer.from(approved.bytes.get(document.id) ?? [0]))).toBe(true);
    }
    const application = json(entries["application.json"]);
    expect(application.application.id).toBe(approved.id);
    expect(application.application.status).toBe("approved");
    expect(application.application.personalData.nationalIdNumber).toBe("ZX 987654");
    expect(application.application.personalData.dateOfBirth).toBe("1985-12-10");
    expect(application.applicant).toEqual({ id: applicant.id, name: "Grace Hopper", email: applicant.email });
    expect(application.documents.map((d: { entry: string }) => d.entry).sort()).toEqual(documentNames.sort());

    const history = json(entries["history.json"]);
    expect(history.map((h: { toStatus: string }) => h.toStatus)).toEqual([
      "draft",
      "submitted",
      "in_review",
      "approved",
    ]);
    // The export itself is in the access log it carries.
    const accessLog = json(entries["access-log.json"]);
    expect(accessLog.at(-1)).toMatchObject({ kind: "application_view", userId: reviewer.id });

    const onchain = json(entries["onchain.json"]);
    expect(onchain.registrations).toHaveLength(1);
    expect(onchain.registrations[0]).toMatchObject({ wallet, lastTxHash: txHash, status: "registered" });
    expect(onchain.operations).toHaveLength(1);
    expect(onchain.operations[0]).toMatchObject({ kind: "identity_register", txHash });
  });

  test("manifest.json lists every file's size and SHA-256, and manifest.sig verifies with the published key", () => {
    const manifest = json(entries["manifest.json"]);
    expect(manifest).toMatchObject({
      applicationId: approved.id,
      exportedBy: reviewer.id,
      algorithm: "Ed25519",
      keyId: published.keyId,
    });
    expect(Date.parse(manifest.exportedAt)).toBeGreaterThan(Date.now() - 60_000);
    const listed = manifest.files.map((f: { name: string }) => f.name).sort();
    expect(listed).toEqual(
      Object.keys(entries)
        .filter((n) => !n.startsWith("manifest."))
        .sort(),
    );
    for (const file of manifest.files as { name: string; size: number; sha256: string }[]) {
      const bytes = entries[file.name] as Uint8Array;
      expect({ name: file.name, size: bytes.byteLength }).toEqual({ name: file.name, size: file.size });
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
    }
    // Nothing of Kit's: node:crypto and the PEM from the public endpoint.
    expect(keyResponse.status).toBe(200);
    expect(published.algorithm).toBe("Ed25519");
    const signature = Buffer.from(text(entries["manifest.sig"]).trim(), "base64");
    const key = createPublicKey(published.publicKeyPem);
    expect(verify(null, entries["manifest.json"] as Uint8Array, key, signature)).toBe(true);
    expect(verify(null, Buffer.from(`${text(entries["manifest.json"])} `), key, signature)).toBe(false);
  });

  test("dossier:verify passes, then names what changed: one byte of a document, of the manifest", async () => {
    const keyFile = join(dir, "export-key.json");
    await writeFile(keyFile, JSON.stringify(published));
    const good = join(dir, "good.zip");
    await writeFile(good, archive);
    const passed = cli(["dossier:verify", good, "--key", keyFile]);
    expect(passed.stderr.toString()).toBe("");
    expect(passed.exitCode).toBe(0);
    expect(passed.stdout.toString()).toContain(`dossier holds: ${approved.documents.length + 4} files`);
    // Without --key: the configured key's public half.
    expect(cli(["dossier:verify", good]).exitCode).toBe(0);
    // --key as the endpoint's URL, over a real port.
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (request) => kit.app.fetch(request) });
    try {
      // Not spawnSync: the server answering the CLI runs on this process's event loop.
      const byUrl = Bun.spawn(
        ["bun", CLI, "dossier:verify", good, "--key", `http://127.0.0.1:${server.port}/api/audit/export-key`],
        { env: { PATH: process.env.PATH ?? "", ...kit.env }, stdout: "pipe", stderr: "pipe" },
      );
      expect(await byUrl.exited).toBe(0);
      expect(await new Response(byUrl.stdout).text()).toContain("dossier holds");
    } finally {
      server.stop(true);
    }

    const document = approved.documents[0];
    if (!document) throw new Error("no document");
    const badDocument = join(dir, "bad-document.zip");
    await writeFile(
      badDocument,
      flipped(archive, offsetOf(archive, approved.bytes.get(document.id) as Uint8Array) + 3),
    );
    const documentRun = cli(["dossier:verify", badDocument, "--key", keyFile]);
    expect(documentRun.exitCode).toBe(1);
    expect(documentRun.stderr.toString()).toContain(`${documentEntryName(document)}: SHA-256 differs`);
    expect(documentRun.stderr.toString()).not.toContain("manifest.sig");

    const manifestBytes = entries["manifest.json"] as Uint8Array;
    const badManifest = join(dir, "bad-manifest.zip");
    await writeFile(badManifest, flipped(archive, offsetOf(archive, manifestBytes) + manifestBytes.length - 20));
    const manifestRun = cli(["dossier:verify", badManifest, "--key", keyFile]);
    expect(manifestRun.exitCode).toBe(1);
    expect(manifestRun.stderr.toString()).toContain("manifest.sig: the signature over manifest.json does not verify");
  });

  test("dossier:verify refuses bad arguments with exit 1", async () => {
    const good = join(dir, "args.zip");
    await writeFile(good, archive);
    for (const [args, says] of [
      [["dossier:verify"], "expected one dossier file"],
      [["dossier:verify", join(dir, "absent.zip")], "absent.zip"],
      [["dossier:verify", good, "--key", join(dir, "absent.pem")], "--key"],
      [["dossier:verify", good, "--key", good], "--key"],
    ] as const) {
      const run = cli([...args]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr.toString()).toContain(says);
    }
  });

  test("a file missing, a file added, another key: each named", async () => {
    const { zipSync } = await import("fflate");
    const key = createPublicKey(published.publicKeyPem);
    const withoutHistory = Object.fromEntries(Object.entries(entries).filter(([name]) => name !== "history.json"));
    expect(verifyDossier(zipSync(withoutHistory, { level: 0 }), key).problems).toEqual([
      "history.json: listed in the manifest, missing from the archive",
    ]);
    const extra = zipSync({ ...entries, "note.txt": new TextEncoder().encode("added") }, { level: 0 });
    expect(verifyDossier(extra, key).problems).toEqual(["note.txt: in the archive, not in the manifest"]);
    const other = generateKeyPairSync("ed25519").publicKey;
    expect(verifyDossier(archive, other).problems[0]).toContain("does not verify with key");
    expect(verifyDossier(new TextEncoder().encode("not a zip"), key).problems[0]).toContain("not a readable ZIP");
  });

  test("the export is an audit event and an access-log row", async () => {
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "kyc.dossier_exported"), eq(auditEvents.subjectId, approved.id)));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: reviewer.id, actorKind: "user", subjectType: "kyc_application" });
    expect(events[0]?.after).toMatchObject({ documents: approved.documents.length, keyId: published.keyId });
    const access = await db
      .select()
      .from(kycDocumentAccess)
      .where(and(eq(kycDocumentAccess.applicationId, approved.id), eq(kycDocumentAccess.userId, reviewer.id)));
    expect(access.map((a) => a.kind)).toEqual(["application_view"]);
  });
});

describe("who may export", () => {
  const refusals = async (applicationId: string) =>
    db.select().from(auditEvents).where(eq(auditEvents.subjectId, applicationId));

  test("investors and issuers: 403; nothing recorded", async () => {
    const other = await createSubmittedApplication(kit, await createApplicant(kit));
    for (const who of [investor, issuer]) {
      const response = await exportDossier(who, other.id);
      expect(response.status).toBe(403);
      expect(((await response.json()) as { message: string }).message).toContain("kyc: export");
    }
    expect(await refusals(other.id)).toEqual([]);
  });

  test("a reviewer's own application: 403 (four eyes); another reviewer's export of it works", async () => {
    const own = await createSubmittedApplication(kit, reviewer);
    const response = await exportDossier(reviewer, own.id);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toContain("four-eyes");
    expect(await refusals(own.id)).toEqual([]);
    expect((await downloadDossier(admin, own.id)).byteLength).toBeGreaterThan(0);
  });

  test("an unknown application or a draft: 404; a malformed id: 400", async () => {
    const unknown = await exportDossier(reviewer, crypto.randomUUID());
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "NOT_FOUND", defined: true });
    const draft = await createDraftApplication(kit, await createApplicant(kit));
    expect((await exportDossier(reviewer, draft.id)).status).toBe(404);
    const malformed = await exportDossier(reviewer, "not-a-uuid");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({
      code: "BAD_REQUEST",
      data: { issues: [{ path: "applicationId" }] },
    });
    expect((await kit.request(`/api/kyc/review/${approved.id}/dossier`)).status).toBe(401);
  });

  test("an API key needs the grant kyc: export", async () => {
    const key = async (permissions: Record<string, string[]>) =>
      (await kit.deps.auth.api.createApiKey({ body: { userId: admin.id, permissions } })).key;
    const reviewOnly = await exportDossier({ apiKey: await key({ kyc: ["review"] }) }, approved.id);
    expect(reviewOnly.status).toBe(403);
    const exporting = await exportDossier({ apiKey: await key({ kyc: ["export"] }) }, approved.id);
    expect(exporting.status).toBe(200);
    expect(
      verifyDossier(
        new Uint8Array(await exporting.arrayBuffer()),
        createPublicKey((await (await kit.request("/api/audit/export-key")).json()).publicKeyPem),
      ).problems,
    ).toEqual([]);
    const [event] = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "kyc.dossier_exported"), eq(auditEvents.actorKind, "api_key")));
    expect(event?.actorId).toBe(admin.id);
  });
});
