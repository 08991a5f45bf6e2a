// Renders one mail: the template's texts in the reader's language, through the one layout.
import type { MailData, MailLocale, MailTemplate, MailTexts, TemplateContext } from "./templates/catalogue";
import { mailLocale } from "./templates/catalogue";
import { type RenderedMail, renderContent } from "./templates/layout";
import { de } from "./templates/texts-de";
import { en } from "./templates/texts-en";

const TEXTS: Record<MailLocale, MailTexts> = { en, de };

function dateIn(locale: MailLocale): (iso: string) => string {
  const format = new Intl.DateTimeFormat(locale === "de" ? "de-DE" : "en-GB", {
    dateStyle: "long",
    timeStyle: "short",
    timeZone: "UTC",
  });
  return (iso) => {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : `${format.format(date)} UTC`;
  };
}

export function renderMail<T extends MailTemplate>(
  template: T,
  locale: string,
  data: MailData[T],
  publicUrl: string,
): RenderedMail & { locale: MailLocale } {
  const language = mailLocale(locale);
  const ctx: TemplateContext = { publicUrl, date: dateIn(language) };
  const write = TEXTS[language][template] as (
    data: MailData[T],
    ctx: TemplateContext,
  ) => Parameters<typeof renderContent>[0];
  return { ...renderContent(write(data, ctx), language), locale: language };
}
