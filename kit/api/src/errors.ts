// Failures a caller can cause, raised by services (which know nothing of HTTP or oRPC) and turned
// into the typed error of the same code by the rpc layer (rpc/handlers.ts).
export type KitErrorCode =
  | "BAD_REQUEST"
  | "NOT_FOUND"
  | "CONFLICT"
  | "FORBIDDEN"
  | "PRECONDITION_FAILED"
  | "SERVICE_UNAVAILABLE"
  | "TOO_MANY_REQUESTS";

/** For BAD_REQUEST: the offending fields, shaped like zod's issues (`data.issues` on the wire). */
export interface KitErrorIssue {
  path: string;
  message: string;
}

export class KitError extends Error {
  constructor(
    readonly code: KitErrorCode,
    message: string,
    readonly issues?: KitErrorIssue[],
  ) {
    super(message);
    this.name = "KitError";
  }
}
