// Roles and what each may do, as better-auth access-control statements (subject: actions).
import { createAccessControl } from "better-auth/plugins/access";
import type { defaultStatements } from "better-auth/plugins/admin/access";
import {
  adminStatements,
  type KeyGrants,
  keyStatements,
  kitStatements,
  type Permissions,
  ROLE_NAMES,
  type RoleName,
} from "./permission-statements";

// better-auth's admin plugin checks its statements on its own endpoints (/api/auth/admin/*). The copy
// must be the plugin's list exactly: this annotation fails to compile when the two differ.
const statements: typeof defaultStatements & typeof kitStatements = { ...adminStatements, ...kitStatements };

export const ac = createAccessControl(statements);

// The role names live with the statements (the contract lists them); the server's modules take them from here.
export { ROLE_NAMES, type RoleName } from "./permission-statements";

/** The grants, in one table; `roles` below is built from it and `me.get` reports it. */
export const grants: Record<RoleName, Permissions> = {
  investor: { kyc: ["submit"] },
  issuer: { kyc: ["submit"], tokens: ["manage", "create", "operate"] },
  // Staff are people too: they pass KYC like anyone (and never review their own, see kyc/review.ts).
  kyc_reviewer: { kyc: ["submit", "review", "decide", "export"], documents: ["read_any"] },
  admin: {
    kyc: ["submit", "review", "decide", "manage_onchain", "lift_freeze", "export", "erase"],
    documents: ["read_any"],
    settings: ["manage_system"],
    fx: ["manage"],
    tokens: ["manage", "create", "operate"],
    users: ["manage"],
    audit: ["read"],
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
