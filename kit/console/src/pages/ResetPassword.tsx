// The way back in for staff who forgot their password: ask for a link (the answer never tells
// whether the address has an account), then set a new password from the link's page. Every
// session of the account ends with the reset.
import { type FormEvent, useState } from "react";
import { requestPasswordReset, resetPassword } from "../api";
import { Alert } from "../components/Alert";
import { usePageTitle } from "../components/Page";
import { Link, useLocation } from "../router";

export function ForgotPasswordPage() {
  const [state, setState] = useState<"idle" | "busy" | "sent">("idle");
  const [error, setError] = useState<string>();
  usePageTitle("Forgot password");

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setState("busy");
    setError(undefined);
    try {
      await requestPasswordReset(String(new FormData(event.currentTarget).get("email")));
      setState("sent");
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setState("idle");
    }
  };

  return (
    <main className="sign-in">
      <h1>Forgot your password?</h1>
      {state === "sent" ? (
        <p role="status">
          If an account uses this address, a link to choose a new password is on its way. It works once, for 30 minutes.
        </p>
      ) : (
        <form onSubmit={submit}>
          <label>
            E-mail
            <input name="email" type="email" autoComplete="username" required />
          </label>
          <Alert>{error}</Alert>
          <button type="submit" className="primary" disabled={state === "busy"}>
            {state === "busy" ? "Sending…" : "Send me a reset link"}
          </button>
        </form>
      )}
      <p>
        <Link to="/">Back to sign-in</Link>
      </p>
    </main>
  );
}

export function ResetPasswordPage() {
  const { search } = useLocation();
  const token = search.get("token");
  const failed = search.get("error");
  const [state, setState] = useState<"idle" | "busy" | "done">("idle");
  const [error, setError] = useState<string>();
  usePageTitle("Choose a new password");

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get("password"));
    if (password !== String(form.get("repeat"))) return setError("The two passwords differ.");
    setState("busy");
    setError(undefined);
    try {
      await resetPassword(token ?? "", password);
      setState("done");
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setState("idle");
    }
  };

  if (!token || failed) {
    return (
      <main className="sign-in">
        <h1>Choose a new password</h1>
        <p role="alert">This reset link is expired or was used already.</p>
        <p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      </main>
    );
  }
  return (
    <main className="sign-in">
      <h1>Choose a new password</h1>
      {state === "done" ? (
        <p role="status">
          Your password is changed and every session of your account has ended. <Link to="/">Sign in</Link>
        </p>
      ) : (
        <form onSubmit={submit}>
          <label>
            New password (12 characters or more)
            <input name="password" type="password" autoComplete="new-password" minLength={12} required />
          </label>
          <label>
            The same again
            <input name="repeat" type="password" autoComplete="new-password" minLength={12} required />
          </label>
          <Alert>{error}</Alert>
          <button type="submit" className="primary" disabled={state === "busy"}>
            {state === "busy" ? "Saving…" : "Set the new password"}
          </button>
        </form>
      )}
    </main>
  );
}
