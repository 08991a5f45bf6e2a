// Exchange rates through @kit/client: an admin sets a manual rate, an investor converts with it.
import { beforeAll, describe, expect, test } from "bun:test";
import { QueryClient } from "@tanstack/query-core";
import { startKit } from "../test/kit";
import { isDefinedError, type KitClient, safe } from "./index";

const kit = await startKit();
let admin: KitClient;
let investor: KitClient;

beforeAll(async () => {
  admin = kit.browserClient();
  const signedIn = await admin.auth.signIn.email(kit.admin);
  if (signedIn.error) throw new Error(`admin sign-in failed: ${signedIn.error.message}`);
  investor = kit.browserClient();
  const credentials = {
    email: `fx-${crypto.randomUUID().slice(0, 8)}@example.com`,
    password: "a long password for the dApp",
  };
  const signedUp = await investor.auth.signUp.email({ ...credentials, name: "Fx Investor" });
  if (signedUp.error) throw new Error(`sign-up failed: ${signedUp.error.message}`);
  const investorSignedIn = await investor.auth.signIn.email(credentials);
  if (investorSignedIn.error) throw new Error(`sign-in failed: ${investorSignedIn.error.message}`);
});

describe("fx through the client", () => {
  test("a manual rate set by an admin converts an investor's amount exactly", async () => {
    const manual = await admin.rpc.fx.setManual({ base: "EUR", quote: "USD", rate: "1.0843" });
    expect(manual).toMatchObject({ base: "EUR", quote: "USD", rate: "1.0843", provider: "manual" });

    const conversion = await investor.rpc.fx.convert({ from: "EUR", to: "USD", amount: "1250.50" });
    expect(conversion).toMatchObject({ from: "EUR", to: "USD", result: "1355.92", provider: "manual", stale: false });

    // The inverse comes from the same quote: 108.43 USD is 100 EUR.
    const back = await investor.rpc.fx.convert({ from: "usd", to: "eur", amount: "108.43" });
    expect(back).toMatchObject({ result: "100.00", derivation: "inverse" });
  });

  test("the same call as TanStack Query options", async () => {
    const queryClient = new QueryClient();
    const conversion = await queryClient.fetchQuery(
      investor.query.fx.convert.queryOptions({ input: { from: "EUR", to: "USD", amount: "10" } }),
    );
    expect(conversion.result).toBe("10.84");
    queryClient.clear();
  });

  test("typed errors: a pair nobody quotes is NOT_FOUND, a bad amount BAD_REQUEST naming it, non-admins FORBIDDEN", async () => {
    const [notQuoted] = await safe(investor.rpc.fx.convert({ from: "JPY", to: "CHF", amount: "1" }));
    if (!isDefinedError(notQuoted)) throw new Error(`expected a typed error, got ${notQuoted}`);
    expect(notQuoted.code).toBe("NOT_FOUND");

    const [badAmount] = await safe(investor.rpc.fx.convert({ from: "EUR", to: "USD", amount: "1e5" }));
    if (!isDefinedError(badAmount) || badAmount.code !== "BAD_REQUEST") throw new Error(`expected BAD_REQUEST`);
    expect(badAmount.data?.issues).toEqual([expect.objectContaining({ path: "amount" })]);

    const [notAdmin] = await safe(investor.rpc.fx.setManual({ base: "EUR", quote: "USD", rate: "2" }));
    expect(isDefinedError(notAdmin) && notAdmin.code).toBe("FORBIDDEN");

    // Signed out, only public procedures answer.
    const anonymous = kit.client();
    expect((await anonymous.rpc.fx.currencies()).items.length).toBeGreaterThan(100);
    const [signedOut] = await safe(anonymous.rpc.fx.convert({ from: "EUR", to: "USD", amount: "1" }));
    expect(isDefinedError(signedOut) && signedOut.code).toBe("UNAUTHORIZED");
  });
});
