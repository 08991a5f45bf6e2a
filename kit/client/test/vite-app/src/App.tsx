// A dApp page on the packed @kit/client: it signs in with the session cookie, then reads two
// procedures through the TanStack Query utils. What it shows is reported to the test's server.
import { createKitClient, isDefinedError, type KitOutputs } from "@kit/client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";

const params = new URLSearchParams(location.search);
const kit = createKitClient({ baseUrl: params.get("api") ?? "http://localhost:3000" });

export function report(step: string, detail: Record<string, unknown> = {}): void {
  void fetch("/report", { method: "POST", body: JSON.stringify({ step, ...detail }) });
}

export function App() {
  const [signedIn, setSignedIn] = useState(false);
  useEffect(() => {
    kit.auth.signIn
      .email({ email: params.get("email") ?? "", password: params.get("password") ?? "" })
      .then(({ error }) => (error ? report("error", { message: `sign-in: ${error.message}` }) : setSignedIn(true)));
  }, []);
  return signedIn ? <Dashboard /> : <p>Signing in…</p>;
}

function Dashboard() {
  const me = useQuery(kit.query.me.get.queryOptions());
  const currencies = useQuery(kit.query.fx.currencies.queryOptions({ select: (data) => data.items.length }));
  const email: string | undefined = me.data?.user.email;
  const count: number | undefined = currencies.data;

  useEffect(() => {
    if (me.error) report("error", { message: `me.get: ${isDefinedError(me.error) ? me.error.code : me.error}` });
    if (email !== undefined && count !== undefined) report("shown", { email, currencies: count });
  }, [me.error, email, count]);

  return (
    <p>
      {email ?? "…"} — {count ?? "…"} currencies
    </p>
  );
}

// Never called: the types are real, not `any`.
export function typesAreReal(conversion: KitOutputs["fx"]["convert"]) {
  // @ts-expect-error amounts are decimal strings, never numbers
  kit.query.fx.convert.queryOptions({ input: { from: "EUR", to: "JPY", amount: 12.5 } });
  // @ts-expect-error there is no such procedure
  kit.query.fx.nothing.queryOptions();
  const result: string = conversion.result;
  // @ts-expect-error the result is a string
  const wrong: number = conversion.result;
  return [result, wrong];
}
