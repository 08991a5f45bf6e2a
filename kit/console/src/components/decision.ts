// A decision form: several submit buttons (approve, refuse, …) and a reason. Which button sent the
// form says which decision; the reason is required and recorded.
import type { FormEvent } from "react";

export function readDecision(event: FormEvent<HTMLFormElement>): { decision: string | null; reason: string } {
  event.preventDefault();
  return {
    decision: (event.nativeEvent as SubmitEvent).submitter?.getAttribute("value") ?? null,
    reason: String(new FormData(event.currentTarget).get("reason") ?? "").trim(),
  };
}
