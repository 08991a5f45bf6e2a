// `bun run dev` only: people to sign in to the console with, made once in the local database.
// Fixed, printed passwords are fine here and nowhere else (this file is not reachable from main.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Deps } from "../deps";
import { createPasswordUser } from "../domains/auth/service";
import { CONSOLE_DIST } from "../http/console";

export const DEMO_USERS = [
  { email: "reviewer@example.com", password: "kit-demo-reviewer", role: "kyc_reviewer", name: "Demo Reviewer" },
  { email: "admin@example.com", password: "kit-demo-admin", role: "admin", name: "Demo Admin" },
] as const;

/** Creates the demo users that are missing (an existing one is left as it is) and returns banner lines. */
export async function ensureDemoUsers(deps: Pick<Deps, "db" | "auth">, publicUrl: string): Promise<string[]> {
  for (const user of DEMO_USERS) await createPasswordUser(deps, { ...user });
  const built = existsSync(join(CONSOLE_DIST, "index.html"));
  return [
    `  Console      ${publicUrl}/console${built ? "" : "  (not built: run `bun run build`)"}`,
    ...DEMO_USERS.map((u) => `    ${u.role === "admin" ? "admin   " : "reviewer"}   ${u.email} / ${u.password}`),
  ];
}
