// README, "Using Kit from a React dApp": this file is the example, type-checked with the package and
// run in Chromium by src/browser.test.ts (sign-in form, the query, the live refresh).
import { consumeEventIterator, createKitClient, isDefinedError } from "@kit/client";
import { QueryClient, QueryClientProvider, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";

// One client for the app. The session is Kit's cookie, which the browser keeps (credentials: "include").
export const kit = createKitClient({ baseUrl: import.meta.env.VITE_KIT_URL ?? "http://localhost:3000" });
const queryClient = new QueryClient();

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <KycStatus />
    </QueryClientProvider>
  );
}

function KycStatus() {
  const queryClient = useQueryClient();
  const application = useQuery(kit.query.kyc.application.get.queryOptions({ retry: false }));
  const signedIn = application.isSuccess;

  // Live status: every change a reviewer makes refetches the application.
  useEffect(() => {
    if (!signedIn) return;
    const cancel = consumeEventIterator(kit.rpc.kyc.events(), {
      onEvent: () => queryClient.invalidateQueries({ queryKey: kit.query.kyc.application.get.queryKey() }),
      onError: (error) => console.warn("kyc.events ended", error),
    });
    return () => void cancel();
  }, [signedIn, queryClient]);

  if (application.isPending) return <p>Loading…</p>;
  if (isDefinedError(application.error) && application.error.code === "UNAUTHORIZED") return <SignIn />;
  if (application.error) return <p role="alert">{application.error.message}</p>;
  return <p>KYC status: {application.data?.status ?? "not started"}</p>;
}

function SignIn() {
  const queryClient = useQueryClient();
  const [problem, setProblem] = useState<string>();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const { error } = await kit.auth.signIn.email({
      email: String(form.get("email")),
      password: String(form.get("password")),
    });
    if (error) setProblem(error.message ?? "Sign-in failed");
    else await queryClient.invalidateQueries();
  }

  return (
    <form onSubmit={onSubmit}>
      <label>
        E-mail <input name="email" type="email" autoComplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit">Sign in</button>
      {problem && <p role="alert">{problem}</p>}
    </form>
  );
}
