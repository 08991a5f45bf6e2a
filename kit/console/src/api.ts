// The console's one way to talk to Kit: @kit/client (the typed oRPC client, types from the
// contract only, and better-auth's client), same-origin with the session cookie.
import type { Contract } from "@kit/api/contract";
import { createKitClient, ORPCError } from "@kit/client";
import type { InferContractRouterInputs, InferContractRouterOutputs } from "@orpc/contract";

const kit = createKitClient({ baseUrl: window.location.origin, credentials: "same-origin" });
export const rpc = kit.rpc;

type Outputs = InferContractRouterOutputs<Contract>;
type Inputs = InferContractRouterInputs<Contract>;
export type CreateTokenInput = Inputs["tokens"]["create"];
export type Me = Outputs["me"]["get"];
type QueuePage = Outputs["kyc"]["review"]["queue"];
export type QueueItem = QueuePage["items"][number];
export type ReviewDetail = Outputs["kyc"]["review"]["get"];
export type KycDocument = ReviewDetail["documents"][number];
export type OnchainRegistration = ReviewDetail["onchain"][number];
export type Freezes = ReviewDetail["freezes"];
export type RevocationCategory = "sanctions" | "fraud" | "other";
export type KycStatus = QueueItem["status"];
export type RiskLevel = NonNullable<QueueItem["riskLevel"]>;
export type RejectionLabel = NonNullable<ReviewDetail["decision"]["labels"]>[number];
export type StatusEvent = Outputs["kyc"]["review"]["events"] extends AsyncIterable<infer E> ? E : never;
export type UserView = Outputs["users"]["list"]["items"][number];
export type AuditEvent = Outputs["audit"]["list"]["items"][number];
export type RoleName = UserView["role"];
export type SystemSettings = Outputs["settings"]["system"]["get"];
export type NotificationView = Outputs["notifications"]["list"]["items"][number];
export type TokenDetail = Outputs["tokens"]["get"];
export type Holder = Outputs["tokens"]["holders"]["items"][number];
export type OperationView = Outputs["tokens"]["operations"]["list"]["items"][number];
export type OperationPolicy = Outputs["tokens"]["operations"]["policy"]["get"];
export type OperationStatus = OperationView["status"];
export type OperationKind = OperationView["kind"];

export const ROLES: RoleName[] = ["investor", "issuer", "kyc_reviewer", "admin"];
export const FX_PROVIDERS = ["ecb", "er-api", "manual"] as const;

export function can(me: Me, subject: string, action: string): boolean {
  return me.permissions[subject]?.includes(action) ?? false;
}

/**
 * A sentence for a person, from whatever a call threw. `fieldLabel` names a field of the form by
 * the path Kit gives an issue ("recipients.1.amount" → "Amount of recipient 2").
 */
export function describeError(error: unknown, fieldLabel: (path: string) => string = (path) => path): string {
  if (error instanceof ORPCError) {
    const message = typeof error.message === "string" && error.message ? error.message : "";
    switch (error.code) {
      case "FORBIDDEN":
        return `Not allowed: ${message || "you may not do this."}`;
      case "CONFLICT":
        return `Someone else changed this first: ${message || "reload and try again."}`;
      case "UNAUTHORIZED":
        return "Your session has ended; sign in again.";
      case "TOO_MANY_REQUESTS":
        return `Too many requests: ${message || "wait a little and retry."}`;
      case "PRECONDITION_FAILED":
        return `Not possible now: ${message || "the state of things does not allow it."}`;
      case "SERVICE_UNAVAILABLE":
        return `Kit cannot do this right now: ${message || "a service it needs is not answering; retry shortly."}`;
      case "BAD_REQUEST": {
        const issues = (error.data as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? [];
        return issues.length > 0
          ? `Please check: ${issues.map((i) => (i.path ? `${fieldLabel(i.path)}: ${i.message}` : i.message)).join("; ")}.`
          : message || "The request is invalid.";
      }
      default:
        return message || `The server answered ${error.status}.`;
    }
  }
  if (error instanceof TypeError) return "Kit cannot be reached; check your connection and retry.";
  return error instanceof Error && error.message ? error.message : "Something went wrong.";
}

export function errorCode(error: unknown): string | undefined {
  return error instanceof ORPCError ? String(error.code) : undefined;
}

/**
 * Whether a session cookie is there, asked in a way that answers 200 either way: a 401 from
 * `me.get` on every visit of a signed-out reviewer would log a browser console error.
 */
export async function hasSession(): Promise<boolean> {
  const { data } = await kit.auth.getSession();
  return Boolean(data?.session);
}

/** E-mail and password. Resolves when the session cookie is set; throws a readable Error. */
export async function signIn(email: string, password: string): Promise<void> {
  const { error } = await kit.auth.signIn.email({ email, password });
  if (!error) return;
  if (error.status === 401 || error.code === "INVALID_EMAIL_OR_PASSWORD") {
    throw new Error("The e-mail address or the password is wrong.");
  }
  if (error.status === 403 && /origin/i.test(error.message ?? "")) {
    throw new Error(
      `Kit does not accept sign-ins from ${window.location.origin}: open the console at Kit's public address (PUBLIC_URL).`,
    );
  }
  throw new Error(error.message ?? `Signing in failed (${error.status}).`);
}

export async function signOut(): Promise<void> {
  await kit.auth.signOut();
}

/**
 * Asks for a reset link for `email`. Kit answers alike whether an account exists or not; the link
 * leads back to this console's reset page.
 */
export async function requestPasswordReset(email: string): Promise<void> {
  const { error } = await kit.auth.requestPasswordReset({
    email,
    redirectTo: `${window.location.origin}/console/reset-password`,
  });
  if (error) throw new Error(error.message ?? `Asking for a reset link failed (${error.status}).`);
}

/** Sets a new password with the token of a reset link; every session of the account ends. */
export async function resetPassword(token: string, newPassword: string): Promise<void> {
  const { error } = await kit.auth.resetPassword({ token, newPassword });
  if (!error) return;
  if (error.code === "INVALID_TOKEN") {
    throw new Error("This reset link is expired or was used already; ask for a new one.");
  }
  throw new Error(error.message ?? `Setting the password failed (${error.status}).`);
}

/** A message the dev SMTP server received (`bun run dev` only; GET /api/dev/mail). */
export interface DevMail {
  id: string;
  messageId: string | null;
  from: string;
  to: string[];
  subject: string;
  receivedAt: string;
  text?: string;
}

async function devMailCall<T>(path: string): Promise<T> {
  const response = await fetch(`/api/dev/mail${path}`, { credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message ?? `The dev outbox answered ${response.status}.`);
  return body as T;
}

/**
 * Whether Kit keeps a dev outbox (`bun run dev` with its SMTP server): the page that served the
 * console says so in a meta tag, so nothing asks a route that does not exist elsewhere.
 */
export function hasDevOutbox(): boolean {
  return document.querySelector('meta[name="kit-dev-outbox"]') !== null;
}

export const devOutbox = () => devMailCall<{ directory: string; messages: DevMail[] }>("");

export const devOutboxMessage = (id: string) => devMailCall<DevMail>(`/${encodeURIComponent(id)}`);
