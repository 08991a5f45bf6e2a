// better-auth's own Origin check, as production runs it: a request that carries the session cookie
// and changes something must come from a trusted origin. (better-auth skips the check under
// NODE_ENV=test unless told otherwise: auth.ts tells it, so this file meets the production rule.)
import { expect, test } from "bun:test";
import { createTestKit } from "../../../test/kit";
import { createUser, TRUSTED_ORIGIN } from "../../../test/users";

const kit = await createTestKit();

const signOut = (cookie: string, origin: string) =>
  kit.request("/api/auth/sign-out", {
    method: "POST",
    headers: { "content-type": "application/json", cookie, origin },
    body: "{}",
  });
const me = (cookie: string) => kit.request("/api/me", { headers: { cookie } });

test("a cookie request from another site is refused by /api/auth and changes nothing; from a trusted origin it works", async () => {
  const user = await createUser(kit, "investor");

  const forged = await signOut(user.cookie, "https://evil.example");
  expect(forged.status).toBe(403);
  expect((await me(user.cookie)).status).toBe(200);

  const own = await signOut(user.cookie, TRUSTED_ORIGIN);
  expect(own.status).toBe(200);
  expect((await me(user.cookie)).status).toBe(401);
});
