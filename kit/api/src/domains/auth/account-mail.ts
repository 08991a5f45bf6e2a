// The mails of the account flows better-auth runs (verification, password reset, change of address)
// and the alert on a sign-in from a browser and address never seen for the account. Every one goes
// through the mail outbox (domains/mail), so a relay that is down delays them and loses none.
// None of them changes what better-auth answers: whether an account exists is never told.
import { createHash, createHmac, randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import type { Config } from "../../config";
import type { Database } from "../../infra/db";
import type { Logger } from "../../infra/log";
import { consumeRateLimit } from "../../infra/rate-limiter";
import type { Redis } from "../../infra/redis";
import type { RateLimitRules } from "../../rpc/rate-limit-rules";
import { type MailToQueue, type MailWaker, queueMails, wakeMailSender } from "../mail/outbox";
import { knownSignIns, user as userTable } from "./schema";

/** A reset link works once, for this long. */
const RESET_PASSWORD_EXPIRES_IN_SECONDS = 30 * 60;
/** How long a browser and address that signed in stay known without signing in again. */
const KNOWN_SIGN_IN_DAYS = 180;
/** A verification link (sign-up, new address) works for this long. */
const VERIFY_EMAIL_EXPIRES_IN_SECONDS = 24 * 60 * 60;

export interface AccountMailDeps {
  config: Config;
  db: Database;
  redis: Redis;
  log: Logger;
  rateLimitRules: RateLimitRules;
  /** Wakes the mail sender; without it (the CLI) the worker's sweep sends. */
  jobs?: MailWaker;
  /**
   * The reader's locale and alert switch (settings, through deps.queries: its shape is
   * DomainQueries' own, repeated because deps.ts reads this file); English and on without it.
   */
  queries?: {
    accountMailPreferences(
      deps: Pick<AccountMailDeps, "db" | "redis" | "log"> & { config: Pick<Config, "fx"> },
      userId: string,
    ): Promise<{ locale: string; signInAlerts: boolean }>;
  };
}

interface MailUser {
  id: string;
  email: string;
  name: string;
}

type AccountTemplate = Extract<MailToQueue["template"], `account.${string}`>;

/**
 * One mail per request: a verification token asked for twice in one second is the same JWT, but
 * each request gets its mail (and counts against the limit). Tokens are secrets: the key (stored,
 * and the Message-ID) carries a hash of one, never the token.
 */
function tokenKey(kind: string, token: string): string {
  return `account:${kind}:${createHash("sha256").update(token).digest("hex").slice(0, 32)}:${randomUUID()}`;
}

async function preferences(deps: AccountMailDeps, userId: string) {
  try {
    return (await deps.queries?.accountMailPreferences(deps, userId)) ?? { locale: "en", signInAlerts: true };
  } catch (err) {
    deps.log.warn({ err }, "account mail: could not read the user's settings; writing in English");
    return { locale: "en", signInAlerts: true };
  }
}

/** Past the per-account limit nothing is queued; the caller's answer stays the same. */
async function withinMailLimit(deps: AccountMailDeps, userId: string): Promise<boolean> {
  try {
    const result = await consumeRateLimit(deps.redis, deps.rateLimitRules["auth.account-mail"], userId);
    if (!result.allowed) deps.log.info({ userId }, "account mail not queued: the account's mail limit is reached");
    return result.allowed;
  } catch (err) {
    // Redis away: the mail goes (better-auth's per-address limit still held the request).
    deps.log.warn({ err }, "account mail: the limiter could not be reached; queuing anyway");
    return true;
  }
}

async function queueAccountMail<T extends AccountTemplate>(
  deps: AccountMailDeps,
  to: string,
  userId: string,
  template: T,
  data: MailToQueue<T>["data"],
  dedupeKey: string,
): Promise<void> {
  const { locale } = await preferences(deps, userId);
  await queueMails(deps.db, [{ to, template, locale, data, dedupeKey }]);
  await wakeMailSender(deps);
}

/** better-auth's verification tokens are JWTs; a change of address says so in its payload. */
function verificationRequestType(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof payload.requestType === "string" ? payload.requestType : undefined;
  } catch {
    return undefined;
  }
}

/** What createAuth hands to better-auth for the account mails. */
export function accountMailSettings(deps: AccountMailDeps) {
  const mails = accountMails(deps);
  return {
    // Asking for a reset answers the same whether the account exists or not (better-auth's own
    // answer); the link works once, for 30 minutes, and using it ends every session of the account.
    repeatedSignUp: mails.noteRepeatedSignUp,
    passwordReset: {
      sendResetPassword: mails.sendResetPassword,
      resetPasswordTokenExpiresIn: RESET_PASSWORD_EXPIRES_IN_SECONDS,
      revokeSessionsOnPasswordReset: true,
    },
    // Signing in does not need a verified address; submitting a KYC application does
    // (KYC_REQUIRE_VERIFIED_EMAIL, kyc/applications.ts).
    emailVerification: {
      sendOnSignUp: true,
      expiresIn: VERIFY_EMAIL_EXPIRES_IN_SECONDS,
      sendVerificationEmail: mails.sendVerificationEmail,
    },
    user: {
      // A verified address changes only after its owner confirms (mail to the old address) and the
      // new address proves itself (mail to the new one). An unverified one (a typo at sign-up, a
      // wallet account's placeholder) proved nothing: it changes at once, and the new address gets
      // the verification link.
      changeEmail: {
        enabled: true,
        updateEmailWithoutVerification: true,
        sendChangeEmailConfirmation: mails.sendChangeEmailConfirmation,
      },
    },
    databaseHooks: {
      session: { create: { after: (session: Parameters<typeof mails.noteSignIn>[0]) => mails.noteSignIn(session) } },
    },
  };
}

/** The callbacks behind the settings. */
function accountMails(deps: AccountMailDeps) {
  return {
    /** Sign-up, a resend, and (with `change-email-verification`) the link to a new address. */
    async sendVerificationEmail({ user, url, token }: { user: MailUser; url: string; token: string }) {
      if (!(await withinMailLimit(deps, user.id))) return;
      const newAddress = verificationRequestType(token) === "change-email-verification";
      await queueAccountMail(
        deps,
        user.email,
        user.id,
        newAddress ? "account.change_email_verify" : "account.verify_email",
        { name: user.name, url },
        tokenKey(newAddress ? "change-email-verify" : "verify", token),
      );
    },
    async sendResetPassword({ user, url, token }: { user: MailUser; url: string; token: string }) {
      if (!(await withinMailLimit(deps, user.id))) return;
      await queueAccountMail(
        deps,
        user.email,
        user.id,
        "account.reset_password",
        { name: user.name, url, expiresInMinutes: RESET_PASSWORD_EXPIRES_IN_SECONDS / 60 },
        tokenKey("reset", token),
      );
    },
    /**
     * Someone signed up with an address that has an account: its owner hears of it (and where to
     * sign in), and the request costs about what a new account's does, mail queued either way.
     */
    async noteRepeatedSignUp(user: MailUser) {
      if (!(await withinMailLimit(deps, user.id))) return;
      await queueAccountMail(
        deps,
        user.email,
        user.id,
        "account.sign_up_existing",
        { name: user.name },
        `account:sign-up-existing:${user.id}:${randomUUID()}`,
      );
    },
    /** To the current address: the change goes on only once its owner follows the link. */
    async sendChangeEmailConfirmation(data: { user: MailUser; newEmail: string; url: string; token: string }) {
      if (!(await withinMailLimit(deps, data.user.id))) return;
      await queueAccountMail(
        deps,
        data.user.email,
        data.user.id,
        "account.change_email_confirm",
        { name: data.user.name, newEmail: data.newEmail, url: data.url },
        tokenKey("change-email-confirm", data.token),
      );
    },
    /** After every new session: mails the owner when its browser and address are new for the account. */
    async noteSignIn(session: {
      userId: string;
      ipAddress?: string | null;
      userAgent?: string | null;
      impersonatedBy?: string | null;
    }) {
      if (session.impersonatedBy) return;
      try {
        await alertOnUnseenSignIn(deps, session);
      } catch (err) {
        // The sign-in stands; only its alert is lost, and said so.
        deps.log.warn({ err }, "could not record the sign-in's device or queue its alert");
      }
    },
  };
}

async function alertOnUnseenSignIn(
  deps: AccountMailDeps,
  session: { userId: string; ipAddress?: string | null; userAgent?: string | null },
): Promise<void> {
  const browser = session.userAgent?.slice(0, 300) || "unknown";
  const address = session.ipAddress || "unknown";
  // Keyed: the table must not let anyone recover addresses by hashing the IPv4 space.
  const fingerprint = createHmac("sha256", deps.config.auth.secret)
    .update(`${browser}\n${address}`)
    .digest("hex")
    .slice(0, 40);
  // Bounded per user: places unseen for KNOWN_SIGN_IN_DAYS are forgotten (a sign-in from one alerts again).
  await deps.db.execute(sql`
    delete from ${knownSignIns} where ${knownSignIns.userId} = ${session.userId}
      and ${knownSignIns.lastSeenAt} < now() - make_interval(days => ${KNOWN_SIGN_IN_DAYS})`);
  const result = await deps.db.execute<{ inserted: boolean; before: number; since: string }>(sql`
    with seen as (select count(*)::int as n from ${knownSignIns} where ${knownSignIns.userId} = ${session.userId})
    insert into ${knownSignIns} (user_id, fingerprint, first_seen_at, last_seen_at)
    values (${session.userId}, ${fingerprint}, now(), now())
    on conflict (user_id, fingerprint) do update set last_seen_at = excluded.last_seen_at
    returning (xmax = 0) as inserted, (select n from seen) as before,
      (extract(epoch from first_seen_at) * 1000)::bigint::text as since`);
  const row = result.rows[0];
  // The first sign-in ever has nothing to compare with: no alert.
  if (!row?.inserted || row.before === 0) return;
  const prefs = await preferences(deps, session.userId);
  if (!prefs.signInAlerts) return;
  const [owner] = await deps.db
    .select({ email: userTable.email, name: userTable.name, verified: userTable.emailVerified })
    .from(userTable)
    .where(eq(userTable.id, session.userId));
  // An address nobody proved (a wallet's placeholder, a typo at sign-up) is not written to.
  if (!owner?.verified) return;
  await queueMails(deps.db, [
    {
      to: owner.email,
      template: "account.new_sign_in",
      locale: prefs.locale,
      data: { name: owner.name, browser, address, at: new Date().toISOString() },
      // Once per place, and again only once it was forgotten and seen anew.
      dedupeKey: `account:sign-in:${session.userId}:${fingerprint}:${row.since}`,
    },
  ]);
  await wakeMailSender(deps);
}
