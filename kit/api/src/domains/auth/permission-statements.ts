// The vocabulary of access, as plain constants: what a role may be granted and what an API key may
// carry (subject: actions). Contracts name them in their meta (`permission`, `keyGrant`), and the
// contract the typed client compiles must not reach better-auth's server plugins: permissions.ts
// builds the access control from these, and its types fail when the admin plugin's list changes.

export const ROLE_NAMES = ["investor", "issuer", "kyc_reviewer", "admin"] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** better-auth's admin plugin statements (it checks them on its own /admin/* endpoints), copied. */
export const adminStatements = {
  user: [
    "create",
    "list",
    "set-role",
    "ban",
    "impersonate",
    "impersonate-admins",
    "delete",
    "set-password",
    "set-email",
    "set-phone",
    "get",
    "update",
  ],
  session: ["list", "revoke", "delete"],
} as const;

export const kitStatements = {
  // manage_onchain: re-queue Kit's on-chain eligibility work (signed with Kit's keys, paid in gas).
  // lift_freeze: undo a sanctions or fraud freeze — a compliance decision, not an operation, so an
  // operations key that may re-queue jobs cannot also release a sanctioned investor's tokens.
  // export: an application's whole file at once (domains/kyc/dossier.ts), apart from reading it.
  // erase: decide users' erasure requests (domains/kyc/erasure-requests.ts), admins only.
  kyc: ["submit", "review", "decide", "manage_onchain", "lift_freeze", "export", "erase"],
  documents: ["read_any"],
  settings: ["manage_system"],
  fx: ["manage"],
  // manage: a token's metadata; create and operate: tokenize and service tokens (each token also
  // needs a grant of its own, domains/operations/grants.ts).
  tokens: ["manage", "create", "operate"],
  users: ["manage"],
  // read: the audit trail (domains/audit), admins only.
  audit: ["read"],
} as const;

type Statements = typeof adminStatements & typeof kitStatements;
export type Permissions = { [S in keyof Statements]?: Statements[S][number][] };

/**
 * What an API key may be granted, subject: actions. A key is an allow-list over every procedure:
 * each non-public procedure names the grant a key must carry (`keyGrant` in its contract), and a
 * call made with a key needs that grant in the key as well as the procedure's permission in the
 * owner's role. Reads and writes are separate grants. `wallets: link` adds a way to sign in as the
 * owner: a key holding it is as good as the account.
 */
export const keyStatements = {
  me: ["read"],
  notifications: ["read", "write"],
  wallets: ["read", "link", "unlink"],
  portfolio: ["read"],
  settings: ["read", "write", "read_system", "manage_system"],
  fx: ["read", "manage"],
  kyc: ["read", "submit", "review", "decide", "manage_onchain", "lift_freeze", "export", "erase"],
  documents: ["read_any"],
  tokens: ["read", "manage", "create", "operate"],
  users: ["read", "manage"],
  audit: ["read"],
  webhooks: ["read", "write"],
} as const;

type KeyStatements = typeof keyStatements;
export type KeyGrants = { [S in keyof KeyStatements]?: KeyStatements[S][number][] };
