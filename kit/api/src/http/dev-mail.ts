// Development only: the mail the embedded SMTP server of `bun run dev` received (dev/smtp.ts keeps
// each message as JSON beside its .eml), for the console's "Outbox (dev)" page and the walkthrough.
// Mounted only when the local stack keeps a mail store (config.mail.devStoreDir, which no
// environment variable sets) and never in production: elsewhere these paths do not exist.
// Admins only: the store holds every user's verification and reset links.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Context, Hono } from "hono";
import type { Deps } from "../deps";
import { resolveCaller } from "../domains/auth/session";
import type { ReceivedMail } from "../infra/mail";
import type { AppEnv } from "./app-env";
import { clientAddress } from "./client-ip";
import { errorResponse } from "./errors";

const DEV_MAIL_PATH = "/api/dev/mail";
const MAX_LISTED = 200;

async function refuseUnlessAdmin(c: Context<AppEnv>, deps: Deps): Promise<Response | null> {
  const ip = () => clientAddress(c, deps.config.auth.trustProxyHops) ?? "unknown";
  const { caller } = await resolveCaller(deps, c.req.raw.headers, ip, deps.rateLimitRules.default);
  if (caller.kind !== "user") {
    return errorResponse(c, {
      code: "UNAUTHORIZED",
      status: 401,
      message: "Sign in as an admin to read the dev outbox.",
    });
  }
  if (caller.user.role !== "admin") {
    return errorResponse(c, { code: "FORBIDDEN", status: 403, message: "Only admins may read the dev outbox." });
  }
  return null;
}

/** The stored messages, newest first (file names start with the time received). */
async function storedMessages(directory: string): Promise<ReceivedMail[]> {
  const files = (await readdir(directory).catch(() => [] as string[]))
    .filter((name) => name.endsWith(".json"))
    .sort()
    .reverse()
    .slice(0, MAX_LISTED);
  const read = await Promise.all(
    files.map(async (name) => {
      try {
        return JSON.parse(await readFile(join(directory, name), "utf8")) as ReceivedMail;
      } catch {
        return null; // being written, or not one of ours
      }
    }),
  );
  return read.filter((mail): mail is ReceivedMail => mail !== null);
}

export function mountDevMail(app: Hono<AppEnv>, deps: Deps): void {
  const directory = deps.config.mail.devStoreDir;
  if (!directory || deps.config.env === "production") return;

  app.get(DEV_MAIL_PATH, async (c) => {
    c.set("route", "dev/mail");
    const refused = await refuseUnlessAdmin(c, deps);
    if (refused) return refused;
    const messages = await storedMessages(directory);
    return c.json({
      directory,
      messages: messages.map(({ id, messageId, from, to, subject, receivedAt }) => ({
        id,
        messageId,
        from,
        to,
        subject,
        receivedAt,
      })),
    });
  });

  app.get(`${DEV_MAIL_PATH}/:id`, async (c) => {
    c.set("route", "dev/mail/:id");
    const refused = await refuseUnlessAdmin(c, deps);
    if (refused) return refused;
    const mail = (await storedMessages(directory)).find((m) => m.id === c.req.param("id"));
    if (!mail) {
      return errorResponse(c, {
        code: "NOT_FOUND",
        status: 404,
        message: `No message ${c.req.param("id")} among the latest ${MAX_LISTED} in the dev outbox.`,
      });
    }
    return c.json(mail);
  });
}
