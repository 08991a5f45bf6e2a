// Outgoing mail over SMTP (nodemailer). One transport per sending run, closed after it: the worker
// sends in bursts, and a connection left open would outlive the relay's idle timeout anyway.
import nodemailer from "nodemailer";
import type { Config } from "../config";

interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<left@right>`: the same for every try of one message, so receivers can drop a repeat. */
  messageId: string;
}

export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** An SMTP refusal or a connection failure, as the sender records it (no body, no credentials). */
export interface MailFailure {
  /** 5xx: the relay refused the message for good; retrying cannot help. */
  permanent: boolean;
  /** No SMTP answer at all (refused connection, timeout, TLS): the relay, not the message, is the problem. */
  unreachable: boolean;
  /** `smtp-451`, `ECONNREFUSED`: safe for logs. */
  code: string;
  /** With the relay's reply, which may name the recipient: for the message's own row, not for logs. */
  message: string;
}

export function createMailTransport(config: Pick<Config, "mail">, smtpUrl: string): MailTransport {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    // Bounded waits: a relay that hangs costs one try, not the worker.
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 20_000,
  });
  return {
    async send(mail) {
      await transport.sendMail({
        from: config.mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
      });
    },
    close: () => transport.close(),
  };
}

export function describeMailFailure(error: unknown): MailFailure {
  const e = error as { responseCode?: number; response?: string; code?: string; message?: string };
  if (typeof e.responseCode === "number") {
    // The relay's own words, first line, bounded; it may name the recipient, who owns the row.
    const reply = (e.response ?? "").split(/\r?\n/)[0]?.slice(0, 300) ?? "";
    return {
      permanent: e.responseCode >= 500,
      unreachable: false,
      code: `smtp-${e.responseCode}`,
      message: `SMTP ${e.responseCode}: ${reply}`,
    };
  }
  // Connection-level (ECONNREFUSED, ETIMEDOUT, a TLS failure): without the URL, which may hold credentials.
  const code = e.code ?? "ERROR";
  return {
    permanent: false,
    unreachable: true,
    code,
    message: `${code}: ${(e.message ?? "send failed").split("\n")[0]?.slice(0, 200)}`,
  };
}

/** The domain part of MAIL_FROM, for Message-IDs. */
export function senderDomain(from: string): string {
  const address = from.match(/<([^>]+)>/)?.[1] ?? from;
  return address.split("@")[1]?.trim() || "kit.localhost";
}

/** A message as the local SMTP server (dev/smtp.ts) stores it: `<directory>/<receivedAt>-<id>.json`. */
export interface ReceivedMail {
  id: string;
  messageId: string | null;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  receivedAt: string;
}
