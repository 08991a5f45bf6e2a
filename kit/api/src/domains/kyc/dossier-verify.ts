// `bun run kit dossier:verify FILE.zip [--key PEM-file|JSON-file|URL]`: checks a dossier offline —
// the Ed25519 signature over manifest.json's exact bytes, then each file's size and SHA-256
// against the manifest, and that no file is missing or extra. Needs nothing of Kit but the public
// key (the configured one when none is given). The archive is read whole: a dossier is a few
// documents of at most 10 MiB each.
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { unzipSync } from "fflate";
import { publishedKeyOf, verifyExportSignature } from "../audit/export-key";
import { MANIFEST_NAME, type ManifestFile, SIGNATURE_NAME } from "./dossier-zip";

export interface DossierVerdict {
  /** What failed, each naming the file; empty when the dossier holds. */
  problems: string[];
  /** What the manifest says (once it was readable). */
  manifest?: { applicationId?: unknown; exportedBy?: unknown; exportedAt?: unknown; keyId?: unknown };
  files: number;
}

export function verifyDossier(archive: Uint8Array, publicKey: KeyObject): DossierVerdict {
  const names: string[] = [];
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(archive, {
      filter: (file) => {
        names.push(file.name);
        return true;
      },
    });
  } catch (error) {
    return { problems: [`not a readable ZIP archive (${(error as Error).message})`], files: 0 };
  }
  const problems: string[] = [];
  for (const name of new Set(names.filter((n, i) => names.indexOf(n) !== i))) {
    problems.push(`${name}: appears more than once in the archive`);
  }
  const manifestBytes = entries[MANIFEST_NAME];
  const signature = entries[SIGNATURE_NAME];
  if (!manifestBytes) return { problems: [...problems, `${MANIFEST_NAME}: missing`], files: 0 };
  const keyId = publishedKeyOf(publicKey).keyId;
  let manifest: { files?: unknown; keyId?: unknown } & NonNullable<DossierVerdict["manifest"]>;
  try {
    manifest = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(manifestBytes));
  } catch {
    return { problems: [...problems, `${MANIFEST_NAME}: not JSON`], files: 0 };
  }
  if (!signature) problems.push(`${SIGNATURE_NAME}: missing`);
  else if (!verifyExportSignature(publicKey, manifestBytes, new TextDecoder().decode(signature))) {
    const other = manifest.keyId !== keyId ? ` (the manifest names key ${String(manifest.keyId)})` : "";
    problems.push(`${SIGNATURE_NAME}: the signature over ${MANIFEST_NAME} does not verify with key ${keyId}${other}`);
  }
  const files = manifestFiles(manifest.files);
  if (!files) return { problems: [...problems, `${MANIFEST_NAME}: no valid "files" list`], manifest, files: 0 };
  const listed = new Set<string>();
  for (const file of files) {
    listed.add(file.name);
    const bytes = entries[file.name];
    if (!bytes) {
      problems.push(`${file.name}: listed in the manifest, missing from the archive`);
      continue;
    }
    if (bytes.byteLength !== file.size) {
      problems.push(`${file.name}: ${bytes.byteLength} bytes, the manifest says ${file.size}`);
    }
    if (createHash("sha256").update(bytes).digest("hex") !== file.sha256) {
      problems.push(`${file.name}: SHA-256 differs from the manifest's`);
    }
  }
  for (const name of Object.keys(entries)) {
    if (name !== MANIFEST_NAME && name !== SIGNATURE_NAME && !listed.has(name)) {
      problems.push(`${name}: in the archive, not in the manifest`);
    }
  }
  return { problems, manifest, files: files.length };
}

function manifestFiles(value: unknown): ManifestFile[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const valid = value.every(
    (f) =>
      typeof f === "object" &&
      f !== null &&
      typeof f.name === "string" &&
      Number.isSafeInteger(f.size) &&
      typeof f.sha256 === "string",
  );
  return valid ? (value as ManifestFile[]) : undefined;
}

/**
 * The public key from `--key`: a URL (GET /api/audit/export-key's JSON, or a PEM), or a file
 * holding a PEM public key or that JSON.
 */
export async function loadVerificationKey(source: string): Promise<KeyObject> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const response = await fetch(source, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    text = await response.text();
  } else {
    text = await readFile(source, "utf8");
  }
  let pem = text;
  if (text.trimStart().startsWith("{")) {
    const published = JSON.parse(text) as { publicKeyPem?: unknown };
    if (typeof published.publicKeyPem !== "string") throw new Error("the JSON has no publicKeyPem");
    pem = published.publicKeyPem;
  }
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 public key");
  return key;
}
