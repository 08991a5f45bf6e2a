// One layout for every mail: a template gives plain-text pieces (greeting, paragraphs, an optional
// button, facts), and this file turns them into the text part and the HTML part. Every piece is
// escaped here, once, so no template can forget to escape a value someone else typed.

/** A mail as a template writes it: text only, no markup. */
export interface MailContent {
  subject: string;
  /** Paragraphs of plain text. */
  paragraphs: string[];
  /** Label/value pairs shown as a small table (ids, amounts, dates). */
  facts?: [string, string][];
  /** The one thing to do next: a button in HTML, a bare URL in text. */
  action?: { label: string; url: string };
  /** Why the reader got this mail, in small print. */
  footer: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** Subjects are one header line: no line breaks can be smuggled in, and they stay short. */
function subjectLine(subject: string): string {
  const line = subject.replace(/[\r\n\t]+/g, " ").trim();
  return line.length > 150 ? `${line.slice(0, 149)}…` : line;
}

/** Only http(s) links become buttons; anything else is shown as text, never as a link. */
function safeUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function renderText(content: MailContent): string {
  const parts = [...content.paragraphs];
  if (content.facts?.length) parts.push(content.facts.map(([label, value]) => `${label}: ${value}`).join("\n"));
  if (content.action) parts.push(`${content.action.label}:\n${content.action.url}`);
  parts.push(`-- \n${content.footer}`);
  return `${parts.join("\n\n")}\n`;
}

function renderHtml(content: MailContent, lang: string): string {
  const paragraphs = content.paragraphs.map((p) => `<p style="margin:0 0 16px">${escapeHtml(p)}</p>`).join("\n");
  const facts = content.facts?.length
    ? `<table style="border-collapse:collapse;margin:0 0 16px">${content.facts
        .map(
          ([label, value]) =>
            `<tr><td style="padding:2px 12px 2px 0;color:#555">${escapeHtml(label)}</td><td style="padding:2px 0;font-family:monospace">${escapeHtml(value)}</td></tr>`,
        )
        .join("")}</table>`
    : "";
  const href = content.action ? safeUrl(content.action.url) : null;
  const action = content.action
    ? href
      ? `<p style="margin:24px 0"><a href="${escapeHtml(href)}" style="background:#1d4ed8;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">${escapeHtml(content.action.label)}</a></p><p style="margin:0 0 16px;font-size:12px;color:#555">${escapeHtml(href)}</p>`
      : `<p style="margin:0 0 16px">${escapeHtml(content.action.label)}: ${escapeHtml(content.action.url)}</p>`
    : "";
  return `<!doctype html>
<html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><title>${escapeHtml(subjectLine(content.subject))}</title></head>
<body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#111;max-width:560px;margin:0 auto;padding:24px">
${paragraphs}
${facts}${action}
<hr style="border:none;border-top:1px solid #ddd;margin:24px 0">
<p style="font-size:12px;color:#555">${escapeHtml(content.footer)}</p>
</body></html>
`;
}

export function renderContent(content: MailContent, lang: string): RenderedMail {
  return { subject: subjectLine(content.subject), text: renderText(content), html: renderHtml(content, lang) };
}
