// The mails in English. Values are plain text here; layout.ts escapes them for HTML.
import type { MailTexts } from "./catalogue";

const notified = (what: string) =>
  `You receive this because e-mail for "${what}" is on in your Kit notification settings; switch it off there.`;
const account = "Sent because of an action on your Kit account. If it was not you, reset your password.";
const reviewerSaid = (message: string | null) => (message ? [`The reviewer wrote: "${message}"`] : []);
const operation = (d: { kind: string; tokenSymbol: string; operationId: string; token: string }) =>
  [
    ["Operation", d.kind],
    ["Token", `${d.tokenSymbol} (${d.token})`],
    ["Operation id", d.operationId],
  ] as [string, string][];

export const en: MailTexts = {
  "kyc.submitted": (d) => ({
    subject: "Your KYC application was submitted",
    paragraphs: ["We received your KYC application. A reviewer will look at it; we will write when they decide."],
    facts: [["Application", d.applicationId]],
    footer: notified("KYC submitted"),
  }),
  "kyc.changes_requested": (d) => ({
    subject: "Changes requested on your KYC application",
    paragraphs: [
      "A reviewer looked at your KYC application and needs changes before it can be approved.",
      ...reviewerSaid(d.message),
      "Update your application and submit it again.",
    ],
    facts: [["Application", d.applicationId]],
    footer: notified("KYC changes requested"),
  }),
  "kyc.approved": (d, ctx) => ({
    subject: "Your KYC application was approved",
    paragraphs: ["Your KYC application was approved. Your linked wallets are being made eligible on chain."],
    facts: [
      ["Application", d.applicationId],
      ["Valid until", ctx.date(d.expiresAt)],
    ],
    footer: notified("KYC approved"),
  }),
  "kyc.rejected": (d) => ({
    subject: "Your KYC application was rejected",
    paragraphs: ["Your KYC application was rejected.", ...reviewerSaid(d.message)],
    facts: [["Application", d.applicationId]],
    footer: notified("KYC rejected"),
  }),
  "kyc.revoked": (d) => ({
    subject: "Your KYC approval was revoked",
    paragraphs: [
      "Your KYC approval was revoked; your wallets may no longer receive Kit's tokens.",
      ...reviewerSaid(d.message),
    ],
    facts: [["Application", d.applicationId]],
    footer: notified("KYC revoked"),
  }),
  "kyc.approval_expiring": (d, ctx) => ({
    subject: `Your KYC approval expires in ${d.daysLeft} days`,
    paragraphs: [
      `Your KYC approval ends in ${d.daysLeft} days. Submit a new application before then to keep your wallets eligible.`,
    ],
    facts: [
      ["Application", d.applicationId],
      ["Expires", ctx.date(d.expiresAt)],
    ],
    footer: notified("KYC approval expiring"),
  }),
  "kyc.queue_digest": (d, ctx) => ({
    subject: `${d.waiting} KYC application${d.waiting === 1 ? "" : "s"} waiting for review`,
    paragraphs: [`${d.waiting} application${d.waiting === 1 ? " waits" : "s wait"} in the review queue.`],
    facts: d.oldestSubmittedAt ? [["Oldest submitted", ctx.date(d.oldestSubmittedAt)]] : [],
    action: { label: "Open the review queue", url: `${ctx.publicUrl}/console/` },
    footer: notified("KYC queue digest"),
  }),
  "wallet.eligible": (d) => ({
    subject: "Your wallet may now hold Kit's tokens",
    paragraphs: ["Your wallet was registered on chain and may now receive and hold Kit's tokens."],
    facts: [
      ["Wallet", d.wallet],
      ["Chain", String(d.chainId)],
    ],
    footer: notified("wallet eligible"),
  }),
  "wallet.eligibility_failed": (d) => ({
    subject: "Your wallet could not be registered on chain",
    paragraphs: ["Registering your wallet on chain failed. Kit retries on its own; no action is needed yet."],
    facts: [
      ["Wallet", d.wallet],
      ["Chain", String(d.chainId)],
      ["Reason", d.reason],
    ],
    footer: notified("wallet eligibility failed"),
  }),
  "token_operation.confirmed": (d) => ({
    subject: `${d.tokenSymbol}: your ${d.kind} was confirmed`,
    paragraphs: [`The ${d.kind} of ${d.tokenSymbol} you asked for was confirmed on chain.`],
    facts: [...operation(d), ["Transaction", d.txHash]],
    footer: notified("token operation confirmed"),
  }),
  "token_operation.failed": (d) => ({
    subject: `${d.tokenSymbol}: your ${d.kind} failed`,
    paragraphs: [`The ${d.kind} of ${d.tokenSymbol} you asked for failed.`],
    facts: [...operation(d), ["Reason", d.reason]],
    footer: notified("token operation failed"),
  }),
  "token_operation.awaiting_approval": (d, ctx) => ({
    subject: `${d.tokenSymbol}: a ${d.kind} waits for your approval`,
    paragraphs: [`A ${d.kind} of ${d.tokenSymbol} was requested and needs a second person's approval.`],
    facts: [...operation(d), ["Requested by", d.requestedBy]],
    action: { label: "Review it in the console", url: `${ctx.publicUrl}/console/` },
    footer: notified("token operation awaiting approval"),
  }),
  "exchange_rates.stale": (d, ctx) => ({
    subject: "Exchange rates are stale",
    paragraphs: [
      `Exchange rates have not been refreshed since ${ctx.date(d.since)}. Answers carry stale rates until a provider answers.`,
    ],
    facts: [["Pairs", d.pairs.join(", ")]],
    footer: notified("exchange rates stale"),
  }),
  "webhook.endpoint_disabled": (d, ctx) => ({
    subject: "Your webhook endpoint was disabled",
    paragraphs: [
      `Your webhook endpoint failed every delivery since ${ctx.date(d.failingSince)} and was disabled. Fix it, then enable it again.`,
    ],
    facts: [
      ["Endpoint", d.url],
      ["Endpoint id", d.endpointId],
    ],
    footer: notified("webhook endpoint disabled"),
  }),
  "account.verify_email": (d) => ({
    subject: "Confirm your e-mail address for Kit",
    paragraphs: [`Hello ${d.name},`, "Confirm that this address is yours to finish setting up your Kit account."],
    action: { label: "Confirm my e-mail address", url: d.url },
    footer: "You get this because this address was used to sign up for Kit. If it was not you, ignore this mail.",
  }),
  "account.reset_password": (d) => ({
    subject: "Reset your Kit password",
    paragraphs: [
      `Hello ${d.name},`,
      `Someone asked to reset the password of your Kit account. The link works once, for ${d.expiresInMinutes} minutes; all your sessions end when the password is changed.`,
      "If it was not you, ignore this mail: your password stays as it is.",
    ],
    action: { label: "Choose a new password", url: d.url },
    footer: account,
  }),
  "account.change_email_confirm": (d) => ({
    subject: "Confirm the change of your Kit e-mail address",
    paragraphs: [
      `Hello ${d.name},`,
      `Someone asked to change the e-mail address of your Kit account to ${d.newEmail}. Confirm it here; the new address then gets a link to prove it is theirs.`,
      "If it was not you, do not follow the link and reset your password.",
    ],
    action: { label: "Confirm the change", url: d.url },
    footer: account,
  }),
  "account.change_email_verify": (d) => ({
    subject: "Confirm your new e-mail address for Kit",
    paragraphs: [`Hello ${d.name},`, "Follow the link to make this the e-mail address of your Kit account."],
    action: { label: "Use this address", url: d.url },
    footer: account,
  }),
  "account.sign_up_existing": (d) => ({
    subject: "Someone tried to sign up to Kit with your address",
    paragraphs: [
      `Hello ${d.name},`,
      "Someone tried to create a Kit account with this e-mail address, which already has one. No account was created and yours is unchanged.",
      "If it was you, sign in instead; if you forgot your password, ask for a reset link on the sign-in page.",
    ],
    footer: account,
  }),
  "account.new_sign_in": (d, ctx) => ({
    subject: "New sign-in to your Kit account",
    paragraphs: [
      `Hello ${d.name},`,
      "Your Kit account was signed in to from a browser or address we had not seen for it before.",
      "If it was you, nothing needs doing. If not, reset your password now: that ends every session.",
    ],
    facts: [
      ["When", ctx.date(d.at)],
      ["Browser", d.browser],
      ["Address", d.address],
    ],
    footer: "You can switch these mails off in your settings (sign-in alerts).",
  }),
};
