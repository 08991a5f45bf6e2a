// `bun run dev` only: people to sign in to the console with, made once in the local database, and
// the demo issuers' grants on the demo tokens (Kit's agent deployed them, so nobody is granted on
// them otherwise). Fixed, printed passwords are fine here and nowhere else (this file is not
// reachable from main.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { Deps } from "../deps";
import { user } from "../domains/auth/schema";
import { createPasswordUser } from "../domains/auth/service";
import { addGrant } from "../domains/operations/grants";
import { CONSOLE_DIST } from "../http/console";

export const DEMO_USERS = [
  { email: "reviewer@example.com", password: "kit-demo-reviewer", role: "kyc_reviewer", name: "Demo Reviewer" },
  { email: "admin@example.com", password: "kit-demo-admin", role: "admin", name: "Demo Admin" },
  // Two issuers, so that one can approve what the other requests (four eyes).
  { email: "issuer@example.com", password: "kit-demo-issuer", role: "issuer", name: "Demo Issuer" },
  { email: "issuer2@example.com", password: "kit-demo-issuer2", role: "issuer", name: "Second Issuer" },
] as const;

/**
 * Creates the demo users that are missing (an existing one is left as it is), grants the demo
 * issuers the demo tokens (as the demo admin; a grant that exists stays) and returns banner lines.
 */
export async function ensureDemoUsers(
  deps: Pick<Deps, "db" | "auth" | "config">,
  publicUrl: string,
  demoTokens: readonly string[],
): Promise<string[]> {
  for (const demo of DEMO_USERS) await createPasswordUser(deps, { ...demo });
  const find = async (email: string) =>
    (await deps.db.select({ id: user.id, role: user.role }).from(user).where(eq(user.email, email)))[0];
  const admin = await find("admin@example.com");
  for (const issuer of DEMO_USERS.filter((u) => u.role === "issuer")) {
    const found = await find(issuer.email);
    // A demo user whose role was changed by hand is left as it is.
    if (!admin || found?.role !== "issuer") continue;
    for (const token of demoTokens) await addGrant(deps, { id: admin.id, role: "admin" }, token, found.id);
  }
  const built = existsSync(join(CONSOLE_DIST, "index.html"));
  return [
    `  Console      ${publicUrl}/console${built ? "" : "  (not built: run `bun run build`)"}`,
    ...DEMO_USERS.map((u) => `    ${u.role.padEnd(12)} ${u.email} / ${u.password}`),
    ...(demoTokens.length > 0 ? ["    (the issuers are granted on the demo tokens)"] : []),
  ];
}
