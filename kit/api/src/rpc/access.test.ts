// The authorization matrix: every procedure × every kind of caller → allowed, or the exact refusal.
// The procedures are read from the contract itself, so a procedure added without a row here (or a
// row left behind for a removed one) fails the suite. Each cell is a real call with a valid input,
// over REST (/api) and over the typed client's face (/rpc).
import { describe, expect, test } from "bun:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { and, eq } from "drizzle-orm";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createTestKit } from "../../test/kit";
import { createUser, signedWalletLink, signIn, type TestUser } from "../../test/users";
import { contract } from "../contract";
import { keyStatements } from "../domains/auth/permission-statements";
import { keyGrants, unknownKeyGrants } from "../domains/auth/permissions";
import { user as userTable } from "../domains/auth/schema";
import { linkWallet } from "../domains/auth/service";
import { fxRatesLatest } from "../domains/exchange-rates/schema";
import { metadataKey } from "../domains/tokens/metadata";
import { HTTP_OPERATIONS } from "../http/dossier-route";
import { NOTIFICATION_EVENT_TYPES } from "../notification-catalogue";
import type { KitMeta } from "./base";
import { declaredErrorStatuses } from "./declared-errors";

type CallerName =
  | "anonymous"
  | "investor"
  | "issuer"
  | "kyc_reviewer"
  | "admin"
  | "banned"
  | "key_no_grants"
  | "key_one_grant";
type Outcome = "allowed" | "UNAUTHORIZED" | "FORBIDDEN";
const CALLERS: CallerName[] = [
  "anonymous",
  "investor",
  "issuer",
  "kyc_reviewer",
  "admin",
  "banned",
  "key_no_grants",
  "key_one_grant",
];
/** The one grant of `key_one_grant`: reading your own settings (settings.get, settings.notifications.get). */
const ONE_GRANT = { settings: ["read"] };

// ONE row per procedure. "banned": signed in, then banned; the old session must no longer count.
// key_*: API keys of the admin (the role never stands in the way): one created with no grants, one
// with ONE_GRANT. A key is an allow-list: it reaches only the procedures whose grant it carries.
const A = "allowed" as const;
const U = "UNAUTHORIZED" as const;
const F = "FORBIDDEN" as const;
// biome-ignore format: the table reads best as a grid
const MATRIX: Record<string, Record<CallerName, Outcome>> = {
  "system.info":          { anonymous: A, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: A, key_no_grants: A, key_one_grant: A },
  "system.indexer":       { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "me.get":               { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "me.wallets.link":      { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "me.wallets.unlink":    { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "users.list":           { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "users.setRole":        { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "users.ban":            { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "users.unban":          { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "users.revokeSessions": { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "fx.currencies":        { anonymous: A, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: A, key_no_grants: A, key_one_grant: A },
  "fx.latest":            { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "fx.rate":              { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "fx.convert":           { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "fx.history":           { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "fx.refresh":           { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "fx.refreshStatus":     { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "fx.setManual":         { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "settings.get":                    { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: A },
  "settings.update":                 { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "settings.notifications.get":      { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: A },
  "settings.notifications.update":   { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "settings.system.get":             { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "settings.system.update":          { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "notifications.list":               { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "notifications.unreadCount":        { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "notifications.markRead":           { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "notifications.markAllRead":        { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "notifications.events":             { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.application.get":             { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.application.save":            { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.application.submit":          { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.documents.list":              { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.documents.createUpload":      { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.documents.confirm":           { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.documents.remove":            { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.documents.downloadUrl":       { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.events":                      { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.queue":                { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.get":                  { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.claim":                { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.decide":               { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.revoke":               { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.setRisk":              { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.rejectDocument":       { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.liftBlock":            { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.documentUrl":          { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.review.events":               { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  // Served beside the procedures (http/dossier-route.ts), REST only: `kyc: export`.
  "kyc.review.dossier":              { anonymous: U, investor: F, issuer: F, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.onchain.retry":               { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.onchain.liftFreeze":          { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.erasure.request":             { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.erasure.get":                 { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.erasure.withdraw":            { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.erasureRequests.list":        { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.erasureRequests.approve":     { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "kyc.erasureRequests.refuse":      { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.list":                     { anonymous: A, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: A, key_no_grants: A, key_one_grant: A },
  "tokens.get":                      { anonymous: A, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: A, key_no_grants: A, key_one_grant: A },
  "tokens.holders":                  { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.transfers":                { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.events":                   { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.transferCheck":            { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.metadata.get":             { anonymous: A, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: A, key_no_grants: A, key_one_grant: A },
  "tokens.metadata.update":          { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.metadata.createLogoUpload": { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  // Token creation: `tokens: create` (domains/operations/create.test.ts for what follows).
  "tokens.create":                     { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  // Token operations: `tokens: operate`, then a grant on the token (domains/operations tests).
  "tokens.operations.mint":            { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.burn":            { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.pause":           { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.unpause":         { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.freeze":          { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.unfreeze":        { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.freezePartial":   { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.unfreezePartial": { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.forcedTransfer":  { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.recover":         { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.list":            { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.awaitingMyApproval": { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.events":          { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.get":             { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.approve":         { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.reject":          { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.policy.get":      { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.policy.set":      { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.policy.changes":  { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.policy.awaitingMyApproval": { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.policy.approve":  { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.policy.reject":   { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.grants.mine":                { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.grants.list":                { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.grants.add":                 { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.grants.remove":              { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  // Token state reads: `tokens: operate`, then a grant on the token (admins: any token).
  "tokens.registrations":              { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.stateHistory":               { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.frozenHolders":              { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  // CSV batches: `tokens: operate`, then a grant on the token (domains/operation-batches tests).
  "tokens.operations.batches.create":  { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.batches.submit":  { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.batches.get":     { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "tokens.operations.batches.list":    { anonymous: U, investor: F, issuer: A, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "wallets.transfers":               { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "wallets.frozenState":               { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "portfolio.get":                   { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  // The audit trail: `audit: read` (admins).
  "audit.list":                      { anonymous: U, investor: F, issuer: F, kyc_reviewer: F, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "audit.exportKey":                 { anonymous: A, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: A, key_no_grants: A, key_one_grant: A },
  // Webhooks: everyone their own endpoints (`webhooks: read/write` for keys); system endpoints need
  // `settings: manage_system`, checked by the service (domains/webhooks/endpoints.test.ts).
  "webhooks.endpoints.list":          { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "webhooks.endpoints.create":        { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "webhooks.endpoints.get":           { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "webhooks.endpoints.update":        { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "webhooks.endpoints.remove":        { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "webhooks.endpoints.rotateSecret":  { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "webhooks.deliveries.list":         { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
  "webhooks.deliveries.replay":       { anonymous: U, investor: A, issuer: A, kyc_reviewer: A, admin: A, banned: U, key_no_grants: F, key_one_grant: F },
};

const STATUS: Record<Exclude<Outcome, "allowed">, number> = { UNAUTHORIZED: 401, FORBIDDEN: 403 };
/** What an allowed call may answer: success, or a refusal by the service itself (never by access). */
const ALLOWED_STATUSES = new Set([200, 201, 204, 404, 409, 412]);

// ---------------------------------------------------------------------------------------------
// The procedures, straight from the contract.

interface ProcedureInfo {
  path: string[];
  name: string;
  method: string;
  route: string;
  meta: { access?: string; permission?: unknown; keyGrant?: Record<string, string[]>; rateLimit?: string };
  /** Served beside the procedures under /api only (http/dossier-route.ts): no RPC face. */
  restOnly?: boolean;
}

function listProcedures(node: unknown, prefix: string[] = []): ProcedureInfo[] {
  if (typeof node !== "object" || node === null) return [];
  if ("~orpc" in node) {
    const def = (node as { "~orpc": { route: { method?: string; path?: string }; meta: ProcedureInfo["meta"] } })[
      "~orpc"
    ];
    return [
      {
        path: prefix,
        name: prefix.join("."),
        method: def.route.method ?? "POST",
        route: def.route.path ?? `/${prefix.join("/")}`,
        meta: def.meta,
      },
    ];
  }
  return Object.entries(node).flatMap(([key, child]) => listProcedures(child, [...prefix, key]));
}

const procedures: ProcedureInfo[] = [
  ...listProcedures(contract),
  ...HTTP_OPERATIONS.map((op) => ({
    path: op.operationId.split("."),
    name: op.operationId,
    method: op.method,
    route: op.path,
    meta: op.meta as ProcedureInfo["meta"],
    restOnly: true,
  })),
];

// ---------------------------------------------------------------------------------------------
// One kit, one user per role, and a banned user whose session predates the ban.

const GENEROUS = { limit: 1_000_000, windowSeconds: 60 };
const kit = await createTestKit({
  env: {
    RATE_LIMITS: JSON.stringify({
      default: GENEROUS,
      "users.manage": GENEROUS,
      "me.wallets": GENEROUS,
      "fx.manage": GENEROUS,
      "kyc.uploads": GENEROUS,
      "kyc.document-urls": GENEROUS,
      "kyc.application-reads": GENEROUS,
    }),
  },
});

interface Identity {
  name: CallerName;
  headers: Record<string, string>;
  user?: TestUser;
}

const [investor, issuer, reviewer, admin, toBan] = await Promise.all([
  createUser(kit, "investor"),
  createUser(kit, "issuer"),
  createUser(kit, "kyc_reviewer"),
  createUser(kit, "admin"),
  createUser(kit, "investor"),
]);
// Banned through the real procedure, as an admin; the banned user keeps their (old) cookie.
const banResponse = await kit.request(`/api/users/${toBan.id}/ban`, {
  method: "POST",
  headers: { cookie: admin.cookie, "content-type": "application/json" },
  body: JSON.stringify({ reason: "authorization matrix" }),
});
if (banResponse.status !== 200) throw new Error(`could not ban: ${banResponse.status} ${await banResponse.text()}`);

/** An API key of `owner` carrying `grants` (none at all when absent), made as an operator would. */
async function apiKeyOf(owner: TestUser, grants?: Record<string, string[]>): Promise<string> {
  const created = await kit.deps.auth.api.createApiKey({
    body: { userId: owner.id, ...(grants ? { permissions: grants } : {}) },
  });
  return created.key;
}

const identities: Record<CallerName, Identity> = {
  anonymous: { name: "anonymous", headers: {} },
  investor: { name: "investor", headers: { cookie: investor.cookie }, user: investor },
  issuer: { name: "issuer", headers: { cookie: issuer.cookie }, user: issuer },
  kyc_reviewer: { name: "kyc_reviewer", headers: { cookie: reviewer.cookie }, user: reviewer },
  admin: { name: "admin", headers: { cookie: admin.cookie }, user: admin },
  banned: { name: "banned", headers: { cookie: toBan.cookie }, user: toBan },
  key_no_grants: { name: "key_no_grants", headers: { "x-api-key": await apiKeyOf(admin) }, user: admin },
  key_one_grant: { name: "key_one_grant", headers: { "x-api-key": await apiKeyOf(admin, ONE_GRANT) }, user: admin },
};
const ROLE_CALLERS = CALLERS.filter((c) => !c.startsWith("key_"));

// ---------------------------------------------------------------------------------------------
// A valid input per procedure, made fresh for each call.

/** A user to act on (a bare row: nobody signs in as them), so no cell's ban or role change affects another. */
async function targetUser(): Promise<string> {
  const id = crypto.randomUUID();
  const now = new Date();
  await kit.deps.db.insert(userTable).values({
    id,
    email: `target-${id}@example.com`,
    name: "Target",
    role: "investor",
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

/** A fresh wallet's signature over a SIWE message carrying a nonce Kit issued. */
const signedSiwe = () => signedWalletLink(kit);

interface Prepared {
  input: unknown;
  /** After a refused call: nothing the call would have changed has changed. */
  untouched?: () => Promise<void>;
}

/** No manual rate was stored for the pair (only admins may set one, and none does before this check). */
async function manualRateUntouched(base: string, quote: string) {
  const rows = await kit.deps.db
    .select()
    .from(fxRatesLatest)
    .where(and(eq(fxRatesLatest.base, base), eq(fxRatesLatest.quote, quote), eq(fxRatesLatest.provider, "manual")));
  expect(rows.filter((r) => r.setBy !== admin.id)).toEqual([]);
}

const randomAddress = () => privateKeyToAccount(generatePrivateKey()).address;

/** Nothing was written to the token's metadata object. */
async function tokenMetadataUntouched(address: string) {
  const found = await kit.deps.storage.client
    .send(new HeadObjectCommand({ Bucket: kit.deps.storage.buckets.tokenMetadata, Key: metadataKey(address) }))
    .then(
      () => true,
      () => false,
    );
  expect(found).toBe(false);
}

async function userUntouched(id: string) {
  const [row] = await kit.deps.db.select().from(userTable).where(eq(userTable.id, id));
  expect(row?.role).toBe("investor");
  expect(row?.banned).toBe(false);
}

const INPUTS: Record<string, (who: Identity) => Promise<Prepared>> = {
  "system.info": async () => ({ input: undefined }),
  "system.indexer": async () => ({ input: undefined }),
  "me.get": async () => ({ input: undefined }),
  "me.wallets.link": async () => {
    const { message, signature } = await signedSiwe();
    return { input: { message, signature } };
  },
  "me.wallets.unlink": async (who) => {
    // A wallet the caller really has (linked directly), so an allowed call has something to remove.
    if (!who.user) return { input: { address: privateKeyToAccount(generatePrivateKey()).address } };
    const { address, message, signature } = await signedSiwe();
    await linkWallet(kit.deps, who.user.id, { message, signature });
    return { input: { address: address.toLowerCase() } };
  },
  "users.list": async () => ({ input: {} }),
  "users.setRole": async () => {
    const id = await targetUser();
    return { input: { id, role: "issuer" }, untouched: () => userUntouched(id) };
  },
  "users.ban": async () => {
    const id = await targetUser();
    return { input: { id, reason: "matrix" }, untouched: () => userUntouched(id) };
  },
  "users.unban": async () => ({ input: { id: await targetUser() } }),
  "users.revokeSessions": async () => {
    const id = await targetUser();
    return { input: { id }, untouched: () => userUntouched(id) };
  },
  "fx.currencies": async () => ({ input: undefined }),
  "fx.latest": async () => ({ input: { base: "EUR" } }),
  "fx.rate": async () => ({ input: { base: "EUR", quote: "USD" } }),
  "fx.convert": async () => ({ input: { from: "EUR", to: "USD", amount: "100.50" } }),
  "fx.history": async () => ({ input: { base: "EUR", quote: "USD", limit: 10 } }),
  "fx.refresh": async () => ({ input: undefined }),
  "fx.refreshStatus": async () => ({ input: undefined }),
  "fx.setManual": async () => ({
    input: { base: "EUR", quote: "CHF", rate: "0.9467" },
    untouched: () => manualRateUntouched("EUR", "CHF"),
  }),
  "settings.get": async () => ({ input: undefined }),
  "settings.update": async () => ({ input: { theme: "dark" } }),
  "settings.notifications.get": async () => ({ input: undefined }),
  "settings.notifications.update": async () => ({
    input: {
      events: Object.fromEntries(NOTIFICATION_EVENT_TYPES.map((type) => [type, { in_app: true, email: false }])),
    },
  }),
  "settings.system.get": async () => ({ input: undefined }),
  "settings.system.update": async () => ({ input: { kycValidityDays: 365 } }),
  "notifications.list": async () => ({ input: { unread: true, limit: 10 } }),
  "notifications.unreadCount": async () => ({ input: undefined }),
  // Nobody has a notification with a random id: an allowed call ends in the service's NOT_FOUND.
  "notifications.markRead": async () => ({ input: { id: crypto.randomUUID() } }),
  "notifications.markAllRead": async () => ({ input: undefined }),
  "notifications.events": async () => ({ input: undefined }),
  "kyc.application.get": async () => ({ input: undefined }),
  "kyc.application.save": async () => ({ input: { firstName: "Ada", lastName: "Lovelace", nationality: "GB" } }),
  "kyc.application.submit": async () => ({ input: {} }),
  "kyc.documents.list": async () => ({ input: undefined }),
  "kyc.documents.createUpload": async () => ({
    input: {
      type: "passport",
      fileName: "passport.pdf",
      contentType: "application/pdf",
      size: 1_024,
      sha256: "ab".repeat(32),
    },
  }),
  "kyc.documents.confirm": async () => ({ input: { id: crypto.randomUUID() } }),
  "kyc.documents.remove": async () => ({ input: { id: crypto.randomUUID() } }),
  "kyc.documents.downloadUrl": async () => ({ input: { id: crypto.randomUUID() } }),
  "kyc.events": async () => ({ input: undefined }),
  "kyc.review.queue": async () => ({ input: { limit: 10 } }),
  "kyc.review.get": async () => ({ input: { applicationId: crypto.randomUUID() } }),
  "kyc.review.claim": async () => ({ input: { applicationId: crypto.randomUUID() } }),
  "kyc.review.decide": async () => ({ input: { applicationId: crypto.randomUUID(), decision: "approve" } }),
  "kyc.review.revoke": async () => ({ input: { applicationId: crypto.randomUUID(), reason: "matrix" } }),
  "kyc.review.setRisk": async () => ({
    input: { applicationId: crypto.randomUUID(), level: "low", reason: "matrix" },
  }),
  "kyc.review.rejectDocument": async () => ({
    input: { documentId: crypto.randomUUID(), label: "document_expired" },
  }),
  // No application exists for a random id: an allowed call ends in the service's NOT_FOUND.
  "kyc.review.liftBlock": async () => ({ input: { applicationId: crypto.randomUUID(), reason: "matrix" } }),
  "kyc.review.documentUrl": async () => ({ input: { documentId: crypto.randomUUID() } }),
  "kyc.review.events": async () => ({ input: undefined }),
  "kyc.review.dossier": async () => ({ input: { applicationId: crypto.randomUUID() } }),
  // No registration exists for a random wallet: an allowed call ends in the service's NOT_FOUND.
  "kyc.onchain.retry": async () => ({ input: { wallet: randomAddress() } }),
  // No freeze case exists for a random application: an allowed call ends in the service's NOT_FOUND.
  "kyc.onchain.liftFreeze": async () => ({ input: { applicationId: crypto.randomUUID(), reason: "matrix" } }),
  "kyc.erasure.request": async () => ({ input: undefined }),
  "kyc.erasure.get": async () => ({ input: undefined }),
  // With no request open (or one the matrix just made), an allowed call withdraws it or ends in NOT_FOUND.
  "kyc.erasure.withdraw": async () => ({ input: undefined }),
  "kyc.erasureRequests.list": async () => ({ input: { limit: 10 } }),
  // No request exists for a random id: an allowed call ends in the service's NOT_FOUND.
  "kyc.erasureRequests.approve": async () => ({ input: { requestId: crypto.randomUUID() } }),
  "kyc.erasureRequests.refuse": async () => ({ input: { requestId: crypto.randomUUID(), reason: "matrix" } }),
  // No token is indexed in this file: allowed calls end in the service's NOT_FOUND (the on-chain
  // writer check and the handlers themselves are tested in domains/tokens).
  "tokens.list": async () => ({ input: { limit: 10 } }),
  "tokens.get": async () => ({ input: { address: randomAddress() } }),
  "tokens.holders": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "tokens.transfers": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "tokens.events": async () => ({ input: { address: randomAddress() } }),
  "tokens.transferCheck": async () => ({
    input: { address: randomAddress(), from: randomAddress(), to: randomAddress(), amount: "1" },
  }),
  "tokens.metadata.get": async () => ({ input: { address: randomAddress() } }),
  "tokens.metadata.update": async () => {
    const address = randomAddress();
    return { input: { address, description: "matrix" }, untouched: () => tokenMetadataUntouched(address) };
  },
  "tokens.metadata.createLogoUpload": async () => ({
    input: { address: randomAddress(), contentType: "image/png", size: 1_024 },
  }),
  // No token is indexed and no operation exists: allowed calls end in NOT_FOUND (the grants, the
  // four eyes and the operations themselves are tested in domains/operations).
  "tokens.operations.mint": async () => ({
    input: { address: randomAddress(), recipients: [{ to: randomAddress(), amount: "1" }] },
  }),
  "tokens.operations.burn": async () => ({ input: { address: randomAddress(), from: randomAddress(), amount: "1" } }),
  "tokens.operations.pause": async () => ({ input: { address: randomAddress() } }),
  "tokens.operations.unpause": async () => ({ input: { address: randomAddress() } }),
  "tokens.operations.freeze": async () => ({ input: { address: randomAddress(), wallet: randomAddress() } }),
  "tokens.operations.unfreeze": async () => ({ input: { address: randomAddress(), wallet: randomAddress() } }),
  "tokens.operations.freezePartial": async () => ({
    input: { address: randomAddress(), wallet: randomAddress(), amount: "1" },
  }),
  "tokens.operations.unfreezePartial": async () => ({
    input: { address: randomAddress(), wallet: randomAddress(), amount: "1" },
  }),
  "tokens.operations.forcedTransfer": async () => ({
    input: { address: randomAddress(), from: randomAddress(), to: randomAddress(), amount: "1" },
  }),
  "tokens.operations.recover": async () => ({
    input: { address: randomAddress(), lostWallet: randomAddress(), newWallet: randomAddress() },
  }),
  "tokens.create": async () => ({
    input: {
      kind: "equity",
      name: "Matrix Equity",
      symbol: "MTX",
      decimals: 0,
      isin: "US0378331005",
      shareClass: "A",
      votingRights: true,
    },
  }),
  "tokens.operations.list": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "tokens.operations.awaitingMyApproval": async () => ({ input: { limit: 10 } }),
  "tokens.operations.events": async () => ({ input: { address: randomAddress() } }),
  "tokens.operations.get": async () => ({ input: { id: crypto.randomUUID() } }),
  "tokens.operations.approve": async () => ({ input: { id: crypto.randomUUID(), reason: "matrix" } }),
  "tokens.operations.reject": async () => ({ input: { id: crypto.randomUUID(), reason: "matrix" } }),
  "tokens.operations.policy.get": async () => ({ input: { address: randomAddress() } }),
  "tokens.operations.policy.set": async () => ({
    input: { address: randomAddress(), approvalKinds: ["recover"], mintThreshold: null },
  }),
  "tokens.operations.policy.changes": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "tokens.operations.policy.awaitingMyApproval": async () => ({ input: { limit: 10 } }),
  "tokens.operations.policy.approve": async () => ({ input: { id: crypto.randomUUID(), reason: "matrix" } }),
  "tokens.operations.policy.reject": async () => ({ input: { id: crypto.randomUUID(), reason: "matrix" } }),
  "tokens.grants.mine": async () => ({ input: { limit: 10 } }),
  "tokens.grants.list": async () => ({ input: { address: randomAddress() } }),
  "tokens.grants.add": async () => ({ input: { address: randomAddress(), userId: "nobody" } }),
  "tokens.grants.remove": async () => ({ input: { address: randomAddress(), userId: "nobody" } }),
  "tokens.registrations": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "tokens.stateHistory": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "tokens.frozenHolders": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "tokens.operations.batches.create": async () => ({
    input: { address: randomAddress(), kind: "mint", size: 100, sha256: "a".repeat(64) },
  }),
  "tokens.operations.batches.submit": async () => ({ input: { id: crypto.randomUUID() } }),
  "tokens.operations.batches.get": async () => ({ input: { id: crypto.randomUUID() } }),
  "tokens.operations.batches.list": async () => ({ input: { address: randomAddress(), limit: 10 } }),
  "wallets.frozenState": async (who) => {
    // The caller's own wallet (linked directly): investors may read their own wallets only.
    if (!who.user) return { input: { address: randomAddress(), limit: 10 } };
    const { address, message, signature } = await signedSiwe();
    await linkWallet(kit.deps, who.user.id, { message, signature });
    return { input: { address, limit: 10 } };
  },
  "wallets.transfers": async (who) => {
    // The caller's own wallet (linked directly): investors may list their own wallets only.
    if (!who.user) return { input: { address: randomAddress(), limit: 10 } };
    const { address, message, signature } = await signedSiwe();
    await linkWallet(kit.deps, who.user.id, { message, signature });
    return { input: { address, limit: 10 } };
  },
  "portfolio.get": async () => ({ input: undefined }),
  "audit.list": async () => ({ input: {} }),
  "audit.exportKey": async () => ({ input: undefined }),
  "webhooks.endpoints.list": async () => ({ input: { scope: "user" } }),
  "webhooks.endpoints.create": async () => ({
    input: { url: "https://hooks.example.com/kit", eventTypes: ["kyc.approved"] },
  }),
  // No endpoint or delivery has these ids: allowed calls end in the service's NOT_FOUND.
  "webhooks.endpoints.get": async () => ({ input: { id: crypto.randomUUID() } }),
  "webhooks.endpoints.update": async () => ({ input: { id: crypto.randomUUID(), description: "matrix" } }),
  "webhooks.endpoints.remove": async () => ({ input: { id: crypto.randomUUID() } }),
  "webhooks.endpoints.rotateSecret": async () => ({ input: { id: crypto.randomUUID(), overlapHours: 24 } }),
  "webhooks.deliveries.list": async () => ({ input: { endpointId: crypto.randomUUID(), limit: 10 } }),
  "webhooks.deliveries.replay": async () => ({ input: { id: crypto.randomUUID() } }),
};

// ---------------------------------------------------------------------------------------------
// Calling a procedure over either face.

type Face = "rest" | "rpc";

interface Answer {
  status: number;
  code?: string;
  body: string;
}

async function callProcedure(face: Face, proc: ProcedureInfo, input: unknown, headers: Record<string, string>) {
  let url: string;
  const init: RequestInit = { headers: { ...headers } };
  if (face === "rpc") {
    url = `/rpc/${proc.path.join("/")}`;
    init.method = "POST";
    init.headers = { ...headers, "content-type": "application/json" };
    init.body = JSON.stringify({ json: input });
  } else {
    const rest: Record<string, unknown> = { ...((input as Record<string, unknown> | undefined) ?? {}) };
    url = `/api${proc.route.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = rest[name];
      delete rest[name];
      return encodeURIComponent(String(value));
    })}`;
    init.method = proc.method;
    if (proc.method === "GET") {
      const query = new URLSearchParams(Object.entries(rest).map(([k, v]) => [k, String(v)])).toString();
      if (query) url += `?${query}`;
    } else if (Object.keys(rest).length > 0) {
      init.headers = { ...headers, "content-type": "application/json" };
      init.body = JSON.stringify(rest);
    }
  }
  const response = await kit.request(url, init);
  // A stream of server-sent events stays open: its status and headers are the answer.
  const streaming = response.status === 200 && response.headers.get("content-type")?.startsWith("text/event-stream");
  if (streaming) await response.body?.cancel();
  const body = streaming ? "" : await response.text();
  let code: string | undefined;
  try {
    const parsed = JSON.parse(body) as { code?: string; json?: { code?: string } };
    code = face === "rpc" ? parsed.json?.code : parsed.code;
  } catch {}
  return { status: response.status, code, body } satisfies Answer;
}

// ---------------------------------------------------------------------------------------------

describe("authorization matrix", () => {
  test("the contract has procedures, and every one of them has exactly one row (and valid input)", () => {
    const names = procedures.map((p) => p.name).sort();
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    const missingRows = names.filter((n) => !(n in MATRIX));
    const staleRows = Object.keys(MATRIX).filter((n) => !names.includes(n));
    expect({ missingRows, staleRows }).toEqual({ missingRows: [], staleRows: [] });
    expect(Object.keys(INPUTS).sort()).toEqual(names);
    for (const [name, row] of Object.entries(MATRIX))
      expect(Object.keys(row).sort(), name).toEqual([...CALLERS].sort());
  });

  test("every procedure that is not public names the grant an API key needs, from the key vocabulary", () => {
    const undeclared = procedures.filter((p) => p.meta.access !== "public" && !p.meta.keyGrant).map((p) => p.name);
    expect(undeclared).toEqual([]);
    const unknown = procedures.flatMap((p) =>
      unknownKeyGrants(p.meta.keyGrant ?? {}).map((grant) => `${p.name}: ${grant}`),
    );
    expect(unknown).toEqual([]);
    const empty = procedures.filter((p) => p.meta.keyGrant && Object.values(p.meta.keyGrant).flat().length === 0);
    expect(empty.map((p) => p.name)).toEqual([]);
    // And no grant in the vocabulary is left that no procedure asks for.
    const used = new Set(
      procedures.flatMap((p) =>
        Object.entries(p.meta.keyGrant ?? {}).flatMap(([subject, actions]) => actions.map((a) => `${subject}: ${a}`)),
      ),
    );
    const unused = Object.entries(keyStatements)
      .flatMap(([subject, actions]) => actions.map((a) => `${subject}: ${a}`))
      .filter((grant) => !used.has(grant));
    expect(unused).toEqual([]);
  });

  test("the table agrees with the contract's own meta (public ⇒ no refusals; no permission ⇒ no FORBIDDEN to a session)", () => {
    for (const proc of procedures) {
      const row = MATRIX[proc.name];
      if (!row) continue; // reported by the test above
      const outcomes = Object.values(row);
      const isPublic = proc.meta.access === "public";
      if (isPublic)
        expect(
          outcomes.every((o) => o === "allowed"),
          proc.name,
        ).toBe(true);
      else expect([row.anonymous, row.banned], proc.name).toEqual(["UNAUTHORIZED", "UNAUTHORIZED"]);
      if (!proc.meta.permission)
        expect(
          ROLE_CALLERS.some((c) => row[c] === "FORBIDDEN"),
          proc.name,
        ).toBe(false);
      // The admin's keys: the key alone decides, as an allow-list.
      const oneGrantAllows = isPublic || (proc.meta.keyGrant !== undefined && keyGrants(ONE_GRANT, proc.meta.keyGrant));
      expect({ proc: proc.name, none: row.key_no_grants, one: row.key_one_grant }).toEqual({
        proc: proc.name,
        none: isPublic ? "allowed" : "FORBIDDEN",
        one: oneGrantAllows ? row.admin : "FORBIDDEN",
      });
    }
  });

  for (const face of ["rest", "rpc"] as const) {
    describe(face === "rest" ? "REST (/api)" : "RPC (/rpc)", () => {
      for (const proc of procedures.filter((p) => face === "rest" || !p.restOnly)) {
        for (const caller of CALLERS) {
          const expected = MATRIX[proc.name]?.[caller];
          test(`${proc.name} as ${caller} → ${expected ?? "(no row)"}`, async () => {
            if (!expected) throw new Error(`no row for ${proc.name} in MATRIX: add one`);
            const prepare = INPUTS[proc.name];
            if (!prepare) throw new Error(`no valid input for ${proc.name} in INPUTS: add one`);
            const who = identities[caller];
            const { input, untouched } = await prepare(who);
            const answer = await callProcedure(face, proc, input, who.headers);
            const seen = `${answer.status} ${answer.body.slice(0, 300)}`;
            if (expected === "allowed") {
              expect(ALLOWED_STATUSES.has(answer.status), seen).toBe(true);
              // A domain error (404, 409, 412) must be one the procedure lists (meta.errors), as
              // /api/openapi.json promises.
              if (answer.status >= 400) {
                expect(declaredErrorStatuses({ meta: proc.meta as KitMeta }), seen).toContain(answer.status);
              }
            } else {
              expect({ status: answer.status, code: answer.code }, seen).toEqual({
                status: STATUS[expected],
                code: expected,
              });
              await untouched?.();
            }
          });
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The same rules follow a session through changes to its account. A kit of its own: better-auth
// allows 10 e-mail sign-ins a minute from one address, and the matrix above used half of them.

describe("a banned user", () => {
  test("is refused with their bearer token too, and cannot sign in again", async () => {
    expect((await kit.request("/api/me", { headers: { authorization: `Bearer ${toBan.bearer}` } })).status).toBe(401);
    await expect(signIn(kit, toBan.email, toBan.password)).rejects.toThrow(/sign-in failed: 403/);
  });
});

const other = await createTestKit();
const boss = await createUser(other, "admin");

describe("sessions follow account changes", () => {
  const as = (who: { cookie: string } | { bearer: string }): Record<string, string> =>
    "cookie" in who ? { cookie: who.cookie } : { authorization: `Bearer ${who.bearer}` };
  const me = (headers: Record<string, string>) => other.request("/api/me", { headers });
  const listUsers = (headers: Record<string, string>) => other.request("/api/users", { headers });
  const byAdmin = (method: string, path: string, body?: unknown) =>
    other.request(`/api${path}`, {
      method,
      headers: { cookie: boss.cookie, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  test("a promotion applies to the existing session at once; a demotion ends it (cookie and bearer)", async () => {
    const someone = await createUser(other, "investor");
    expect((await listUsers(as(someone))).status).toBe(403);
    expect((await byAdmin("PUT", `/users/${someone.id}/role`, { role: "admin" })).status).toBe(200);
    expect((await listUsers(as(someone))).status).toBe(200);
    expect((await listUsers(as({ bearer: someone.bearer }))).status).toBe(200);
    expect((await byAdmin("PUT", `/users/${someone.id}/role`, { role: "kyc_reviewer" })).status).toBe(200);
    expect((await listUsers(as(someone))).status).toBe(401);
    expect((await listUsers(as({ bearer: someone.bearer }))).status).toBe(401);
    const again = await signIn(other, someone.email, someone.password);
    expect((await listUsers(as(again))).status).toBe(403);
    const view = (await (await me(as(again))).json()) as { user: { role: string } };
    expect(view.user.role).toBe("kyc_reviewer");
  });

  test("revoked sessions are refused; a ban refuses the next session; after an unban a new sign-in works", async () => {
    const someone = await createUser(other, "issuer");
    expect((await me(as(someone))).status).toBe(200);
    const revoked = await byAdmin("POST", `/users/${someone.id}/sessions/revoke`);
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked: number }).revoked).toBeGreaterThanOrEqual(1);
    expect((await me(as(someone))).status).toBe(401);
    expect((await me(as({ bearer: someone.bearer }))).status).toBe(401);

    const second = await signIn(other, someone.email, someone.password);
    expect((await me(as(second))).status).toBe(200);
    expect((await byAdmin("POST", `/users/${someone.id}/ban`, { reason: "temporary" })).status).toBe(200);
    expect((await me(as(second))).status).toBe(401);
    expect((await byAdmin("POST", `/users/${someone.id}/unban`)).status).toBe(200);
    // The sessions ended by the ban stay ended; signing in again works.
    expect((await me(as(second))).status).toBe(401);
    const third = await signIn(other, someone.email, someone.password);
    expect((await me(as(third))).status).toBe(200);
  });

  test("an admin cannot ban or demote themselves", async () => {
    expect((await byAdmin("POST", `/users/${boss.id}/ban`, { reason: "self" })).status).toBe(412);
    expect((await byAdmin("PUT", `/users/${boss.id}/role`, { role: "investor" })).status).toBe(412);
    expect((await listUsers(as(boss))).status).toBe(200);
  });

  test("a tampered session cookie or bearer token is anonymous", async () => {
    const [name, value = ""] = boss.cookie.split("=") as [string, string];
    const decoded = decodeURIComponent(value);
    const dot = decoded.lastIndexOf(".");
    const forged = `${decoded.slice(0, dot)}.${"A".repeat(43)}=`;
    expect((await me({ cookie: `${name}=${encodeURIComponent(forged)}` })).status).toBe(401);
    expect((await me({ authorization: `Bearer ${forged}` })).status).toBe(401);
    // The bare token without its signature is refused as well.
    expect((await me({ authorization: `Bearer ${decoded.slice(0, dot)}` })).status).toBe(401);
  });
});

describe("a handler's own check asks the API key too", () => {
  test("wallets.transfers: an admin's key sees any wallet only if it carries tokens: manage as well", async () => {
    const someoneElses = randomAddress();
    const path = `/api/wallets/${someoneElses}/transfers?limit=10`;
    const readOnly = await apiKeyOf(admin, { wallets: ["read"] });
    const refused = await kit.request(path, { headers: { "x-api-key": readOnly } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain("not one of your linked wallets");
    const managing = await apiKeyOf(admin, { wallets: ["read"], tokens: ["manage"] });
    expect((await kit.request(path, { headers: { "x-api-key": managing } })).status).toBe(200);
    // The admin's session needs no key.
    expect((await kit.request(path, { headers: { cookie: admin.cookie } })).status).toBe(200);
  });
});
