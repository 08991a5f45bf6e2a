// Roles and what each may do, as better-auth access-control statements (subject: actions).
import { createAccessControl } from "better-auth/plugins/access";
import { defaultStatements } from "better-auth/plugins/admin/access";

export const statements = {
  // better-auth's admin plugin checks these on its own endpoints (/api/auth/admin/*).
  ...defaultStatements,
  // manage_onchain: re-queue Kit's on-chain eligibility work (signed with Kit's keys, paid in gas).
  kyc: ["submit", "review", "decide", "manage_onchain"],
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
    kyc: ["submit", "review", "decide", "manage_onchain"],
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
