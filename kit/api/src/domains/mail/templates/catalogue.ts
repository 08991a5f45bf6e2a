// Every mail Kit sends, by template name: the notification events of the catalogue
// (notification-catalogue.ts) and the account mails better-auth asks for (auth/account-mail.ts).
import {
  NOTIFICATION_EVENT_TYPES,
  type NotificationEventType,
  type NotificationPayloads,
} from "../../../notification-catalogue";
import type { MailContent } from "./layout";

/** What each account mail carries. `url` is the link to follow; the name is the account's display name. */
interface AccountMailData {
  "account.verify_email": { name: string; url: string };
  "account.reset_password": { name: string; url: string; expiresInMinutes: number };
  /** To the current address: confirm that the address should change to `newEmail`. */
  "account.change_email_confirm": { name: string; newEmail: string; url: string };
  /** To the new address: prove it is yours; the change happens when it is followed. */
  "account.change_email_verify": { name: string; url: string };
  /** To an account's address when someone signs up with it again: where to go instead. */
  "account.sign_up_existing": { name: string };
  /** `browser` is the user agent as sent, `address` the client IP; both the user's own. */
  "account.new_sign_in": { name: string; browser: string; address: string; at: string };
}

const ACCOUNT_MAIL_TEMPLATES = [
  "account.verify_email",
  "account.reset_password",
  "account.change_email_confirm",
  "account.change_email_verify",
  "account.sign_up_existing",
  "account.new_sign_in",
] as const satisfies readonly (keyof AccountMailData)[];

export type MailData = NotificationPayloads & AccountMailData;
export type MailTemplate = NotificationEventType | keyof AccountMailData;

export const MAIL_TEMPLATES: readonly MailTemplate[] = [...NOTIFICATION_EVENT_TYPES, ...ACCOUNT_MAIL_TEMPLATES];

/** The languages mail is written in; any other locale gets the first. */
export const MAIL_LOCALES = ["en", "de"] as const;
export type MailLocale = (typeof MAIL_LOCALES)[number];

/** `de-AT` → `de`; unknown → `en`. */
export function mailLocale(locale: string | null | undefined): MailLocale {
  const language = (locale ?? "").toLowerCase().split(/[-_]/)[0];
  return (MAIL_LOCALES as readonly string[]).includes(language ?? "") ? (language as MailLocale) : "en";
}

/** What a template may use besides its data: where links point, how dates read. */
export interface TemplateContext {
  /** Kit's public URL (no trailing slash); the console is under `/console`. */
  publicUrl: string;
  /** A date in the mail's language, in UTC, with the zone said. */
  date(iso: string): string;
}

/** One language's texts: a function per template. */
export type MailTexts = { [K in MailTemplate]: (data: MailData[K], ctx: TemplateContext) => MailContent };
