// Every template in every language: a subject that says what happened, both parts, values escaped
// in HTML and never turned into links unless they are http(s).
import { describe, expect, test } from "bun:test";
import { renderMail } from "./render";
import { MAIL_LOCALES, MAIL_TEMPLATES, type MailData, type MailTemplate, mailLocale } from "./templates/catalogue";

const op = { operationId: "op-1", token: "0xabc", tokenSymbol: "BOND", kind: "mint" };
const samples: { [K in MailTemplate]: MailData[K] } = {
  "kyc.submitted": { applicationId: "app-1" },
  "kyc.changes_requested": { applicationId: "app-1", message: "Please upload <b>a</b> passport" },
  "kyc.approved": { applicationId: "app-1", expiresAt: "2027-01-31T10:00:00Z" },
  "kyc.rejected": { applicationId: "app-1", message: null },
  "kyc.revoked": { applicationId: "app-1", message: "sanctions" },
  "kyc.approval_expiring": { applicationId: "app-1", expiresAt: "2027-01-31T10:00:00Z", daysLeft: 7 },
  "kyc.queue_digest": { waiting: 4, oldestSubmittedAt: "2026-12-01T08:00:00Z" },
  "wallet.eligible": { wallet: "0xabc", chainId: 1 },
  "wallet.eligibility_failed": { wallet: "0xabc", chainId: 1, reason: "node down" },
  "token_operation.confirmed": { ...op, txHash: "0xdead" },
  "token_operation.failed": { ...op, reason: "reverted" },
  "token_operation.awaiting_approval": { ...op, requestedBy: "issuer@example.com" },
  "exchange_rates.stale": { pairs: ["EUR/USD"], since: "2026-12-05T08:00:00Z" },
  "webhook.endpoint_disabled": {
    endpointId: "ep-1",
    url: "https://hooks.example.com/x",
    failingSince: "2026-12-04T08:00:00Z",
  },
  "account.verify_email": { name: "Ada", url: "https://kit.example.com/api/auth/verify-email?token=t" },
  "account.reset_password": {
    name: "Ada",
    url: "https://kit.example.com/api/auth/reset-password/t",
    expiresInMinutes: 30,
  },
  "account.change_email_confirm": { name: "Ada", newEmail: "new@example.com", url: "https://kit.example.com/x" },
  "account.change_email_verify": { name: "Ada", url: "https://kit.example.com/x" },
  "account.sign_up_existing": { name: "Ada" },
  "account.new_sign_in": { name: "Ada", browser: "Firefox", address: "203.0.113.9", at: "2026-12-05T12:00:00Z" },
};

describe("mail templates", () => {
  for (const template of MAIL_TEMPLATES) {
    test(`${template}: en and de, text and HTML`, () => {
      const subjects = MAIL_LOCALES.map((locale) => {
        const mail = renderMail(template, locale, samples[template] as never, "https://kit.example.com");
        expect(mail.locale).toBe(locale);
        expect(mail.subject.length).toBeGreaterThan(10);
        expect(mail.text.length).toBeGreaterThan(40);
        expect(mail.html).toStartWith("<!doctype html>");
        expect(mail.html).toContain(`lang="${locale}"`);
        expect(mail.html).not.toContain("<b>");
        return mail.subject;
      });
      expect(new Set(subjects).size).toBe(MAIL_LOCALES.length); // really translated
    });
  }

  test("dates read in the reader's language", () => {
    const data = samples["kyc.approved"];
    expect(renderMail("kyc.approved", "en", data, "").text).toContain("31 January 2027");
    expect(renderMail("kyc.approved", "de", data, "").text).toContain("31. Januar 2027");
  });

  test("a link that is not http(s) is never a link; subjects are one line", () => {
    const mail = renderMail("account.verify_email", "en", { name: "Ada\r\nBcc: x", url: "javascript:alert(1)" }, "");
    expect(mail.html).not.toContain("href=");
    expect(
      renderMail("account.new_sign_in", "en", { ...samples["account.new_sign_in"], name: "a\nb" }, "").subject,
    ).not.toContain("\n");
  });

  test("locales fall back to English", () => {
    expect(mailLocale("de-CH")).toBe("de");
    expect(mailLocale("pt-BR")).toBe("en");
    expect(mailLocale(undefined)).toBe("en");
  });
});
