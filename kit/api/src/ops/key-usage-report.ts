// `bun run kit kyc:keys [--reencrypt]`: how far a KYC master-key rotation stands. Per master key id
// (the configured ones, and any a row names that is not configured): the data keys it wraps, the
// applications from before envelope encryption still directly under it, and the webhook endpoint
// secrets sealed under a key derived from it. An old key may leave KYC_PREVIOUS_ENCRYPTION_KEYS
// only when all three are 0. `--reencrypt` does the kyc.reencrypt-pii job's work here and now.
import type { Config } from "../config";
import { recordAudit, SYSTEM_ACTOR } from "../domains/audit/record";
import { createPiiKeyring, keyId } from "../domains/kyc/crypto";
import { countKeyUsage, finishKeyRotation, type KeyUsage } from "../domains/kyc/key-rotation";
import { countSecretsByMasterKey, resealSecrets } from "../domains/webhooks/secret-rotation";
import { createSecretBox } from "../domains/webhooks/secrets";
import type { Database } from "../infra/db";
import type { Logger } from "../infra/log";

type Usage = KeyUsage & { webhookSecrets: number };

/** The report's text; with `reencrypt`, what was moved first (recorded in the audit trail). */
export async function reportKeyUsage(
  deps: { db: Database; log: Logger },
  config: Pick<Config, "kyc">,
  options: { reencrypt: boolean },
): Promise<string> {
  const piiKeyring = createPiiKeyring(config);
  let text = "";
  if (options.reencrypt) {
    const { rewrapped, reencrypted, failed } = await finishKeyRotation({ ...deps, local: { piiKeyring } });
    const secrets = await resealSecrets(deps, createSecretBox(config));
    await recordAudit(deps.db, SYSTEM_ACTOR, {
      action: "kyc.encryption_key_rotated",
      subject: { type: "kyc_applications", id: "personal_data" },
      after: {
        rewrapped,
        reencrypted,
        failed,
        webhookSecretsResealed: secrets.resealed,
        via: "kit kyc:keys --reencrypt",
      },
    });
    const broken = failed + secrets.failed;
    text +=
      `re-wrapped ${rewrapped} data keys under the current master key; moved ${reencrypted} applications from a ` +
      `master key to their own data key; re-sealed ${secrets.resealed} webhook endpoints' secrets` +
      (broken > 0 ? `; ${broken} did not decrypt (see the log)\n` : "\n");
  }
  const masters = [config.kyc.encryptionKey, ...config.kyc.previousEncryptionKeys];
  const secrets = await countSecretsByMasterKey(deps.db, masters);
  const secretsUnder = new Map(masters.map((master, i) => [keyId(master), secrets.perMaster[i] ?? 0]));
  const keys: Usage[] = (await countKeyUsage(deps, piiKeyring)).map((key) => ({
    ...key,
    webhookSecrets: secretsUnder.get(key.keyId) ?? 0,
  }));
  text +=
    "KYC master keys: the data keys each wraps, the applications still directly under it (before envelope " +
    "encryption), and the webhook endpoint secrets sealed under it:\n";
  for (const key of keys) {
    text +=
      `  ${key.keyId}  ${key.role.padEnd(12)} ${String(key.dataKeys).padStart(8)} data keys ` +
      `${String(key.legacyRows).padStart(8)} legacy rows ${String(key.webhookSecrets).padStart(6)} webhook secrets` +
      `${keyAdvice(key)}\n`;
  }
  if (secrets.unconfigured > 0) {
    text +=
      `  ${secrets.unconfigured} webhook secrets are under a master key that is not configured: UNREADABLE until ` +
      "it is added to KYC_PREVIOUS_ENCRYPTION_KEYS (or rotate those endpoints' secrets)\n";
  }
  return text;
}

function keyAdvice({ role, dataKeys, legacyRows, webhookSecrets }: Usage): string {
  if (role === "unconfigured") return "  UNREADABLE: add this key to KYC_PREVIOUS_ENCRYPTION_KEYS";
  const left = role === "current" ? legacyRows : dataKeys + legacyRows + webhookSecrets;
  if (left > 0) return "  left for the kyc.reencrypt-pii job (hourly), or run this with --reencrypt";
  return role === "current" ? "" : "  none left: this key may leave KYC_PREVIOUS_ENCRYPTION_KEYS";
}
