// `bun run dev`'s demo users: the two demo issuers end up granted on the demo tokens (by the demo
// admin), so that the console's issuer pages work on a fresh dev stack; a second start changes nothing.
import { expect, test } from "bun:test";
import { callApi } from "../../test/api";
import { createTestKit } from "../../test/kit";
import { signIn } from "../../test/users";
import { ensureDemoUsers } from "./demo-users";

const kit = await createTestKit();
const tokens = ["0x00000000000000000000000000000000000000b1", "0x00000000000000000000000000000000000000e2"];

test("the demo issuers are granted on the demo tokens, once; the reviewer is not", async () => {
  const banner = await ensureDemoUsers(kit.deps, "http://localhost:3000", tokens);
  expect(banner.join("\n")).toContain("issuer@example.com / kit-demo-issuer");
  await ensureDemoUsers(kit.deps, "http://localhost:3000", tokens);

  const grantsOf = async (email: string, password: string) => {
    const session = await signIn(kit, email, password);
    return callApi(kit.app, session, "GET", "/me/token-grants");
  };
  const admin = await signIn(kit, "admin@example.com", "kit-demo-admin");
  const adminId = (await callApi(kit.app, admin, "GET", "/me")).body.user.id;
  for (const [email, password] of [
    ["issuer@example.com", "kit-demo-issuer"],
    ["issuer2@example.com", "kit-demo-issuer2"],
  ] as const) {
    const { body } = await grantsOf(email, password);
    expect(body.items.map((g: { token: string }) => g.token.toLowerCase())).toEqual(tokens);
    expect(body.items.every((g: { grantedBy: string }) => g.grantedBy === adminId)).toBe(true);
  }
  expect((await grantsOf("reviewer@example.com", "kit-demo-reviewer")).status).toBe(403);
});
