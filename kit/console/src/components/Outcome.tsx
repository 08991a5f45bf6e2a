// One action at a time from a form or a button, and what it came to, said beside it: busy while it
// runs, then what it did (a quiet status) or why Kit refused (an alert).
import { useState } from "react";
import { describeError } from "../api";

export interface ActionOutcome {
  error: boolean;
  text: string;
}

/** `afterSuccess` runs once the outcome is shown (a reload, say), still while busy. */
export function useAction(afterSuccess?: () => unknown) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<ActionOutcome>();

  /** Runs `action`, which answers what it did in words; on a refusal, says why and calls `undo`. */
  const run = async (action: () => Promise<string>, undo?: () => void) => {
    setBusy(true);
    try {
      setOutcome({ error: false, text: await action() });
      await afterSuccess?.();
    } catch (error) {
      setOutcome({ error: true, text: describeError(error) });
      undo?.();
    } finally {
      setBusy(false);
    }
  };

  return { busy, outcome, setOutcome, run };
}

/** A paragraph below a form, or `inline` a span beside a button. */
export function Outcome({ outcome, inline = false }: { outcome: ActionOutcome | undefined; inline?: boolean }) {
  if (!outcome) return null;
  const Tag = inline ? "span" : "p";
  return (
    <Tag role={outcome.error ? "alert" : "status"} className={outcome.error ? "error" : "muted"}>
      {outcome.text}
    </Tag>
  );
}
