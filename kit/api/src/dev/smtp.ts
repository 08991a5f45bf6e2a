// An SMTP server in-process (smtp-server + mailparser), for `bun run dev` and tests: it accepts any
// mail, parses it, keeps it in memory and, with a directory, writes each message there as JSON and
// as the raw .eml (what the console's "Outbox (dev)" page lists).
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import type { ReceivedMail } from "../infra/mail";

export interface LocalSmtp {
  /** `smtp://127.0.0.1:<port>`: what SMTP_URL is set to. */
  url: string;
  /** Every message accepted so far, oldest first. */
  received: ReceivedMail[];
  /** Resolves with the first accepted message (from now or before) that `match` accepts. */
  waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

export interface LocalSmtpOptions {
  port?: number;
  /** Where each message is written (JSON and .eml); in memory only without. */
  directory?: string;
  /**
   * Tests: called for each message before it is accepted, with how many were offered so far (1 for
   * the first); a reply code it returns (e.g. 451) refuses the message with it.
   */
  refuse?: (offered: number) => number | undefined;
}

function addresses(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.flatMap((entry: { value?: { address?: string }[] }) =>
    (entry.value ?? []).map((a) => a.address ?? "").filter(Boolean),
  );
}

export async function startLocalSmtp(options: LocalSmtpOptions = {}): Promise<LocalSmtp> {
  const received: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let offered = 0;
  if (options.directory) await mkdir(options.directory, { recursive: true });

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    banner: "Kit local SMTP",
    size: 10 * 1024 * 1024,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", async () => {
        offered += 1;
        const code = options.refuse?.(offered);
        if (code) {
          callback(Object.assign(new Error(`refused by the test server (${code})`), { responseCode: code }));
          return;
        }
        try {
          const raw = Buffer.concat(chunks);
          const parsed = await simpleParser(raw);
          const mail: ReceivedMail = {
            id: randomUUID(),
            messageId: parsed.messageId ?? null,
            from: addresses(parsed.from)[0] ?? "",
            to: addresses(parsed.to),
            subject: parsed.subject ?? "",
            text: parsed.text ?? "",
            html: typeof parsed.html === "string" ? parsed.html : null,
            receivedAt: new Date().toISOString(),
          };
          if (options.directory) {
            const base = join(options.directory, `${mail.receivedAt.replace(/[:.]/g, "-")}-${mail.id}`);
            await writeFile(`${base}.eml`, raw);
            await writeFile(`${base}.json`, `${JSON.stringify(mail, null, 2)}\n`);
          }
          received.push(mail);
          for (const wake of waiters) wake();
          callback();
        } catch (error) {
          callback(error as Error);
        }
      });
    },
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    waitFor(match, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = received.find(match);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    stop: async () => {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      await stopped;
    },
  };
}
