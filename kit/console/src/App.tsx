// The shell: who is signed in decides what is shown (sign-in, "not allowed", or the console).
import { type FormEvent, type ReactNode, useCallback, useEffect, useRef, useState } from "react";
import { can, describeError, errorCode, hasDevOutbox, hasSession, type Me, rpc, signIn, signOut } from "./api";
import { Alert } from "./components/Alert";
import { LiveStatus } from "./components/LiveStatus";
import { usePageTitle } from "./components/Page";
import { roleLabel } from "./format";
import { LiveProvider, useLive } from "./live";
import { ApplicationPage } from "./pages/Application";
import { ApprovalsPage } from "./pages/Approvals";
import { AuditPage } from "./pages/Audit";
import { CreateTokenPage } from "./pages/CreateToken";
import { ErasuresPage } from "./pages/Erasures";
import { type Inbox, NotificationsPage, useInbox } from "./pages/Notifications";
import { OutboxPage } from "./pages/Outbox";
import { QueuePage } from "./pages/Queue";
import { RatesPage } from "./pages/Rates";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/ResetPassword";
import { SettingsPage } from "./pages/Settings";
import { SystemPage } from "./pages/System";
import { TokenPage } from "./pages/Token";
import { TokensPage } from "./pages/Tokens";
import { UsersPage } from "./pages/Users";
import { Link, navigate, useLocation } from "./router";

type Session =
  | { state: "loading" }
  | { state: "signed-out" }
  | { state: "signed-in"; me: Me }
  | { state: "error"; message: string };

export function App() {
  const { path } = useLocation();
  // The way back in works signed in or out: a reset link may be opened in any browser.
  if (path === "/forgot-password") return <ForgotPasswordPage />;
  if (path === "/reset-password") return <ResetPasswordPage />;
  return <SignedInApp />;
}

function SignedInApp() {
  const [session, setSession] = useState<Session>({ state: "loading" });

  const refresh = useCallback(async () => {
    try {
      if (!(await hasSession())) return setSession({ state: "signed-out" });
      setSession({ state: "signed-in", me: await rpc.me.get() });
    } catch (error) {
      if (errorCode(error) === "UNAUTHORIZED") setSession({ state: "signed-out" });
      else setSession({ state: "error", message: describeError(error) });
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const leave = async () => {
    await signOut().catch(() => {});
    setSession({ state: "signed-out" });
    navigate("/", { replace: true });
  };

  if (session.state === "loading") return <p className="centered">Loading…</p>;
  if (session.state === "error") {
    return (
      <main className="centered">
        <p role="alert">{session.message}</p>
        <button type="button" onClick={() => void refresh()}>
          Retry
        </button>
      </main>
    );
  }
  if (session.state === "signed-out") return <SignIn onSignedIn={refresh} />;
  const { me } = session;
  if (!can(me, "kyc", "review") && !can(me, "tokens", "operate")) return <NotAllowed me={me} onSignOut={leave} />;
  return (
    <LiveProvider enabled={can(me, "kyc", "review")}>
      <Console me={me} onSignOut={leave} />
    </LiveProvider>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const email = useRef<HTMLInputElement>(null);

  usePageTitle("Sign in");
  useEffect(() => {
    email.current?.focus();
  }, []);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    try {
      await signIn(String(form.get("email")), String(form.get("password")));
      await onSignedIn();
    } catch (caught) {
      setError(describeError(caught));
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Kit console</h1>
      <p className="muted">For KYC reviewers, issuers and administrators.</p>
      <form onSubmit={submit} aria-describedby={error ? "sign-in-error" : undefined}>
        <label>
          E-mail
          <input ref={email} name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <Alert id="sign-in-error">{error}</Alert>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </main>
  );
}

function NotAllowed({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  usePageTitle("Not allowed");
  return (
    <main className="centered not-allowed">
      <h1>Not allowed</h1>
      <p>
        You are signed in as <strong>{me.user.email}</strong> ({roleLabel(me.user.role)}). The console is for KYC
        reviewers, issuers and administrators; ask an administrator for the role you need.
      </p>
      <button type="button" onClick={onSignOut}>
        Sign out
      </button>
    </main>
  );
}

function Console({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const location = useLocation();
  const live = useLive();
  const inbox = useInbox();
  const mainRef = useRef<HTMLElement>(null);
  const segments = location.path.split("/").filter(Boolean);

  // Moving focus to the new page tells keyboard and screen-reader users that it changed.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every page change
  useEffect(() => {
    mainRef.current?.focus();
  }, [location.path]);

  const outbox = mayReadDevOutbox(me);
  const page = pageFor(me, segments, inbox, outbox);

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Kit console</span>
        <Sections me={me} segments={segments} path={location.path} unread={inbox.unread} outbox={outbox} />
        {live.state && <LiveStatus state={live.state} title="Queue changes appear without reloading" />}
        <span className="who">
          {me.user.email} · {roleLabel(me.user.role)}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

/** Whether Kit keeps a dev outbox (`bun run dev`'s SMTP server) and this user, an admin, may read it. */
function mayReadDevOutbox(me: Me): boolean {
  return me.user.role === "admin" && hasDevOutbox();
}

/** The page at a path, for what the signed-in user may see. */
function pageFor(me: Me, segments: string[], inbox: Inbox, outbox: boolean): ReactNode {
  const reviews = can(me, "kyc", "review");
  const issues = can(me, "tokens", "operate");
  const [section, id] = segments;
  // Home is the KYC queue for those who review, else the issuer's tokens.
  if (segments.length === 0)
    return reviews ? <QueuePage me={me} /> : <TokensPage mayCreate={can(me, "tokens", "create")} />;
  if (section === "applications" && id && reviews) return <ApplicationPage me={me} id={id} />;
  // "/tokens/new" before the token page's route: "new" is not an address.
  if (section === "tokens" && id === "new" && can(me, "tokens", "create")) return <CreateTokenPage />;
  if (section === "tokens" && id && issues) return <TokenPage me={me} address={id} />;
  if (section === "tokens" && issues) return <TokensPage mayCreate={can(me, "tokens", "create")} />;
  if (section === "approvals" && issues) return <ApprovalsPage me={me} />;
  if (section === "users" && can(me, "users", "manage")) return <UsersPage me={me} />;
  if (section === "settings" && can(me, "settings", "manage_system")) return <SettingsPage />;
  if (section === "audit" && can(me, "audit", "read")) return <AuditPage />;
  if (section === "erasures" && can(me, "kyc", "erase")) return <ErasuresPage me={me} />;
  if (section === "rates") return <RatesPage me={me} />;
  if (section === "notifications") return <NotificationsPage inbox={inbox} />;
  if (section === "system") return <SystemPage me={me} />;
  if (section === "outbox" && outbox) return <OutboxPage />;
  return <NotFound home={reviews ? "the KYC queue" : "your tokens"} />;
}

/** The sections the user may open, the current one marked. */
function Sections({
  me,
  segments,
  path,
  unread,
  outbox,
}: {
  me: Me;
  segments: string[];
  path: string;
  unread: number | undefined;
  outbox: boolean;
}) {
  const reviews = can(me, "kyc", "review");
  const issues = can(me, "tokens", "operate");
  const current = (prefix: string) =>
    (prefix === "/" ? segments.length === 0 || segments[0] === "applications" : path.startsWith(prefix))
      ? "page"
      : undefined;
  const onTokens = segments[0] === "tokens" || (!reviews && segments.length === 0);
  return (
    <nav aria-label="Sections">
      {reviews && (
        <Link to="/" aria-current={current("/")}>
          KYC queue
        </Link>
      )}
      {issues && (
        <>
          <Link to="/tokens" aria-current={onTokens ? "page" : undefined}>
            My tokens
          </Link>
          <Link to="/approvals" aria-current={current("/approvals")}>
            Approvals
          </Link>
        </>
      )}
      {can(me, "users", "manage") && (
        <Link to="/users" aria-current={current("/users")}>
          Users
        </Link>
      )}
      {can(me, "settings", "manage_system") && (
        <Link to="/settings" aria-current={current("/settings")}>
          Settings
        </Link>
      )}
      {can(me, "audit", "read") && (
        <Link to="/audit" aria-current={current("/audit")}>
          Audit
        </Link>
      )}
      {can(me, "kyc", "erase") && (
        <Link to="/erasures" aria-current={current("/erasures")}>
          Erasures
        </Link>
      )}
      <Link to="/rates" aria-current={current("/rates")}>
        Exchange rates
      </Link>
      <Link to="/system" aria-current={current("/system")}>
        Chain &amp; system
      </Link>
      <Link to="/notifications" aria-current={current("/notifications")}>
        Notifications
        {unread ? (
          <span className="count" title={`${unread} unread`}>
            {" "}
            {unread}
            <span className="visually-hidden"> unread</span>
          </span>
        ) : null}
      </Link>
      {outbox && (
        <Link to="/outbox" aria-current={current("/outbox")}>
          Outbox (dev)
        </Link>
      )}
    </nav>
  );
}

function NotFound({ home }: { home: string }) {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to {home}</Link>
      </p>
    </section>
  );
}
