// Die Mails auf Deutsch. Werte sind hier reiner Text; layout.ts maskiert sie für HTML.
import type { MailTexts } from "./catalogue";

const notified = (what: string) =>
  `Sie erhalten diese Mail, weil E-Mails für „${what}“ in Ihren Kit-Benachrichtigungseinstellungen eingeschaltet sind; dort können Sie sie abschalten.`;
const account = "Gesendet wegen einer Aktion in Ihrem Kit-Konto. Waren Sie das nicht, setzen Sie Ihr Passwort zurück.";
const reviewerSaid = (message: string | null) =>
  message ? [`Die Prüferin oder der Prüfer schreibt: „${message}“`] : [];
const operation = (d: { kind: string; tokenSymbol: string; operationId: string; token: string }) =>
  [
    ["Vorgang", d.kind],
    ["Token", `${d.tokenSymbol} (${d.token})`],
    ["Vorgangs-ID", d.operationId],
  ] as [string, string][];
const applications = (n: number) => (n === 1 ? "1 KYC-Antrag wartet" : `${n} KYC-Anträge warten`);

export const de: MailTexts = {
  "kyc.submitted": (d) => ({
    subject: "Ihr KYC-Antrag wurde eingereicht",
    paragraphs: ["Wir haben Ihren KYC-Antrag erhalten. Wir schreiben Ihnen, sobald er geprüft ist."],
    facts: [["Antrag", d.applicationId]],
    footer: notified("KYC eingereicht"),
  }),
  "kyc.changes_requested": (d) => ({
    subject: "Änderungen an Ihrem KYC-Antrag erbeten",
    paragraphs: [
      "Ihr KYC-Antrag wurde geprüft; vor einer Freigabe sind Änderungen nötig.",
      ...reviewerSaid(d.message),
      "Bitte ändern Sie den Antrag und reichen Sie ihn erneut ein.",
    ],
    facts: [["Antrag", d.applicationId]],
    footer: notified("KYC-Änderungen erbeten"),
  }),
  "kyc.approved": (d, ctx) => ({
    subject: "Ihr KYC-Antrag wurde genehmigt",
    paragraphs: ["Ihr KYC-Antrag wurde genehmigt. Ihre verknüpften Wallets werden on-chain freigeschaltet."],
    facts: [
      ["Antrag", d.applicationId],
      ["Gültig bis", ctx.date(d.expiresAt)],
    ],
    footer: notified("KYC genehmigt"),
  }),
  "kyc.rejected": (d) => ({
    subject: "Ihr KYC-Antrag wurde abgelehnt",
    paragraphs: ["Ihr KYC-Antrag wurde abgelehnt.", ...reviewerSaid(d.message)],
    facts: [["Antrag", d.applicationId]],
    footer: notified("KYC abgelehnt"),
  }),
  "kyc.revoked": (d) => ({
    subject: "Ihre KYC-Freigabe wurde widerrufen",
    paragraphs: [
      "Ihre KYC-Freigabe wurde widerrufen; Ihre Wallets dürfen keine Kit-Token mehr empfangen.",
      ...reviewerSaid(d.message),
    ],
    facts: [["Antrag", d.applicationId]],
    footer: notified("KYC widerrufen"),
  }),
  "kyc.approval_expiring": (d, ctx) => ({
    subject: `Ihre KYC-Freigabe läuft in ${d.daysLeft} Tagen ab`,
    paragraphs: [
      `Ihre KYC-Freigabe endet in ${d.daysLeft} Tagen. Reichen Sie vorher einen neuen Antrag ein, damit Ihre Wallets freigeschaltet bleiben.`,
    ],
    facts: [
      ["Antrag", d.applicationId],
      ["Läuft ab", ctx.date(d.expiresAt)],
    ],
    footer: notified("KYC-Freigabe läuft ab"),
  }),
  "kyc.queue_digest": (d, ctx) => ({
    subject: `${applications(d.waiting)} auf Prüfung`,
    paragraphs: [`${applications(d.waiting)} in der Prüfwarteschlange.`],
    facts: d.oldestSubmittedAt ? [["Ältester eingereicht", ctx.date(d.oldestSubmittedAt)]] : [],
    action: { label: "Warteschlange öffnen", url: `${ctx.publicUrl}/console/` },
    footer: notified("KYC-Warteschlange (Übersicht)"),
  }),
  "wallet.eligible": (d) => ({
    subject: "Ihre Wallet darf jetzt Kit-Token halten",
    paragraphs: ["Ihre Wallet wurde on-chain registriert und darf jetzt Kit-Token empfangen und halten."],
    facts: [
      ["Wallet", d.wallet],
      ["Chain", String(d.chainId)],
    ],
    footer: notified("Wallet freigeschaltet"),
  }),
  "wallet.eligibility_failed": (d) => ({
    subject: "Ihre Wallet konnte nicht on-chain registriert werden",
    paragraphs: [
      "Die Registrierung Ihrer Wallet ist fehlgeschlagen. Kit versucht es selbst erneut; Sie müssen noch nichts tun.",
    ],
    facts: [
      ["Wallet", d.wallet],
      ["Chain", String(d.chainId)],
      ["Grund", d.reason],
    ],
    footer: notified("Wallet-Freischaltung fehlgeschlagen"),
  }),
  "token_operation.confirmed": (d) => ({
    subject: `${d.tokenSymbol}: Ihr Vorgang ${d.kind} wurde bestätigt`,
    paragraphs: [`Der von Ihnen beauftragte Vorgang ${d.kind} für ${d.tokenSymbol} wurde on-chain bestätigt.`],
    facts: [...operation(d), ["Transaktion", d.txHash]],
    footer: notified("Token-Vorgang bestätigt"),
  }),
  "token_operation.failed": (d) => ({
    subject: `${d.tokenSymbol}: Ihr Vorgang ${d.kind} ist fehlgeschlagen`,
    paragraphs: [`Der von Ihnen beauftragte Vorgang ${d.kind} für ${d.tokenSymbol} ist fehlgeschlagen.`],
    facts: [...operation(d), ["Grund", d.reason]],
    footer: notified("Token-Vorgang fehlgeschlagen"),
  }),
  "token_operation.awaiting_approval": (d, ctx) => ({
    subject: `${d.tokenSymbol}: ein Vorgang ${d.kind} wartet auf Ihre Freigabe`,
    paragraphs: [
      `Ein Vorgang ${d.kind} für ${d.tokenSymbol} wurde beantragt und braucht die Freigabe einer zweiten Person.`,
    ],
    facts: [...operation(d), ["Beantragt von", d.requestedBy]],
    action: { label: "In der Konsole prüfen", url: `${ctx.publicUrl}/console/` },
    footer: notified("Token-Vorgang wartet auf Freigabe"),
  }),
  "exchange_rates.stale": (d, ctx) => ({
    subject: "Wechselkurse sind veraltet",
    paragraphs: [
      `Die Wechselkurse wurden seit ${ctx.date(d.since)} nicht aktualisiert. Bis ein Anbieter antwortet, tragen Antworten veraltete Kurse.`,
    ],
    facts: [["Paare", d.pairs.join(", ")]],
    footer: notified("Wechselkurse veraltet"),
  }),
  "webhook.endpoint_disabled": (d, ctx) => ({
    subject: "Ihr Webhook-Endpunkt wurde deaktiviert",
    paragraphs: [
      `Jede Zustellung an Ihren Webhook-Endpunkt ist seit ${ctx.date(d.failingSince)} fehlgeschlagen; er wurde deaktiviert. Beheben Sie den Fehler und aktivieren Sie ihn wieder.`,
    ],
    facts: [
      ["Endpunkt", d.url],
      ["Endpunkt-ID", d.endpointId],
    ],
    footer: notified("Webhook-Endpunkt deaktiviert"),
  }),
  "account.verify_email": (d) => ({
    subject: "Bestätigen Sie Ihre E-Mail-Adresse für Kit",
    paragraphs: [
      `Hallo ${d.name},`,
      "bitte bestätigen Sie, dass diese Adresse Ihnen gehört, um Ihr Kit-Konto einzurichten.",
    ],
    action: { label: "E-Mail-Adresse bestätigen", url: d.url },
    footer: "Diese Adresse wurde für ein Kit-Konto angegeben. Waren Sie das nicht, ignorieren Sie diese Mail.",
  }),
  "account.reset_password": (d) => ({
    subject: "Setzen Sie Ihr Kit-Passwort zurück",
    paragraphs: [
      `Hallo ${d.name},`,
      `jemand möchte das Passwort Ihres Kit-Kontos zurücksetzen. Der Link gilt einmal und ${d.expiresInMinutes} Minuten lang; mit dem neuen Passwort enden alle Ihre Sitzungen.`,
      "Waren Sie das nicht, ignorieren Sie diese Mail: Ihr Passwort bleibt unverändert.",
    ],
    action: { label: "Neues Passwort wählen", url: d.url },
    footer: account,
  }),
  "account.change_email_confirm": (d) => ({
    subject: "Bestätigen Sie die Änderung Ihrer Kit-E-Mail-Adresse",
    paragraphs: [
      `Hallo ${d.name},`,
      `jemand möchte die E-Mail-Adresse Ihres Kit-Kontos in ${d.newEmail} ändern. Bestätigen Sie das hier; die neue Adresse erhält danach einen Link zur Bestätigung.`,
      "Waren Sie das nicht, folgen Sie dem Link nicht und setzen Sie Ihr Passwort zurück.",
    ],
    action: { label: "Änderung bestätigen", url: d.url },
    footer: account,
  }),
  "account.change_email_verify": (d) => ({
    subject: "Bestätigen Sie Ihre neue E-Mail-Adresse für Kit",
    paragraphs: [`Hallo ${d.name},`, "folgen Sie dem Link, um diese Adresse für Ihr Kit-Konto zu verwenden."],
    action: { label: "Diese Adresse verwenden", url: d.url },
    footer: account,
  }),
  "account.sign_up_existing": (d) => ({
    subject: "Jemand wollte sich mit Ihrer Adresse bei Kit registrieren",
    paragraphs: [
      `Hallo ${d.name},`,
      "jemand wollte mit dieser E-Mail-Adresse ein Kit-Konto anlegen; es gibt aber schon eines. Es wurde kein Konto angelegt, Ihres ist unverändert.",
      "Waren Sie das, melden Sie sich an; haben Sie Ihr Passwort vergessen, fordern Sie auf der Anmeldeseite einen Link zum Zurücksetzen an.",
    ],
    footer: account,
  }),
  "account.new_sign_in": (d, ctx) => ({
    subject: "Neue Anmeldung bei Ihrem Kit-Konto",
    paragraphs: [
      `Hallo ${d.name},`,
      "bei Ihrem Kit-Konto hat sich jemand von einem Browser oder einer Adresse angemeldet, die wir für Sie noch nicht kannten.",
      "Waren Sie das, ist nichts zu tun. Sonst setzen Sie jetzt Ihr Passwort zurück: Das beendet alle Sitzungen.",
    ],
    facts: [
      ["Wann", ctx.date(d.at)],
      ["Browser", d.browser],
      ["Adresse", d.address],
    ],
    footer: "Diese Mails können Sie in Ihren Einstellungen abschalten (Anmeldehinweise).",
  }),
};
