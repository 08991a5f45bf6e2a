// Roles and what each may do, as better-auth access-control statements (subject: actions).
import { createAccessControl } from "better-auth/plugins/access";
import { defaultStatements } from "better-auth/plugins/admin/access";

const statements = {
  // better-auth's admin plugin checks these on its own endpoints (/api/auth/admin/*).
  ...defaultStatements,
  // manage_onchain: re-queue Kit's on-chain eligibility work (signed with Kit's keys, paid in gas).
  // lift_freeze: undo a sanctions or fraud freeze — a compliance decision, not an operation, so an
  // operations key that may re-queue jobs cannot also release a sanctioned investor's tokens.
  kyc: ["submit", "review", "decide", "manage_onchain", "lift_freeze"],
  documents: ["read_any"],
  settings: ["manage_system"],
  fx: ["manage"],
  // manage: a token's metadata; create and operate: tokenize and service tokens (each token also
  // needs a grant of its own, domains/operations/grants.ts).
  tokens: ["manage", "create", "operate"],
  users: ["manage"],
} as const;

export const ac = createAccessControl(statements);

export const ROLE_NAMES = ["investor", "issuer", "kyc_reviewer", "admin"] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

type Statements = typeof statements;
export type Permissions = { [S in keyof Statements]?: Statements[S][number][] };

/** The grants, in one table; `roles` below is built from it and `me.get` reports it. */
export const grants: Record<RoleName, Permissions> = {
  investor: { kyc: ["submit"] },
  issuer: { kyc: ["submit"], tokens: ["manage", "create", "operate"] },
  // Staff are people too: they pass KYC like anyone (and never review their own, see kyc/review.ts).
  kyc_reviewer: { kyc: ["submit", "review", "decide"], documents: ["read_any"] },
  admin: {
    kyc: ["submit", "review", "decide", "manage_onchain", "lift_freeze"],
    documents: ["read_any"],
    settings: ["manage_system"],
    fx: ["manage"],
    tokens: ["manage", "create", "operate"],
    users: ["manage"],
    // Deliberately no impersonate, delete or set-password: an admin manages roles and access only.
    user: ["list", "get", "set-role", "ban"],
    session: ["list", "revoke"],
  },
};

export const roles = {
  investor: ac.newRole(grants.investor),
  issuer: ac.newRole(grants.issuer),
  kyc_reviewer: ac.newRole(grants.kyc_reviewer),
  admin: ac.newRole(grants.admin),
};

/**
 * What an API key may be granted, subject: actions. A key is an allow-list over every procedure:
 * each non-public procedure names the grant a key must carry (`keyGrant` in its contract), and a
 * call made with a key needs that grant in the key as well as the procedure's permission in the
 * owner's role. Reads and writes are separate grants. `wallets: link` adds a way to sign in as the
 * owner: a key holding it is as good as the account.
 */
export const keyStatements = {
  me: ["read"],
  wallets: ["read", "link", "unlink"],
  portfolio: ["read"],
  settings: ["read", "write", "read_system", "manage_system"],
  fx: ["read", "manage"],
  kyc: ["read", "submit", "review", "decide", "manage_onchain", "lift_freeze"],
  documents: ["read_any"],
  tokens: ["read", "manage", "create", "operate"],
  users: ["read", "manage"],
} as const;

type KeyStatements = typeof keyStatements;
export type KeyGrants = { [S in keyof KeyStatements]?: KeyStatements[S][number][] };

/** True when every action of `required` is in `granted` (a key's stored grants: any shape). */
export function keyGrants(granted: Record<string, unknown> | null | undefined, required: KeyGrants): boolean {
  return Object.entries(required).every(([subject, actions]) => {
    const held = granted?.[subject];
    return (actions ?? []).every((action) => Array.isArray(held) && held.includes(action));
  });
}

/** The grants of `requested` that are not in the vocabulary (empty when all are known). */
export function unknownKeyGrants(requested: Record<string, readonly string[]>): string[] {
  return Object.entries(requested).flatMap(([subject, actions]) => {
    const known: readonly string[] | undefined = (keyStatements as Record<string, readonly string[]>)[subject];
    return actions.filter((action) => !known?.includes(action)).map((action) => `${subject}: ${action}`);
  });
}

/** A demotion takes away something the old role could do (issuer → kyc_reviewer is one). */
export function isDemotion(from: RoleName, to: RoleName): boolean {
  return !roleGrants(to, grants[from]);
}

export function isRoleName(value: unknown): value is RoleName {
  return typeof value === "string" && (ROLE_NAMES as readonly string[]).includes(value);
}

/** True when `role` grants every action asked for in `required`. Unknown roles grant nothing. */
export function roleGrants(role: string | null | undefined, required: Permissions): boolean {
  if (!isRoleName(role)) return false;
  const granted = grants[role];
  return Object.entries(required).every(([subject, actions]) =>
    (actions ?? []).every((action) =>
      ((granted as Record<string, readonly string[] | undefined>)[subject] ?? []).includes(action),
    ),
  );
}
