// The account flows end to end, with a real SMTP server receiving the mail: every mail is parsed and
// its link followed as a person would. Mail goes through the outbox; `deliver` is the worker's run.
import { afterAll, describe, expect, test } from "bun:test";
import { and, desc, eq } from "drizzle-orm";
import { callApi } from "../../../test/api";
import { createTestKit } from "../../../test/kit";
import { createUser, TRUSTED_ORIGIN } from "../../../test/users";
import { startLocalSmtp } from "../../dev/smtp";
import type { ReceivedMail } from "../../infra/mail";
import { mailMessages } from "../mail/schema";
import { sendDueMail } from "../mail/sender";
import { knownSignIns, user as userTable } from "./schema";
import { AUTH_KEY_PREFIX } from "./secondary-storage";

const smtp = await startLocalSmtp();
const kit = await createTestKit({
  env: {
    SMTP_URL: smtp.url,
    TRUST_PROXY_HOPS: "1",
    RATE_LIMITS: JSON.stringify({ "auth.account-mail": { limit: 3, windowSeconds: 3600 } }),
  },
});
afterAll(() => smtp.stop());

const PASSWORD = "a long test password";
let ipCounter = 0;
const nextIp = () => `198.51.100.${++ipCounter}`;

function authPost(path: string, body: unknown, headers: Record<string, string> = {}) {
  return kit.request(`/api/auth${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN, "x-forwarded-for": nextIp(), ...headers },
    body: JSON.stringify(body),
  });
}

async function signIn(email: string, password: string, headers: Record<string, string> = {}) {
  const response = await authPost("/sign-in/email", { email, password }, headers);
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  return { status: response.status, cookie: cookie ?? "" };
}

const deliver = () => sendDueMail(kit.deps);
const mailsTo = (address: string) => smtp.received.filter((m) => m.to.includes(address));
const uniqueEmail = (what: string) => `${what}-${crypto.randomUUID().slice(0, 8)}@example.com`;

/** The one link of a mail's text part that goes to the API. */
function linkIn(mail: ReceivedMail): URL {
  const found = mail.text.match(/https?:\/\/\S+\/api\/auth\/\S+/)?.[0];
  if (!found) throw new Error(`no link in "${mail.subject}"`);
  return new URL(found);
}

/** Follows a mail's link against the in-process app, as a browser would (the first hop). */
const follow = (url: URL, headers: Record<string, string> = {}) =>
  kit.request(`${url.pathname}${url.search}`, { headers: { "x-forwarded-for": nextIp(), ...headers } });

async function signUp(email: string) {
  const response = await authPost("/sign-up/email", { email, password: PASSWORD, name: "New <b>Investor</b>" });
  expect(response.status).toBe(200);
  await deliver();
  return smtp.waitFor((m) => m.to.includes(email) && m.subject.startsWith("Confirm your e-mail"));
}

describe("e-mail verification", () => {
  test("sign-up mails a link that verifies the address; until then a KYC submission is refused, actionably", async () => {
    const email = uniqueEmail("verify");
    const mail = await signUp(email);
    expect(mail.html).toContain("New &lt;b&gt;Investor&lt;/b&gt;"); // the name someone typed, escaped

    const session = await signIn(email, PASSWORD);
    expect(session.status).toBe(200); // signing in does not need a verified address
    const refused = await callApi(kit.app, session, "POST", "/kyc/application/submit", {});
    expect(refused.status).toBe(412);
    expect(refused.body.message).toContain("Verify your e-mail address");
    expect(refused.body.message).toContain("/api/auth/send-verification-email");

    expect((await follow(linkIn(mail))).status).toBeLessThan(400);
    const [row] = await kit.deps.db.select().from(userTable).where(eq(userTable.email, email));
    expect(row?.emailVerified).toBe(true);
    // Past the gate now, in the session opened before: what stops it is the missing application.
    const next = await callApi(kit.app, session, "POST", "/kyc/application/submit", {});
    expect(next.status).toBe(412);
    expect(next.body.message).toContain("no application to submit");
  });

  test("resending answers alike for any address, and stops mailing past the account's limit", async () => {
    const email = uniqueEmail("resend");
    await signUp(email); // 1 of the limit of 3
    const unknown = await authPost("/send-verification-email", { email: uniqueEmail("nobody") });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await authPost("/send-verification-email", { email }));
    expect(unknown.status).toBe(200);
    const bodies = await Promise.all([unknown, ...answers].map((r) => r.json()));
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    await deliver();
    expect(mailsTo(email)).toHaveLength(3);
  });

  test("signing up again with an address that has an account answers alike and mails its owner", async () => {
    const email = uniqueEmail("again");
    await signUp(email);
    const again = await authPost("/sign-up/email", { email, password: `${PASSWORD}!`, name: "Someone Else" });
    expect(again.status).toBe(200);
    await deliver();
    const notice = await smtp.waitFor((m) => m.to.includes(email) && m.subject.startsWith("Someone tried to sign up"));
    expect(notice.text).toContain("No account was created");
  });
});

describe("password reset", () => {
  test("the mailed link resets the password once, and every old session ends", async () => {
    const user = await createUser(kit);
    const redirectTo = `${TRUSTED_ORIGIN}/console/reset-password`;
    const timed = async (email: string) => {
      const started = performance.now();
      const response = await authPost("/request-password-reset", { email, redirectTo });
      return { response, ms: performance.now() - started };
    };
    const [{ response: asked, ms: askedMs }, { response: nobody, ms: nobodyMs }] = [
      await timed(user.email),
      await timed(uniqueEmail("nobody")),
    ];
    // Both take the floor (400 ms), whether a mail was queued or not.
    expect(Math.min(askedMs, nobodyMs)).toBeGreaterThanOrEqual(395);
    expect(asked.status).toBe(200);
    expect(await asked.json()).toEqual(await nobody.json()); // the answer does not tell who has an account

    // better-auth keeps the token in Redis (secondary storage), expiring with it.
    const prefix = kit.config.redis.keyPrefix;
    const [stored] = await kit.deps.redis.keys(`${prefix}${AUTH_KEY_PREFIX}verification:reset-password:*`);
    const ttl = await kit.deps.redis.ttl((stored ?? "").slice(prefix.length));
    expect(ttl).toBeGreaterThan(29 * 60);
    expect(ttl).toBeLessThanOrEqual(30 * 60);

    await deliver();
    const mail = await smtp.waitFor((m) => m.to.includes(user.email) && m.subject === "Reset your Kit password");
    const landing = await follow(linkIn(mail));
    expect(landing.status).toBe(302);
    const location = new URL(landing.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(redirectTo);
    const resetToken = location.searchParams.get("token");

    const newPassword = "a brand new long password";
    const reset = await authPost("/reset-password", { newPassword, token: resetToken });
    expect(reset.status).toBe(200);
    expect(
      (await authPost("/reset-password", { newPassword: "yet another password!", token: resetToken })).status,
    ).toBe(400);

    expect((await callApi(kit.app, user, "GET", "/me")).status).toBe(401);
    expect((await signIn(user.email, PASSWORD)).status).toBe(401);
    const after = await signIn(user.email, newPassword);
    expect(after.status).toBe(200);
    expect((await callApi(kit.app, after, "GET", "/me")).status).toBe(200);
  });
});

describe("change of e-mail address", () => {
  test("the old address confirms, the new one proves itself, then the address changes", async () => {
    const user = await createUser(kit);
    const newEmail = uniqueEmail("moved");
    const asked = await authPost("/change-email", { newEmail }, { cookie: user.cookie });
    expect(asked.status).toBe(200);
    await deliver();
    const toOld = await smtp.waitFor(
      (m) => m.to.includes(user.email) && m.subject.includes("change of your Kit e-mail"),
    );
    expect(toOld.text).toContain(newEmail);
    expect(mailsTo(newEmail)).toHaveLength(0);

    expect((await follow(linkIn(toOld))).status).toBeLessThan(400);
    await deliver();
    const toNew = await smtp.waitFor((m) => m.to.includes(newEmail));
    expect(toNew.subject).toBe("Confirm your new e-mail address for Kit");
    const [before] = await kit.deps.db.select().from(userTable).where(eq(userTable.id, user.id));
    expect(before?.email).toBe(user.email);

    expect((await follow(linkIn(toNew))).status).toBeLessThan(400);
    const [moved] = await kit.deps.db.select().from(userTable).where(eq(userTable.id, user.id));
    expect(moved?.email).toBe(newEmail);
  });
});

describe("change of an unverified address", () => {
  test("changes at once, and the new address gets the verification link", async () => {
    const email = uniqueEmail("typo");
    await signUp(email);
    const session = await signIn(email, PASSWORD);
    const fixed = uniqueEmail("fixed");
    expect((await authPost("/change-email", { newEmail: fixed }, { cookie: session.cookie })).status).toBe(200);
    const [changed] = await kit.deps.db.select().from(userTable).where(eq(userTable.email, fixed));
    expect(changed?.emailVerified).toBe(false);
    await deliver();
    const mail = await smtp.waitFor((m) => m.to.includes(fixed));
    expect(mail.subject).toBe("Confirm your e-mail address for Kit");
    expect((await follow(linkIn(mail))).status).toBeLessThan(400);
    const [verified] = await kit.deps.db.select().from(userTable).where(eq(userTable.email, fixed));
    expect(verified?.emailVerified).toBe(true);
  });
});

describe("sign-in alerts", () => {
  const firefox = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0" };

  test("a sign-in from an unseen browser and address is mailed once", async () => {
    const user = await createUser(kit); // its first sign-in: nothing to compare with, no mail
    const from = { ...firefox, "x-forwarded-for": "203.0.113.7" };
    expect((await signIn(user.email, user.password, from)).status).toBe(200);
    expect((await signIn(user.email, user.password, from)).status).toBe(200);
    await deliver();
    const alerts = mailsTo(user.email).filter((m) => m.subject === "New sign-in to your Kit account");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.text).toContain("203.0.113.7");
    expect(alerts[0]?.text).toContain("Firefox/140.0");
  });

  test("a place unseen for 180 days is forgotten: signing in from it alerts again", async () => {
    const user = await createUser(kit);
    const from = { ...firefox, "x-forwarded-for": "203.0.113.9" };
    await signIn(user.email, user.password, from);
    // That place (the newer of the two the user signed in from) was last seen 181 days ago.
    const [place] = await kit.deps.db
      .select()
      .from(knownSignIns)
      .where(eq(knownSignIns.userId, user.id))
      .orderBy(desc(knownSignIns.firstSeenAt))
      .limit(1);
    await kit.deps.db
      .update(knownSignIns)
      .set({ lastSeenAt: new Date(Date.now() - 181 * 24 * 60 * 60 * 1000) })
      .where(and(eq(knownSignIns.userId, user.id), eq(knownSignIns.fingerprint, place?.fingerprint ?? "")));
    await signIn(user.email, user.password, from);
    const queued = await kit.deps.db
      .select()
      .from(mailMessages)
      .where(and(eq(mailMessages.toAddress, user.email), eq(mailMessages.template, "account.new_sign_in")));
    // Two alerts: the first sign-in from there, and the one after it was forgotten (a new dedupe key per place and time).
    expect(queued.length).toBe(2);
  });

  test("switched off in the settings, no alert", async () => {
    const user = await createUser(kit);
    expect((await callApi(kit.app, user, "PATCH", "/settings", { signInAlerts: false })).status).toBe(200);
    expect((await signIn(user.email, user.password, { ...firefox, "x-forwarded-for": "203.0.113.8" })).status).toBe(
      200,
    );
    await deliver();
    const queued = await kit.deps.db
      .select()
      .from(mailMessages)
      .where(and(eq(mailMessages.toAddress, user.email), eq(mailMessages.template, "account.new_sign_in")));
    expect(queued).toHaveLength(0);
  });
});
