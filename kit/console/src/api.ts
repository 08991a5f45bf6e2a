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
