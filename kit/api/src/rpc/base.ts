// The one error map every procedure shares, so the typed client knows every code it can see.
import { oc } from "@orpc/contract";
import { z } from "zod";

export const validationIssue = z.object({
  path: z.string().meta({ description: "Dotted path of the offending field; empty for the whole input" }),
  message: z.string(),
});

export const base = oc.errors({
  BAD_REQUEST: {
    status: 400,
    message: "The request is invalid.",
    data: z.object({ issues: z.array(validationIssue) }).optional(),
  },
  UNAUTHORIZED: { status: 401, message: "Sign in to continue." },
  FORBIDDEN: { status: 403, message: "You are not allowed to do this." },
  NOT_FOUND: { status: 404, message: "Not found." },
  CONFLICT: { status: 409, message: "The resource changed or already exists; reload and try again." },
  PRECONDITION_FAILED: { status: 412, message: "A precondition for this action is not met." },
  TOO_MANY_REQUESTS: {
    status: 429,
    message: "Too many requests; retry later.",
    data: z.object({ retryAfterSeconds: z.number().int().nonnegative() }).optional(),
  },
});
